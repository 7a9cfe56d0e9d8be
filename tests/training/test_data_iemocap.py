"""IEMOCAP preparation on a generated `IEMOCAP_full_release` tree (EmoEvaluation files with annotator lines, labels
outside the 4 classes and an unknown one, a malformed line, missing and damaged wavs, a missing dialog video, an
utterance past the end of its video), the speaker's half of the dialog video and the utterance audio through the
processor, the command line and the leave-one-session-out folds."""

import json
import os

import numpy as np
import pytest
from datasets import load_from_disk

from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor
from processing.media_io_tacfn import read_audio_head
from tests import media
from training.data.iemocap import (
    IEMOCAP_EMOTIONS,
    iemocap_fold_split,
    main,
    parse_emo_evaluation,
    prepare_iemocap,
    processor_inputs,
    speaker_side,
)
from hub_configs.presets import MODEL_PRESETS


os.environ["HF_HUB_OFFLINE"] = "1"

FPS = 10
VIDEO_SECONDS = 6.0
SAMPLE_RATE = 16000
LEFT_COLOUR, RIGHT_COLOUR = (200, 30, 30), (30, 30, 200)
# the utterances every session's improvised dialog holds: (speaker and number, label, start, end)
IMPRO_TURNS = (
    ("F000", "neu", 0.5, 1.5),
    ("M000", "ang", 1.6, 2.6),
    ("F001", "exc", 2.7, 3.5),
    ("M001", "sad", 3.6, 4.4),
    ("F002", "fru", 4.5, 5.0),
    ("M002", "hap", 5.0, 5.5),
)
# Session 1's scripted dialog, where the male actor wears the markers
SCRIPT_TURNS = (
    ("F000", "xxx", 0.2, 0.9),
    ("M000", "oth", 0.9, 1.0),
    ("F001", "zzz", 1.0, 1.5),
    ("F003", "hap", 1.0, 2.0),
    ("M003", "neu", 2.0, 3.0),
    ("M001", "neu", 3.0, 3.5),  # its wav is missing
    ("F002", "sad", 3.5, 4.0),  # its wav is damaged
    ("M002", "ang", 5.8, 7.5),  # ends 1.5 s after the video
)
ANNOTATOR_LINES = ("C-E1:\tNeutral;\t()", "C-F1:\tAnger;\t(irritated)", "A-E1:\tval 3; act 2; dom  2;\t()")


def dialog_frames() -> np.ndarray:
    """Frames of a dialog video: left half red, right half blue, and a top band whose grey level is 4 x frame index."""
    frames = np.zeros((int(VIDEO_SECONDS * FPS), 64, 128, 3), dtype=np.uint8)
    frames[:, :, :64] = LEFT_COLOUR
    frames[:, :, 64:] = RIGHT_COLOUR
    for index, frame in enumerate(frames):
        frame[:16] = 4 * index
    return frames


def write_emo_evaluation(path, dialog: str, turns, extra_lines=()) -> None:
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    for speaker, label, start, end in turns:
        lines.append(f"[{start:.4f} - {end:.4f}]\t{dialog}_{speaker}\t{label}\t[2.5000, 3.0000, 3.5000]")
        lines += [*ANNOTATOR_LINES, ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([*lines, *extra_lines]) + "\n")


def utterance_tone(dialog: str, speaker: str, seconds: float) -> np.ndarray:
    """A tone whose pitch is a function of the utterance name, so each wav is told apart by its samples."""
    pitch = 200 + sum(map(ord, dialog + speaker)) % 300
    return 0.4 * np.sin(2 * np.pi * pitch * np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE)


def write_dialog(session_dir, dialog: str, turns, video: bool = True, extra_lines=()) -> None:
    write_emo_evaluation(session_dir / "dialog" / "EmoEvaluation" / f"{dialog}.txt", dialog, turns, extra_lines)
    wav_dir = session_dir / "sentences" / "wav" / dialog
    wav_dir.mkdir(parents=True, exist_ok=True)
    for speaker, _, start, end in turns:
        media.write_wav(wav_dir / f"{dialog}_{speaker}.wav", utterance_tone(dialog, speaker, end - start), SAMPLE_RATE)
    if video:
        avi = session_dir / "dialog" / "avi" / "DivX" / f"{dialog}.avi"
        avi.parent.mkdir(parents=True, exist_ok=True)
        media.write_video(avi, dialog_frames(), FPS)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("iemocap") / "IEMOCAP_full_release"
    for session in range(1, 6):
        session_dir = root / f"Session{session}"
        impro_turns = IMPRO_TURNS + ((("M003", "ang", 5.6, 6.3),) if session == 5 else ())
        write_dialog(session_dir, f"Ses0{session}F_impro01", impro_turns)
    session1 = root / "Session1"
    write_dialog(
        session1, "Ses01M_script01_1", SCRIPT_TURNS,
        extra_lines=["[3.1000 - ]\tSes01M_script01_1_M009\tneu\t[2.5000, 2.5000, 2.5000]"],
    )  # fmt: skip
    wavs = session1 / "sentences" / "wav" / "Ses01M_script01_1"
    (wavs / "Ses01M_script01_1_M001.wav").unlink()
    (wavs / "Ses01M_script01_1_F002.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 8)
    # a dialog whose video is missing, and a label file listing an utterance of another session
    write_dialog(
        root / "Session2", "Ses02F_impro02", (("F000", "neu", 0.5, 1.0), ("M000", "sad", 1.0, 2.0)), video=False
    )
    write_emo_evaluation(
        root / "Session3" / "dialog" / "EmoEvaluation" / "Ses03M_impro09.txt",
        "Ses04F_impro01",
        [("F000", "neu", 1, 2)],
    )
    return root


@pytest.fixture(scope="module")
def prepared(tree):
    return prepare_iemocap(tree, progress=False)


def test_keeps_the_four_class_utterances_and_reports_the_rest(prepared):
    dataset, report = prepared

    kept = set(dataset["utterance"])
    impro = {
        f"Ses0{session}F_impro01_{speaker}"
        for session in range(1, 6)
        for speaker in ("F000", "M000", "F001", "M001", "M002")
    }
    assert kept == impro | {"Ses05F_impro01_M003", "Ses01M_script01_1_F003", "Ses01M_script01_1_M003"}
    assert dataset.features["emotion"].names == list(IEMOCAP_EMOTIONS) == list(MODEL_PRESETS["iemocap"]["id2label"].values())
    labels = dict(zip(dataset["utterance"], dataset["label"]))
    emotions = dict(zip(dataset["utterance"], dataset.features["emotion"].int2str(dataset["emotion"])))
    # excited and happy are one class
    assert (labels["Ses01F_impro01_F001"], emotions["Ses01F_impro01_F001"]) == ("exc", "happy")
    assert (labels["Ses01F_impro01_M002"], emotions["Ses01F_impro01_M002"]) == ("hap", "happy")
    assert emotions["Ses03F_impro01_M000"] == "angry" and emotions["Ses04F_impro01_M001"] == "sad"

    assert report.excluded == {"label fru": 5, "label xxx": 1, "label oth": 1, "unrecognised label 'zzz'": 1}
    reasons = {item["path"].split(":")[-1]: item["reason"] for item in report.skipped}
    assert set(reasons) == {
        "Ses01M_script01_1_M001", "Ses01M_script01_1_F002", "Ses01M_script01_1_M002",
        "Ses02F_impro02_F000", "Ses02F_impro02_M000", "Ses04F_impro01_F000",
    }  # fmt: skip
    assert "Ses01M_script01_1_M001.wav' does not exist" in reasons["Ses01M_script01_1_M001"]
    assert "utterance audio" in reasons["Ses01M_script01_1_F002"]
    assert "after the end of its dialog video (6.00 s)" in reasons["Ses01M_script01_1_M002"]
    missing_video = reasons["Ses02F_impro02_F000"]
    assert missing_video.startswith("dialog video:") and "Ses02F_impro02.avi' does not exist" in missing_video
    assert "not an utterance of dialog Ses03M_impro09" in reasons["Ses04F_impro01_F000"]
    assert [item["message"][:7] for item in report.warnings] == ["line 43"]
    assert report.counts["emotion"] == {"neutral": 6, "happy": 11, "angry": 6, "sad": 5}
    assert report.counts["session"] == {"1": 7, "2": 5, "3": 5, "4": 5, "5": 6}


def test_rows_describe_speaker_time_and_media(prepared, tree):
    dataset, _ = prepared
    rows = {row["utterance"]: row for row in dataset}

    row = rows["Ses01F_impro01_M000"]
    assert (row["session"], row["speaker"], row["dialog"], row["start"], row["end"]) == (
        1, "Ses01M", "Ses01F_impro01", 1.6, 2.6,
    )  # fmt: skip
    assert dataset.features["gender"].int2str(row["gender"]) == "male"
    assert row["audio_path"] == str(tree / "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M000.wav")
    assert row["video_path"] == str(tree / "Session1/dialog/avi/DivX/Ses01F_impro01.avi")
    assert (row["valence"], row["arousal"], row["dominance"]) == (2.5, 3.0, 3.5)
    sides = {name: dataset.features["speaker_side"].int2str(row["speaker_side"]) for name, row in rows.items()}
    # the marker-wearing actor (F in Ses01F_impro01, M in Ses01M_script01_1) is on the left by default
    assert sides["Ses01F_impro01_F000"] == "left" and sides["Ses01F_impro01_M000"] == "right"
    assert sides["Ses01M_script01_1_M003"] == "left" and sides["Ses01M_script01_1_F003"] == "right"


def test_speaker_side_is_configurable(tree):
    assert speaker_side("Ses01F_impro01", "F", marker_side="right") == "right"
    assert speaker_side("Ses01F_impro01", "M", marker_side="right") == "left"
    overrides = {"Ses01M_script01_1": "right"}
    assert speaker_side("Ses01M_script01_1", "M", side_overrides=overrides) == "right"
    assert speaker_side("Ses01F_impro01", "F", side_overrides=overrides) == "left"
    with pytest.raises(ValueError, match="must be one of"):
        speaker_side("Ses01F_impro01", "F", marker_side="middle")
    with pytest.raises(ValueError, match="not an IEMOCAP dialog name"):
        speaker_side("impro01", "F")

    flipped, _ = prepare_iemocap(tree, marker_side="right", side_overrides=overrides, progress=False)
    sides = dict(zip(flipped["utterance"], flipped.features["speaker_side"].int2str(flipped["speaker_side"])))
    assert sides["Ses02F_impro01_F000"] == "right" and sides["Ses02F_impro01_M000"] == "left"
    assert sides["Ses01M_script01_1_M003"] == "right"
    with pytest.raises(ValueError, match="must be one of"):
        prepare_iemocap(tree, side_overrides={"Ses01F_impro01": "top"}, progress=False)


def band_indices(frames: np.ndarray) -> np.ndarray:
    """The frame index each frame's top band encodes (grey level / 4)."""
    return np.round(frames[:, 2:14].mean(axis=(1, 2, 3)) / 4).astype(int)


def raw_processor(num_frames: int) -> TACFNProcessor:
    """A processor that gives the sampled frames of the speaker's 64x64 half unchanged (no crop, scaling or
    normalisation)."""
    raw = {"do_face_crop": False, "do_rescale": False, "do_normalize": False}
    video_processor = TACFNVideoProcessor(num_frames=num_frames, size={"height": 64, "width": 64}, **raw)
    return TACFNProcessor(TACFNFeatureExtractor(), video_processor)


def speaker_frames(row: dict, num_frames: int, **overrides) -> np.ndarray:
    """The frames the processor gives for an utterance, as (num_frames, 64, 64, 3) pixel values in 0..255."""
    inputs = {**processor_inputs(row), **overrides}
    return raw_processor(num_frames)(**inputs)["pixel_values_videos"][0].permute(0, 2, 3, 1).numpy()


def test_speaker_frames_come_from_the_speakers_half_during_the_utterance(prepared):
    dataset, _ = prepared
    rows = {row["utterance"]: row for row in dataset}

    female = speaker_frames(rows["Ses01F_impro01_F000"], 5)
    assert female.shape == (5, 64, 64, 3) and np.array_equal(female, female.round())
    # the left half is the box (0, 0, 64, 64) of the 128x64 frame, unscaled
    left_box = speaker_frames(rows["Ses01F_impro01_F000"], 5, frame_region=(0, 0, 64, 64))
    np.testing.assert_array_equal(female, left_box)
    # the body of the frame below the band is the left half's red
    np.testing.assert_allclose(female[:, 24:].mean(axis=(0, 1, 2)), LEFT_COLOUR, atol=6)
    # frames shown at 0.5, 0.7, 0.9, 1.1, 1.3 s
    np.testing.assert_allclose(band_indices(female), [5, 7, 9, 11, 13], atol=1)

    male = speaker_frames(rows["Ses01F_impro01_M000"], 4)
    np.testing.assert_array_equal(male, speaker_frames(rows["Ses01F_impro01_M000"], 4, frame_region=(64, 0, 128, 64)))
    np.testing.assert_allclose(male[:, 24:].mean(axis=(0, 1, 2)), RIGHT_COLOUR, atol=6)
    np.testing.assert_allclose(band_indices(male), [16, 18, 21, 23], atol=1)


def test_frames_after_the_end_of_the_video_repeat_its_last_frame(prepared):
    dataset, _ = prepared
    row = next(row for row in dataset if row["utterance"] == "Ses05F_impro01_M003")
    # 5.6 .. 6.3 s in a 6 s video: the last two times lie after its last frame (5.9 s)
    indices = band_indices(speaker_frames(row, 7))
    np.testing.assert_allclose(indices, [56, 57, 58, 59, 59, 59, 59], atol=1)

    beyond = {**row, "start": 7.0, "end": 8.0}
    with pytest.raises(ValueError, match=r"Ses05F_impro01.avi' ends at 6.00 s, before the frame asked for at 7.75 s"):
        speaker_frames(beyond, 4)
    with pytest.raises(ValueError, match=r"video_start < video_end .*got \[5.6, 5.6\]"):
        speaker_frames({**row, "end": row["start"]}, 4)


def test_utterance_audio_is_the_wav(prepared):
    dataset, _ = prepared
    row = next(row for row in dataset if row["utterance"] == "Ses03F_impro01_F001")
    audio, sampling_rate = read_audio_head(row["audio_path"], 10.0)
    assert sampling_rate == SAMPLE_RATE and audio.dtype == np.float32
    expected = utterance_tone("Ses03F_impro01", "F001", row["end"] - row["start"])
    np.testing.assert_allclose(audio, expected, atol=1 / 32767)
    # the processor's audio input is the MFCC of that wav
    features = raw_processor(4)(**processor_inputs(row))["input_features"][0].numpy()
    reference = TACFNFeatureExtractor()(audio, sampling_rate=SAMPLE_RATE)["input_features"][0]
    np.testing.assert_allclose(features, reference, atol=1e-4)

    with pytest.raises(ValueError, match=r"Ses03F_impro01.avi' has no audio track"):
        raw_processor(4)(**{**processor_inputs(row), "audio": row["video_path"]})


def test_emo_evaluation_parser_skips_annotator_lines(tree):
    turns, problems = parse_emo_evaluation(tree / "Session1/dialog/EmoEvaluation/Ses01M_script01_1.txt")
    assert [turn.utterance[-4:] for turn in turns] == [speaker for speaker, *_ in SCRIPT_TURNS]
    assert [turn.label for turn in turns] == [label for _, label, *_ in SCRIPT_TURNS]
    assert (turns[3].start, turns[3].end, turns[3].valence) == (1.0, 2.0, 2.5)
    assert len(problems) == 1 and "Ses01M_script01_1_M009" in problems[0]


@pytest.mark.parametrize("protocol", ["published", "clean"])
def test_folds_leave_one_session_out(prepared, protocol):
    dataset, _ = prepared
    tested = []
    for fold in range(5):
        splits = iemocap_fold_split(dataset, protocol, fold)
        sessions = {name: set(split["session"]) for name, split in splits.items()}
        speakers = {name: set(split["speaker"]) for name, split in splits.items()}
        assert sessions["test"] == {fold + 1}
        assert not sessions["train"] & sessions["test"] and not sessions["train"] & sessions["validation"]
        assert not speakers["train"] & speakers["test"] and not speakers["train"] & speakers["validation"]
        assert sessions["train"] | sessions["validation"] | sessions["test"] == {1, 2, 3, 4, 5}
        if protocol == "published":
            assert sessions["validation"] == {fold + 1} and len(sessions["train"]) == 4
        else:
            assert sessions["validation"] == {(fold + 1) % 5 + 1} and len(sessions["train"]) == 3
        tested += sorted(sessions["test"])
    assert tested == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="fold 5 does not exist"):
        iemocap_fold_split(dataset, protocol, 5)


def test_command_line_and_missing_sessions(tree, tmp_path, capsys):
    output = tmp_path / "prepared"
    main([str(tree), "--output", str(output), "--side-override", "Ses01M_script01_1=right", "--no-progress"])
    printed = capsys.readouterr().out
    assert "kept 28 examples" in printed and "per emotion: neutral: 6, happy: 11, angry: 6, sad: 5" in printed
    assert "unrecognised label 'zzz': 1" in printed
    saved = load_from_disk(str(output))
    sides = dict(zip(saved["utterance"], saved["speaker_side"]))
    assert sides["Ses01M_script01_1_M003"] == 1  # right, as overridden
    report = json.loads((output / "preparation_report.json").read_text())
    assert report["num_kept"] == 28 and report["num_skipped"] == 6

    with pytest.raises(SystemExit):
        main([str(tree), "--output", str(output), "--side-override", "Ses01M_script01_1"])
    with pytest.raises(ValueError, match="no EmoEvaluation label files"):
        prepare_iemocap(tmp_path, progress=False)
