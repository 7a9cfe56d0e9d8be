"""RAVDESS preparation on a generated RAVDESS-format tree with the problems real downloads have (a damaged mp4, an mp4
without audio, missing and broken landmark CSVs, stray files, a misplaced clip, a second copy), its command line, and
the actor-independent folds."""

import json
import os
import shutil

import numpy as np
import pytest
from datasets import Dataset, load_from_disk

from modeling_tacfn.configuration_tacfn import RAVDESS_EMOTIONS as MODEL_EMOTIONS
from tests import media
from training.data.demo import FPS, write_demo_ravdess
from processing.media_writing import write_clip
from training.data.ravdess import (
    FEATURES,
    RAVDESS_EMOTIONS,
    main,
    parse_ravdess_name,
    prepare_ravdess,
    ravdess_fold_split,
)


os.environ["HF_HUB_OFFLINE"] = "1"

TRUNCATED = "Actor_01/01-01-03-01-01-01-01.mp4"
SILENT = "Actor_02/01-01-05-01-01-01-02.mp4"
NO_CSV = "Actor_01/01-01-07-01-01-01-01.mp4"
BAD_CSV = "Actor_02/01-01-08-01-01-01-02.mp4"
SONG = "Actor_01/01-02-03-02-01-01-01.mp4"
VIDEO_ONLY = "Actor_02/02-01-04-01-01-01-02.mp4"
MISPLACED = "Actor_02/01-01-02-01-02-01-01.mp4"
SECOND_COPY = "extra/Actor_01/01-01-01-01-01-01-01.mp4"
NOT_RAVDESS = ("Actor_01/notes.mp4", "Actor_01/._01-01-01-01-01-01-01.mp4", "Actor_02/01-01-09-01-01-01-02.mp4")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """Two actors x eight emotions (16 clips), 14 of them good, plus extra files of every kind."""
    root = tmp_path_factory.mktemp("ravdess")
    clips = write_demo_ravdess(root, actors=2, clips_per_emotion=1, seed=3)
    silent_frames = np.full((20, 64, 64, 3), 90, dtype=np.uint8)

    truncated = root / TRUNCATED
    media.truncate_file(truncated, 0.5, truncated.with_suffix(".part"))
    truncated.with_suffix(".part").replace(truncated)
    write_clip(root / SILENT, silent_frames, FPS)
    (root / NO_CSV).with_suffix(".csv").unlink()
    (root / BAD_CSV).with_suffix(".csv").write_text("frame, timestamp, success\n1, 0.0, 1\n")
    shutil.copy(root / "Actor_01/01-01-03-01-01-01-01.csv", (root / SONG).with_suffix(".csv"))
    shutil.copy(clips[1], root / SONG)
    write_clip(root / VIDEO_ONLY, silent_frames, FPS)
    shutil.copy(clips[1], root / MISPLACED)
    (root / SECOND_COPY).parent.mkdir(parents=True)
    shutil.copy(clips[0], root / SECOND_COPY)
    for name in NOT_RAVDESS:
        shutil.copy(clips[0], root / name)
    good = {str(path.resolve()) for path in clips} - {str((root / name).resolve()) for name in (TRUNCATED, SILENT)}
    return root, good


def test_keeps_every_good_clip_and_skips_the_bad_ones_with_reasons(tree):
    root, good = tree
    dataset, report = prepare_ravdess(root, progress=False)

    assert set(dataset["path"]) == good and len(dataset) == 14
    reasons = {os.path.relpath(item["path"], root): item["reason"] for item in report.skipped}
    assert set(reasons) == {TRUNCATED, SILENT, MISPLACED, SECOND_COPY, *NOT_RAVDESS}
    assert "not a readable media file" in reasons[TRUNCATED]
    assert "no audio stream" in reasons[SILENT]
    assert "actor 1" in reasons[MISPLACED] and "Actor_02" in reasons[MISPLACED]
    assert "second copy" in reasons[SECOND_COPY]
    assert "not a RAVDESS file name" in reasons["Actor_01/notes.mp4"]
    assert "emotion code 09" in reasons["Actor_02/01-01-09-01-01-01-02.mp4"]
    # the song and the video-only clip are another subset, not errors
    assert report.excluded == {"audio-video song": 1, "video-only speech": 1}


def test_rows_carry_the_labels_of_the_file_names(tree):
    root, _ = tree
    dataset, report = prepare_ravdess(root, progress=False)

    for row in dataset:
        name = parse_ravdess_name(os.path.basename(row["path"])[:-4])
        assert (row["emotion"], row["actor"], row["intensity"], row["statement"], row["repetition"]) == (
            name.emotion, name.actor, name.intensity, name.statement, name.repetition,
        )  # fmt: skip
        assert dataset.features["gender"].int2str(row["gender"]) == ("male" if row["actor"] % 2 else "female")
        assert (row["modality"], row["vocal_channel"]) == (0, 0)
    assert dataset.features["emotion"].names == list(RAVDESS_EMOTIONS) == list(MODEL_EMOTIONS)
    per_emotion = report.counts["emotion"]
    # the damaged happy clip of actor 1 and the silent angry clip of actor 2 are missing
    assert per_emotion["happy"] == per_emotion["angry"] == 1 and per_emotion["sad"] == 2
    assert report.counts["actor"] == {"1": 7, "2": 7}


def test_clips_without_usable_landmarks_are_kept_with_a_warning(tree):
    root, _ = tree
    dataset, report = prepare_ravdess(root, progress=False)

    landmarks = dict(zip(dataset["path"], dataset["landmarks"]))
    assert landmarks[str((root / NO_CSV).resolve())] is None
    assert landmarks[str((root / BAD_CSV).resolve())] is None
    assert sum(value is not None for value in landmarks.values()) == 12
    assert all(value is None or value.endswith(".csv") and os.path.isfile(value) for value in landmarks.values())
    warnings = {os.path.relpath(item["path"], root): item["message"] for item in report.warnings}
    assert set(warnings) == {NO_CSV, BAD_CSV}
    assert "no landmark CSV" in warnings[NO_CSV]
    assert "lacks the OpenFace 2-D landmark columns [x_0, x_1, x_2, x_3, ... 132 more]" in warnings[BAD_CSV]


def test_song_and_video_only_clips_by_option(tree):
    root, good = tree
    songs_too, _ = prepare_ravdess(root, vocal_channels=("speech", "song"), progress=False)
    assert set(songs_too["path"]) == good | {str((root / SONG).resolve())}
    assert songs_too.features["vocal_channel"].int2str(songs_too["vocal_channel"]).count("song") == 1

    # a video-only clip needs no audio stream
    video_only, report = prepare_ravdess(root, modalities=("video-only",), progress=False)
    assert video_only["path"] == [str((root / VIDEO_ONLY).resolve())]
    assert report.warnings[0]["message"].startswith("no landmark CSV")

    with pytest.raises(ValueError, match="unknown modality"):
        prepare_ravdess(root, modalities=("audio-visual",), progress=False)


def test_landmarks_folder_is_searched_recursively(tree, tmp_path):
    root, _ = tree
    copy = tmp_path / "copy"
    shutil.copytree(root / "Actor_01", copy / "Actor_01")
    tracking = tmp_path / "FacialTracking" / "Actor_01"
    tracking.mkdir(parents=True)
    for csv in sorted((copy / "Actor_01").glob("*.csv")):
        csv.replace(tracking / csv.name)

    dataset, report = prepare_ravdess(copy, landmarks_dir=tmp_path / "FacialTracking", progress=False)
    assert all(path.startswith(str(tracking.resolve())) for path in dataset["landmarks"] if path is not None)
    assert sum(path is not None for path in dataset["landmarks"]) == 6
    # the csv of NO_CSV is missing in the landmarks folder too
    assert [os.path.basename(item["path"]) for item in report.warnings] == [os.path.basename(NO_CSV)]

    with pytest.raises(ValueError, match="not a folder"):
        prepare_ravdess(copy, landmarks_dir=tmp_path / "missing", progress=False)


def test_the_processor_takes_the_prepared_rows(tree):
    from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor

    root, _ = tree
    dataset, _ = prepare_ravdess(root, progress=False)
    rows = dataset.select(range(3))
    processor = TACFNProcessor(
        feature_extractor=TACFNFeatureExtractor(),
        video_processor=TACFNVideoProcessor(num_frames=4, size={"height": 32, "width": 32}),
    )
    inputs = processor(videos=list(rows["path"]), landmarks=list(rows["landmarks"]), return_tensors="pt")
    assert tuple(inputs["pixel_values_videos"].shape) == (3, 4, 3, 32, 32)
    assert tuple(inputs["input_features"].shape) == (3, 13, 212)


def test_command_line_saves_the_data_set_and_the_report(tree, tmp_path, capsys):
    root, good = tree
    output = tmp_path / "prepared"
    main([str(root), "--output", str(output), "--no-progress"])

    printed = capsys.readouterr().out
    assert "kept 14 examples" in printed and "per emotion: neutral: 2, calm: 2, happy: 1" in printed
    assert f"{TRUNCATED.split('/')[1]}: " in printed and "skipped (7):" in printed
    saved = load_from_disk(str(output))
    assert set(saved["path"]) == good and saved.features == FEATURES
    report = json.loads((output / "preparation_report.json").read_text())
    assert report["num_kept"] == 14 and report["num_skipped"] == 7 and report["num_warnings"] == 2
    assert report["counts"]["actor"] == {"1": 7, "2": 7}


def test_empty_or_missing_roots_raise(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        prepare_ravdess(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="no RAVDESS clips"):
        prepare_ravdess(tmp_path)
    (tmp_path / "Actor_01").mkdir()
    (tmp_path / "Actor_01" / "01-01-01-01-01-01-01.mp4").write_bytes(b"not a video")
    with pytest.raises(ValueError, match="no usable RAVDESS clips"):
        prepare_ravdess(tmp_path, progress=False)


@pytest.mark.parametrize(
    "stem, message",
    [
        ("01-01-01-01-01-01", "not a RAVDESS file name"),
        ("01-01-01-01-01-01-25", "actor code 25"),
        ("04-01-01-01-01-01-01", "modality code 04"),
        ("01-01-01-01-03-01-01", "statement code 03"),
    ],
)
def test_parse_rejects_bad_names(stem, message):
    with pytest.raises(ValueError, match=message):
        parse_ravdess_name(stem)


def test_parse_reads_every_field():
    name = parse_ravdess_name("01-02-06-02-01-02-12")
    assert (name.modality, name.vocal_channel, name.emotion, name.intensity, name.statement) == (0, 1, 5, 1, 0)
    assert (name.repetition, name.actor, name.gender) == (2, 12, 1)
    assert name.stem == "01-02-06-02-01-02-12"


@pytest.fixture(scope="module")
def all_actors() -> Dataset:
    """A data set of every actor (three rows each), for the fold splits; the folds only read the actor column."""
    rows = [
        {"path": f"/clips/{actor}-{take}.mp4", "landmarks": None, "emotion": take, "actor": actor, "gender": actor % 2,
         "intensity": 0, "statement": 0, "repetition": 1, "vocal_channel": 0, "modality": 0}
        for actor in range(1, 25) for take in range(3)
    ]  # fmt: skip
    return Dataset.from_list(rows, features=FEATURES)


@pytest.mark.parametrize("protocol", ["published", "clean"])
def test_folds_are_actor_independent(all_actors, protocol):
    tested = []
    for fold in range(6):
        splits = ravdess_fold_split(all_actors, protocol, fold)
        actors = {name: set(split["actor"]) for name, split in splits.items()}
        assert actors["test"] == set(range(4 * fold + 1, 4 * fold + 5))
        assert not actors["train"] & actors["test"] and not actors["train"] & actors["validation"]
        assert actors["train"] | actors["validation"] | actors["test"] == set(range(1, 25))
        if protocol == "published":
            assert actors["validation"] == actors["test"] and len(actors["train"]) == 20
        else:
            next_fold = (fold + 1) % 6
            assert actors["validation"] == set(range(4 * next_fold + 1, 4 * next_fold + 5))
            assert not actors["validation"] & actors["test"] and len(actors["train"]) == 16
        assert sum(len(split) for split in splits.values()) == len(all_actors) + (
            len(splits["test"]) if protocol == "published" else 0
        )
        tested += sorted(actors["test"])
    assert tested == list(range(1, 25))


def test_fold_errors(all_actors):
    with pytest.raises(ValueError, match="unknown RAVDESS protocol"):
        ravdess_fold_split(all_actors, "leaky", 0)
    with pytest.raises(ValueError, match="fold 6 does not exist"):
        ravdess_fold_split(all_actors, "published", 6)
    few_actors = all_actors.filter(lambda row: row["actor"] <= 8)
    with pytest.raises(ValueError, match=r"clean fold 3: the validation split is empty.*\[1, 2, 3, 4, 5, 6, 7, 8\]"):
        ravdess_fold_split(few_actors, "clean", 3)
