"""The synthetic RAVDESS-format demo tree: its layout and media, determinism, landmarks that sit on the drawn face, and
the class design (each modality alone confuses pairs of emotions, the two together tell all eight apart)."""

import os
from pathlib import Path

import av
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from processing import TACFNFeatureExtractor
from processing.frame_boxes_tacfn import read_landmark_csv
from processing.media_io_tacfn import read_audio_head
from training.data.demo import FPS, NUM_FRAMES, SAMPLE_RATE, demo_clip_names, main, write_demo_ravdess
from processing.media_io_tacfn import probe_media
from processing.media_writing import OPENFACE_COLUMNS
from training.data.ravdess import parse_ravdess_name, prepare_ravdess


os.environ["HF_HUB_OFFLINE"] = "1"


def tree_files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_layout_names_and_determinism(tmp_path):
    clips = write_demo_ravdess(tmp_path / "a", actors=2, clips_per_emotion=1, seed=5)

    assert [path.parent.name for path in clips] == ["Actor_01"] * 8 + ["Actor_02"] * 8
    names = [parse_ravdess_name(path.stem) for path in clips]
    assert {(name.modality, name.vocal_channel) for name in names} == {(0, 0)}
    assert [name.emotion for name in names] == list(range(8)) * 2
    assert sorted(path.name for path in (tmp_path / "a" / "Actor_02").iterdir()) == sorted(
        [path.name for path in clips[8:]] + [path.with_suffix(".csv").name for path in clips[8:]]
    )

    same = write_demo_ravdess(tmp_path / "b", actors=2, clips_per_emotion=1, seed=5)
    assert [path.name for path in same] == [path.name for path in clips]
    assert tree_files(tmp_path / "a") == tree_files(tmp_path / "b")
    other_seed = write_demo_ravdess(tmp_path / "c", actors=1, clips_per_emotion=1, seed=6)
    assert other_seed[0].read_bytes() != clips[0].read_bytes()


def test_takes_follow_ravdess():
    names = demo_clip_names(actors=3, clips_per_emotion=4)
    assert len(names) == 3 * 8 * 4 and len({name.stem for name in names}) == len(names)
    first_actor = [(name.emotion, name.intensity, name.statement, name.repetition) for name in names[:8]]
    # neutral has no strong intensity in RAVDESS; the statements come in the same order for every emotion
    assert first_actor[:4] == [(0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 0, 2), (0, 0, 1, 2)]
    assert first_actor[4:] == [(1, 0, 0, 1), (1, 1, 1, 1), (1, 1, 0, 2), (1, 0, 1, 2)]
    # the voice says the statement: it must not differ between emotions
    for clips_per_emotion in range(1, 5):
        takes = demo_clip_names(actors=1, clips_per_emotion=clips_per_emotion)
        statements = {emotion: [name.statement for name in takes if name.emotion == emotion] for emotion in range(8)}
        assert all(sequence == statements[0] for sequence in statements.values())


def test_clips_are_h264_aac_with_openface_csvs(tmp_path):
    clip = write_demo_ravdess(tmp_path, actors=1, clips_per_emotion=1, seed=0)[4]

    info = probe_media(clip, require_video=True, require_audio=True)
    assert (info.width, info.height, info.fps, info.num_frames, info.sample_rate) == (
        160,
        120,
        FPS,
        NUM_FRAMES,
        SAMPLE_RATE,
    )
    assert info.duration == pytest.approx(3.5, abs=0.1)
    with av.open(str(clip)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
    audio, _ = read_audio_head(str(clip), 3.5)
    assert 0.05 < np.abs(audio).max() <= 1.0

    csv = clip.with_suffix(".csv")
    header = csv.read_text().splitlines()[0].split(", ")
    assert tuple(header) == OPENFACE_COLUMNS and header.index("x_0") > 100
    track = read_landmark_csv(str(csv))
    assert track.points.shape == (NUM_FRAMES, 68, 2) and track.success.all()
    np.testing.assert_allclose(track.timestamps, np.arange(NUM_FRAMES) / FPS, atol=1e-3)
    assert (track.points[..., 0] > 0).all() and (track.points[..., 0] < 160).all()
    assert (track.points[..., 1] > 0).all() and (track.points[..., 1] < 120).all()


def test_landmarks_sit_on_the_drawn_face(tmp_path):
    clips = write_demo_ravdess(tmp_path, actors=2, clips_per_emotion=1, seed=1)[::3]
    for clip in clips:
        track = read_landmark_csv(str(clip.with_suffix(".csv")))
        blink = np.loadtxt(
            clip.with_suffix(".csv"), delimiter=",", skiprows=1, usecols=OPENFACE_COLUMNS.index("AU45_r")
        )
        with av.open(str(clip)) as container:
            frames = [frame.to_ndarray(format="rgb24").astype(int) for frame in container.decode(video=0)]
        for index in range(0, NUM_FRAMES, 5):
            frame, points = frames[index], track.points[index]
            # the middle of the outer lip outline is lip red or the dark mouth inside: far less green than skin
            x, y = np.round(points[48:60].mean(axis=0)).astype(int)
            assert frame[y, x, 1] < 75 and frame[y, x, 0] > frame[y, x, 1] + 20, (clip.name, index, frame[y, x])
            for eye in (points[36:42], points[42:48]):
                # the middle of an eye open at least 3 pixels is the white or the iris, not skin
                if blink[index] < 0.3 and eye[4:6, 1].mean() - eye[1:3, 1].mean() >= 3:
                    x, y = np.round(eye.mean(axis=0)).astype(int)
                    white, iris = np.abs(frame[y, x] - 245).max(), np.abs(frame[y, x] - (50, 40, 30)).max()
                    assert min(white, iris) < 50, (clip.name, index, frame[y, x])


def landmark_features(csv: Path) -> np.ndarray:
    """Mean landmark layout over the clip, with position, size and tilt removed: 136 numbers."""
    points = read_landmark_csv(str(csv)).points.astype(np.float64)
    # the temples (0 and 16) give each frame's face axis and width
    axis = points[:, 16] - points[:, 0]
    width = np.linalg.norm(axis, axis=1)
    cos, sin = axis[:, 0] / width, axis[:, 1] / width
    centred = points - points.mean(axis=1, keepdims=True)
    x = (centred[..., 0] * cos[:, None] + centred[..., 1] * sin[:, None]) / width[:, None]
    y = (-centred[..., 0] * sin[:, None] + centred[..., 1] * cos[:, None]) / width[:, None]
    return np.concatenate([x.mean(axis=0), y.mean(axis=0)])


def mfcc_features(clip: Path, extractor: TACFNFeatureExtractor) -> np.ndarray:
    """Mean, spread and mean change of the model's 13 MFCCs over the clip's audio window, and the modulation spectrum
    of its energy (c0) from 0.35 to 5.3 Hz (the syllable rate): 54 numbers."""
    audio, sampling_rate = read_audio_head(str(clip), 3.0)
    # (13, 212) MFCC frames
    mfcc = extractor(audio, sampling_rate=sampling_rate, return_tensors="np")["input_features"][0]
    energy = mfcc[0] - mfcc[0].mean()
    modulation = np.abs(np.fft.rfft(energy * np.hanning(len(energy))))[1:16]
    statistics = [mfcc.mean(axis=1), mfcc.std(axis=1), np.abs(np.diff(mfcc, axis=1)).mean(axis=1)]
    return np.concatenate([*statistics, modulation / modulation.sum()])


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    """Landmark and MFCC features of 8 actors x 8 emotions x 2 takes, with the emotion and actor of every clip."""
    clips = write_demo_ravdess(tmp_path_factory.mktemp("demo"), actors=8, clips_per_emotion=2, seed=0)
    extractor = TACFNFeatureExtractor()
    video = np.stack([landmark_features(clip.with_suffix(".csv")) for clip in clips])
    audio = np.stack([mfcc_features(clip, extractor) for clip in clips])
    names = [parse_ravdess_name(clip.stem) for clip in clips]
    return video, audio, np.array([name.emotion for name in names]), np.array([name.actor for name in names])


def held_out_predictions(inputs: np.ndarray, targets: np.ndarray, actors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A linear classifier trained on actors 1-4, and its predictions and the targets on actors 5-8."""
    train, test = actors <= 4, actors > 4
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(inputs[train], targets[train])
    return classifier.predict(inputs[test]), targets[test]


def test_each_modality_alone_confuses_pairs_and_both_together_separate_all(features):
    video, audio, emotions, actors = features

    # video shows emotion // 2: its 8-way errors stay within those pairs, and it cannot do much better than 50%
    predicted, true = held_out_predictions(video, emotions, actors)
    assert np.mean(predicted // 2 == true // 2) >= 0.9
    assert np.mean(predicted == true) <= 0.7
    # audio shows emotion % 4: likewise
    predicted, true = held_out_predictions(audio, emotions, actors)
    assert np.mean(predicted % 4 == true % 4) >= 0.9
    assert np.mean(predicted == true) <= 0.7

    # the expression group from the video and the voice group from the audio name the emotion
    expression, _ = held_out_predictions(video, emotions // 2, actors)
    voice, _ = held_out_predictions(audio, emotions % 4, actors)
    # the emotion e with e // 2 == expression and e % 4 == voice
    lookup = {(emotion // 2, emotion % 4): emotion for emotion in range(8)}
    fused = np.array([lookup.get(pair, -1) for pair in zip(expression, voice)])
    assert np.mean(fused == emotions[actors > 4]) >= 0.9


def test_prepares_as_ravdess_without_warnings(tmp_path):
    write_demo_ravdess(tmp_path, actors=1, clips_per_emotion=1, seed=0)
    dataset, report = prepare_ravdess(tmp_path, progress=False)
    assert len(dataset) == 8 and not report.skipped and not report.warnings
    assert sorted(dataset["emotion"]) == list(range(8))


@pytest.mark.parametrize(
    "actors, clips_per_emotion, message",
    [(0, 1, "actors must be"), (25, 1, "actors must be"), (2, 5, "clips_per_emotion")],
)
def test_bad_sizes_raise(tmp_path, actors, clips_per_emotion, message):
    with pytest.raises(ValueError, match=message):
        write_demo_ravdess(tmp_path, actors=actors, clips_per_emotion=clips_per_emotion)


def test_command_line(tmp_path, capsys):
    paths = main([str(tmp_path / "demo"), "--actors", "1", "--clips-per-emotion", "1", "--seed", "2"])
    assert len(paths) == 8 and all(path.is_file() and path.with_suffix(".csv").is_file() for path in paths)
    assert "wrote 8 clips" in capsys.readouterr().out
