"""Long recordings as a timeline: a generated recording whose emotion (a demo face and voice) changes halfway, predicted
window by window by a tiny model trained on its two halves; the CLI's `--window --plot` files; the warnings for a long
clip predicted whole and for a clip shorter than the audio window."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from inference.cli import main
from processing import TACFNFeatureExtractor, save_pipeline
from processing.media_io_tacfn import read_audio_head, read_video_frames
from processing.pipeline_tacfn import TACFNAudioVisualClassificationPipeline
from processing.timeline_tacfn import timeline_windows
from tests import media
from tests.inference.conftest import tiny_model, tiny_processor
from training.data.demo import make_actor, write_demo_clip
from training.data.ravdess import RavdessName
from training.data.talking_faces import ClipFormat


HALF_SECONDS = 3.5
CLIP_FORMAT = ClipFormat(frame_height=96, frame_width=128, fps=10, duration=HALF_SECONDS)
HAPPY, ANGRY = 2, 4


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    """A happy take and an angry take of one demo actor, 3.5 s each, and the 7 s recording of one after the other."""
    folder = tmp_path_factory.mktemp("timeline")
    actor = make_actor(1, seed=0)
    paths = [
        write_demo_clip(folder / f"{emotion}.mp4", RavdessName(0, 0, emotion, 0, 0, 1, 1), actor, 0, CLIP_FORMAT, False)
        for emotion in (HAPPY, ANGRY)
    ]
    frames = np.concatenate([read_video_frames(str(path), np.arange)[0] for path in paths])
    audio = np.concatenate([read_audio_head(str(path), HALF_SECONDS)[0] for path in paths])
    recording = media.write_video(folder / "recording.mp4", frames, CLIP_FORMAT.fps, audio, CLIP_FORMAT.sample_rate)
    return paths, Path(recording)


@pytest.fixture(scope="module")
def trained_classifier(halves, tmp_path_factory):
    """The tiny fused model trained (a few plain Adam steps) to tell the two takes apart, saved with its pipeline."""
    paths, _ = halves
    processor = tiny_processor()
    model = tiny_model()
    inputs = processor(videos=[str(path) for path in paths], return_tensors="pt")
    labels = torch.tensor([HAPPY, ANGRY])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    # trained in eval mode: batch norm keeps its running statistics, so the two clips are told apart alone as well
    for _ in range(8):
        optimizer.zero_grad()
        model(**inputs, labels=labels).loss.backward()
        optimizer.step()
    folder = tmp_path_factory.mktemp("timeline-model")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    save_pipeline(folder)
    classifier = TACFNAudioVisualClassificationPipeline(model=model, processor=processor)
    assert [classifier(str(path), top_k=1)[0]["label"] for path in paths] == ["happy", "angry"]
    return classifier, folder


def test_timeline_windows_cover_the_recording():
    assert timeline_windows(7.0, 3.5, 3.5) == [(0.0, 3.5), (3.5, 7.0)]
    assert timeline_windows(2.0, 3.5, 3.5) == [(0.0, 2.0)]
    assert timeline_windows(8.0, 3.5, 3.5) == [(0.0, 3.5), (3.5, 7.0), (4.5, 8.0)]
    assert timeline_windows(600.0, 3.5, 1.0)[-2:] == [(596.0, 599.5), (596.5, 600.0)]
    with pytest.raises(ValueError, match="positive window"):
        timeline_windows(7.0, 0.0, 1.0)


def test_timeline_shows_the_change_of_emotion_in_the_right_window(halves, trained_classifier):
    _, recording = halves
    classifier, _ = trained_classifier
    timeline = classifier.predict_timeline(str(recording), HALF_SECONDS, HALF_SECONDS, top_k=1)
    by_start = {round(window["start"], 2): window["predictions"][0]["label"] for window in timeline}
    assert by_start[0.0] == "happy" and by_start[3.5] == "angry"
    assert all(window["crop_source"] == "whole_frame" for window in timeline)


def test_cli_writes_the_timeline_and_its_picture(halves, trained_classifier, tmp_path, capsys):
    _, recording = halves
    _, folder = trained_classifier
    code = main(
        ["predict", str(recording), "--model", str(folder), "--window", "3.5", "--plot", "--timeline-dir",
         str(tmp_path), "--device", "cpu"]
    )  # fmt: skip
    assert code == 0
    with open(tmp_path / "recording_timeline.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["label"] for row in rows if float(row["start"]) in (0.0, 3.5)] == ["happy", "angry"]
    assert abs(sum(float(rows[0][label]) for label in ("neutral", "calm", "happy", "sad", "angry", "fearful",
                                                        "disgust", "surprised")) - 1) < 1e-3  # fmt: skip
    assert json.loads((tmp_path / "recording_timeline.json").read_text())["windows"][0]["label"] == "happy"
    assert (tmp_path / "recording_timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "happy" in capsys.readouterr().out


def test_long_clip_predicted_whole_warns_that_only_its_start_was_heard(halves, trained_classifier):
    _, recording = halves
    classifier, _ = trained_classifier
    with pytest.warns(UserWarning, match=r"is 7\.\d s long; the model heard only its audio from 0\.50 s to 2\.95 s"):
        classifier(str(recording))


def test_short_clip_warns_by_how_much_its_audio_is_padded():
    extractor = TACFNFeatureExtractor()
    one_second = np.sin(np.linspace(0, 2000, 44100)).astype(np.float32)
    with pytest.warns(UserWarning, match=r"audio is 1\.00 s long.*padded with 1\.95 s of silence"):
        extractor(one_second, sampling_rate=44100)


def test_web_demo_shows_the_timeline_of_a_long_upload(halves, trained_classifier):
    pytest.importorskip("gradio")
    from inference.web_demo import recognise_recording

    paths, recording = halves
    classifier, _ = trained_classifier
    scores, attention, timeline = recognise_recording(classifier, str(recording))
    assert attention is None and timeline.dtype == np.uint8 and timeline.shape[2] == 3
    assert abs(sum(scores.values()) - 1) < 1e-3 and set(scores) >= {"happy", "angry"}
    short_scores, short_attention, short_timeline = recognise_recording(classifier, str(paths[0]))
    assert short_timeline is None and short_attention is not None and max(short_scores, key=short_scores.get) == "happy"
