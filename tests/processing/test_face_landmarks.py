"""The landmark model (dlib's 68-point shape predictor, the `faces` extra) on a real photographed face (scikit-image's
public-domain astronaut portrait) panned slowly through an H.264 clip with speech: the crop boxes against the box of
the photo's own 68 points, the same clip stored sideways with phone display metadata, and a frame with two faces (a
second person, Grace Hopper's portrait, smaller beside her)."""

import importlib.util

import cv2
import numpy as np
import pytest

from processing import TACFNVideoProcessor
from processing.face_landmarks_tacfn import detect_faces, smooth_over_time
from processing.frame_boxes_tacfn import face_boxes
from processing.media_io_tacfn import probe_media
from tests import media


if importlib.util.find_spec("face_recognition_models") is None:
    pytest.skip("the landmark model needs the faces extra (face-recognition-models)", allow_module_level=True)

FPS = 10
NUM_FRAMES = 30  # 3 s
HEIGHT, WIDTH = 192, 160
# how far a crop box's sides may be from the box of the true 68 points, as a fraction of the face size, in every frame
BOX_TOLERANCE = 0.05


def assert_boxes_close(boxes: np.ndarray, expected: np.ndarray) -> None:
    """Crop boxes (T, 4) against the true boxes (T, 4), in fractions of the mean true face size."""
    face_size = (expected[:, 2:] - expected[:, :2]).mean()
    error = np.abs(boxes - expected).max(axis=1) / face_size
    assert error.max() <= BOX_TOLERANCE, error


@pytest.fixture(scope="module")
def photo():
    return media.astronaut_face()


@pytest.fixture(scope="module")
def pan(photo):
    """The panned frames (NUM_FRAMES, HEIGHT, WIDTH, 3) and the true 68 points in each, (NUM_FRAMES, 68, 2)."""
    frames, offsets = media.panned_frames(photo, NUM_FRAMES, HEIGHT, WIDTH, start=25, step=1)
    truth = media.still_landmarks(photo)[None] - offsets[:, None, :]
    return frames, truth


@pytest.fixture(scope="module")
def processor():
    return TACFNVideoProcessor(num_frames=NUM_FRAMES, size={"height": 64, "width": 64})


def write_pan(path, frames, display_rotation=0):
    """The pan as H.264/AAC with speech; with `display_rotation`, the stored frames are turned so that a player shows
    them upright."""
    audio = media.speech_like_audio(NUM_FRAMES / FPS, 48000)
    stored = np.ascontiguousarray(np.rot90(frames, -display_rotation // 90, axes=(1, 2)))
    return media.write_video(path, stored, FPS, audio, display_rotation=display_rotation)


def decoded_boxes(processor, path, landmarks=None):
    """The processor's decoded frames of a clip and the crop boxes and crop source it gives them (from the landmark
    model, or from `landmarks`: a landmark CSV)."""
    clip = processor.load_clip(path)
    settings = {
        "do_face_crop": True, "face_box_source": "landmark_model", "landmark_rows": "matched",
        "num_detection_frames": processor.num_detection_frames, "detection_max_side": processor.detection_max_side,
    }  # fmt: skip
    area = (0, 0, clip.info.width, clip.info.height)
    boxes, source = face_boxes(clip.frames, clip.indices, clip.info.fps, area, landmarks, settings, path)
    return clip, boxes, source


def test_landmark_model_crop_is_the_box_of_the_faces_68_points(tmp_path, pan, processor):
    frames, truth = pan
    path = write_pan(tmp_path / "pan.mp4", frames)
    clip, boxes, source = decoded_boxes(processor, path)
    assert source == "landmark_model"
    expected = media.points_box(truth[clip.indices])
    assert_boxes_close(boxes, expected)
    # the pan moves the box 1 px a frame: a box that does not follow the head fails this
    assert np.ptp(boxes[:, 0]) > 0.8 * np.ptp(expected[:, 0])
    outputs = processor(str(path), return_crop_sources=True)
    assert outputs["crop_sources"] == ["landmark_model"]
    assert tuple(outputs["pixel_values_videos"].shape) == (1, NUM_FRAMES, 3, 64, 64)


def test_phone_rotation_gives_the_same_crop(tmp_path, pan, processor):
    frames, _ = pan
    upright = write_pan(tmp_path / "upright.mp4", frames)
    # a phone held upright stores its frames sideways, with `rotate=90` (a display matrix of -90 degrees)
    sideways = write_pan(tmp_path / "sideways.mp4", frames, display_rotation=-90)
    clip, boxes, _ = decoded_boxes(processor, upright)
    turned_clip, turned_boxes, source = decoded_boxes(processor, sideways)
    assert (turned_clip.info.height, turned_clip.info.width) == (HEIGHT, WIDTH)
    # the check that prepares a data set reports the displayed size too
    info = probe_media(sideways, require_video=True, require_audio=True)
    assert (info.height, info.width) == (HEIGHT, WIDTH)
    assert turned_clip.frames[0].shape == (HEIGHT, WIDTH, 3)
    assert source == "landmark_model"
    assert_boxes_close(turned_boxes, boxes)
    # sideways, the detector finds no face (a centred crop); turned upright, the landmark model does
    assert processor(sideways, return_crop_sources=True)["crop_sources"] == ["landmark_model"]


def test_two_faces_the_same_face_is_chosen_in_every_frame(tmp_path, photo, processor):
    small = media.photographed_face(0.35)
    big_frames, big_offsets = media.panned_frames(photo, NUM_FRAMES, HEIGHT, WIDTH, start=25, step=1)
    small_frames, small_offsets = media.panned_frames(small, NUM_FRAMES, 160, 128, start=10, step=1)
    # the big face on the left, the small one on the right, each panning on its own
    frames = np.zeros((NUM_FRAMES, HEIGHT, WIDTH + 128, 3), dtype=np.uint8)
    frames[:, :, :WIDTH] = big_frames
    frames[:, 16:176, WIDTH:] = small_frames
    assert len(detect_faces(cv2.cvtColor(frames[0], cv2.COLOR_RGB2GRAY), 640)) == 2
    path = write_pan(tmp_path / "two_faces.mp4", frames)
    clip, boxes, source = decoded_boxes(processor, path)
    assert source == "landmark_model"
    big_truth = media.points_box(media.still_landmarks(photo)[None] - big_offsets[clip.indices, None, :])
    assert_boxes_close(boxes, big_truth)


def test_smoothing_keeps_a_steady_movement_and_fills_failed_frames():
    times = np.arange(20) / 10
    values = np.stack([3.0 + 7.0 * times, 50 - 2.0 * times], axis=1)
    valid = np.ones(20, dtype=bool)
    valid[[0, 7, 8]] = False
    jitter = np.where(np.arange(20) % 2, 0.5, -0.5)[:, None]
    smoothed, support = smooth_over_time(values + jitter * valid[:, None], times, valid, 0.3)
    np.testing.assert_allclose(smoothed, values, atol=0.3)
    assert support[7] < support[12] and support[12] > 3.0


def test_a_small_face_in_a_large_frame_is_found_at_full_size(photo):
    # the 90-pixel face of a head-and-shoulders shot in a 1080p frame: 30 pixels at the detection size of 640, too
    # small for the detector's window, so the frame is searched again at its own size
    frames = np.zeros((4, 1080, 1920, 3), dtype=np.uint8)
    frames[:, 400 : 400 + photo.shape[0], 900 : 900 + photo.shape[1]] = photo
    gray = cv2.cvtColor(frames[0], cv2.COLOR_RGB2GRAY)
    [box] = detect_faces(gray, 640)
    np.testing.assert_allclose(box, detect_faces(gray, 1920)[0])
    processor = TACFNVideoProcessor(num_frames=4, size={"height": 64, "width": 64})
    outputs = processor(frames, return_crop_sources=True)
    assert outputs["crop_sources"] == ["landmark_model"]


def test_a_face_moving_fast_for_its_size_is_followed_as_one_face(tmp_path):
    # a 90-pixel face moving 4 pixels a frame (1.3 face widths a second): between the 3 detection frames it moves 56
    # pixels, more than half its width, so the boxes of one face barely overlap
    band = media.astronaut_photo()
    frames, offsets = media.panned_frames(band, NUM_FRAMES, HEIGHT, 320, start=50, step=4)
    path = write_pan(tmp_path / "fast.mp4", frames)
    processor = TACFNVideoProcessor(num_frames=NUM_FRAMES, size={"height": 64, "width": 64}, num_detection_frames=3)
    clip, boxes, source = decoded_boxes(processor, path)
    assert source == "landmark_model"
    assert_boxes_close(boxes, media.points_box(media.still_landmarks(band)[None] - offsets[clip.indices, None, :]))
