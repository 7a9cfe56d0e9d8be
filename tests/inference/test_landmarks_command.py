"""`tacfn landmarks`: OpenFace-format CSVs made with the landmark model from a real photographed face panned through an
H.264 clip (stored sideways, as a phone does), read back by the processor into the crop they were made from; a bad
file is reported and the others still written."""

import importlib.util

import numpy as np
import pytest

from inference.cli import main
from processing import TACFNVideoProcessor
from processing.frame_boxes_tacfn import read_landmark_csv
from processing.landmark_csv_tacfn import LANDMARK_CSV_COLUMNS
from tests import media
from tests.processing.test_face_landmarks import decoded_boxes


if importlib.util.find_spec("face_recognition_models") is None:
    pytest.skip("the landmark model needs the faces extra (face-recognition-models)", allow_module_level=True)

FPS = 10
NUM_FRAMES = 30


def test_landmarks_command_csv_gives_back_the_crop_it_was_made_from(tmp_path, capsys):
    frames, _ = media.panned_frames(media.photographed_face(0.5), NUM_FRAMES, 192, 160, start=30, step=1)
    audio = media.speech_like_audio(NUM_FRAMES / FPS, 48000)
    # stored sideways with the display matrix of a phone held upright: the CSV refers to the displayed frames
    stored = np.ascontiguousarray(np.rot90(frames, 1, axes=(1, 2)))
    clip = media.write_video(tmp_path / "pan.mp4", stored, FPS, audio, display_rotation=-90)
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n")

    code = main(["landmarks", clip, str(bad), "--output", str(tmp_path / "csv"), "--quiet"])
    captured = capsys.readouterr()
    assert code == 1 and "notes.mp4" in captured.err and "1 of 2 files" in captured.err
    csv_path = tmp_path / "csv" / "pan.csv"
    header = [name.strip() for name in csv_path.read_text().splitlines()[0].split(",")]
    assert header == list(LANDMARK_CSV_COLUMNS)
    track = read_landmark_csv(csv_path)
    assert len(track.points) == NUM_FRAMES and track.success.all()
    assert track.points[..., 0].max() < 160 and track.points[..., 1].max() < 192

    processor = TACFNVideoProcessor(num_frames=NUM_FRAMES, size={"height": 64, "width": 64})
    _, csv_boxes, csv_source = decoded_boxes(processor, clip, str(csv_path))
    # every frame is cropped to the box of the CSV's own 68 points of that frame
    points = track.points[processor.load_clip(clip).indices]
    np.testing.assert_array_equal(csv_boxes, np.concatenate([np.floor(points.min(1)), np.floor(points.max(1))], 1))
    # and that is the crop the landmark model gives the clip directly (which detects on other frames: 5, not 7)
    _, model_boxes, model_source = decoded_boxes(processor, clip)
    assert (model_source, csv_source) == ("landmark_model", "csv")
    face_size = (model_boxes[:, 2:] - model_boxes[:, :2]).mean()
    assert np.abs(csv_boxes - model_boxes).max() / face_size <= 0.08
