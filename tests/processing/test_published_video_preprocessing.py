"""The video processor's published-preprocessing settings (`frame_sampling`, `landmark_rows`, `jpeg_round_trip`)
against the published rules computed here from the container duration, OpenCV itself, and a reference written in the
published order of operations, on real H.264 clips with OpenFace CSVs."""

import json
import math

import cv2
import numpy as np
import pytest
import torch
from transformers import AutoProcessor
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification
from modeling_tacfn.convert_original_tacfn_checkpoint import ORIGINAL_VIDEO_PROCESSOR_SETTINGS, save_converted_model
from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor
from processing.frame_boxes_tacfn import jpeg_round_trip, published_landmark_rows, read_landmark_csv
from processing.media_io_tacfn import probe_media, read_video_frames
from tests import media


NTSC_FPS = 30000 / 1001
NUM_SAMPLED = 30
# 47 frames at 29.97 fps: 1.568 s, which ffmpeg prints as 1.56 s, not a whole number of frames
NUM_CLIP_FRAMES = 47
# compat settings as the converter had them before the published frame, row and JPEG rules
EARLIER_COMPAT = {"channel_order": "bgr", "pre_crop_size": {"height": 224, "width": 224}}


def published_indices(path) -> list:
    """The published frame choice computed from the container: `int(fps * i * D / 30)` with D truncated to 10 ms."""
    info = probe_media(path, require_video=True, require_audio=False)
    duration = math.floor(info.duration * 100 + 1e-6) / 100
    return [min(int(info.fps * (i * duration / NUM_SAMPLED)), info.num_frames - 1) for i in range(NUM_SAMPLED)]


def published_rows(num_rows: int) -> list:
    """The published landmark row of each sampled frame: `ceil(i * R / 30)`, clamped to R-1."""
    return [min(math.ceil(i * num_rows / NUM_SAMPLED), num_rows - 1) for i in range(NUM_SAMPLED)]


def moving_face_boxes(num_frames: int, height: int, width: int) -> np.ndarray:
    """Per-frame face boxes (num_frames, 4) that drift right and down, so a landmark row of another frame crops
    differently."""
    side = height * 0.45
    steps = np.arange(num_frames)[:, None]
    start = np.array([[(width - side * 0.8) / 2, (height - side) / 2]])
    corner = start + steps * np.array([[width * 0.004, height * 0.003]])
    return np.concatenate([corner, corner + np.array([[side * 0.8, side]])], axis=1)


@pytest.fixture(scope="module")
def ntsc_clip(tmp_path_factory):
    """A 720p 29.97 fps H.264 clip of a moving face with its OpenFace CSV: (video path, CSV path)."""
    folder = tmp_path_factory.mktemp("published")
    height, width = 720, 1280
    boxes = moving_face_boxes(NUM_CLIP_FRAMES, height, width)
    frames = media.face_frames(NUM_CLIP_FRAMES, height, width, face_box=boxes)
    video = media.write_video(folder / "ntsc.mp4", frames, fps=NTSC_FPS)
    csv = media.write_openface_csv(folder / "ntsc.csv", media.face_landmarks(NUM_CLIP_FRAMES, boxes), NTSC_FPS)
    return video, csv


@pytest.fixture(scope="module")
def small_ntsc_clip(tmp_path_factory):
    """A small 29.97 fps H.264 clip of NUM_CLIP_FRAMES frames, for the frame rule alone."""
    frames = media.face_frames(NUM_CLIP_FRAMES, 48, 64)
    return media.write_video(tmp_path_factory.mktemp("published") / "small.mp4", frames, fps=NTSC_FPS)


def test_published_frame_sampling_takes_the_frames_at_the_truncated_container_times(small_ntsc_clip):
    info = probe_media(small_ntsc_clip, require_video=True, require_audio=False)
    # the clip's duration is not a whole number of frames, and ffmpeg's printed duration is shorter than the clip
    assert info.duration * info.fps % 1 > 0.01
    assert math.floor(info.duration * 100) / 100 < info.duration
    published = TACFNVideoProcessor(frame_sampling="published").load_clip(small_ntsc_clip)
    assert published.indices.tolist() == published_indices(small_ntsc_clip)
    uniform = TACFNVideoProcessor().load_clip(small_ntsc_clip)
    assert uniform.indices.tolist() == [i * info.num_frames // NUM_SAMPLED for i in range(NUM_SAMPLED)]
    # the two rules disagree on some frames of this clip, so the test tells them apart
    assert published.indices.tolist() != uniform.indices.tolist()


def test_frame_sampling_given_per_call_reaches_a_clip_with_its_own_audio(tmp_path):
    # the processor opens such a file itself (frames and audio together), so the call's settings must reach it
    frames = media.face_frames(NUM_CLIP_FRAMES, 48, 64)
    audio = media.speech_like_audio(NUM_CLIP_FRAMES / NTSC_FPS, 48000)
    path = media.write_video(tmp_path / "speech.mp4", frames, fps=NTSC_FPS, audio=audio)
    video_processor = TACFNVideoProcessor(size={"height": 32, "width": 32}, do_face_crop=False)
    processor = TACFNProcessor(TACFNFeatureExtractor(), video_processor)
    per_call = processor(path, frame_sampling="published")["pixel_values_videos"]
    published_processor = TACFNVideoProcessor(frame_sampling="published", size={"height": 32, "width": 32},
                                              do_face_crop=False)  # fmt: skip
    assert torch.equal(per_call, published_processor(path)["pixel_values_videos"])
    assert not torch.equal(per_call, processor(path)["pixel_values_videos"])


def test_published_landmark_rows_are_ceil_of_the_sample_position(ntsc_clip):
    track = read_landmark_csv(ntsc_clip[1])
    assert len(track.points) == NUM_CLIP_FRAMES
    assert published_landmark_rows(track, NUM_SAMPLED).tolist() == published_rows(NUM_CLIP_FRAMES)
    # clamped to the last row when there are fewer rows than sampled frames
    short = read_landmark_csv(ntsc_clip[1])
    short.points = short.points[:7]
    assert published_landmark_rows(short, NUM_SAMPLED).tolist() == published_rows(7)


def test_jpeg_round_trip_is_opencv_default_jpeg():
    crop = media.face_frames(1, 224, 224)[0]
    expected = cv2.imdecode(cv2.imencode(".jpg", crop)[1], cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(jpeg_round_trip(crop), expected)
    # imwrite's default quality is imencode's default
    assert np.array_equal(expected, cv2.imdecode(cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 95])[1], 1))
    assert np.abs(expected.astype(int) - crop).max() > 0
    # the channel order the encoder sees matters: handing it BGR instead gives other pixels
    swapped = cv2.imdecode(cv2.imencode(".jpg", crop[..., ::-1].copy())[1], cv2.IMREAD_COLOR)[..., ::-1]
    assert not np.array_equal(swapped, expected)


def test_processor_applies_the_jpeg_round_trip_to_resized_crops():
    frames = media.face_frames(NUM_SAMPLED, 224, 224)
    settings = {"do_face_crop": False, "do_rescale": False, "do_normalize": False}
    output = TACFNVideoProcessor(jpeg_round_trip=True, **settings)(frames, return_tensors="np")["pixel_values_videos"]
    expected = np.stack([cv2.imdecode(cv2.imencode(".jpg", frame)[1], cv2.IMREAD_COLOR) for frame in frames])
    # (1, T, 3, H, W) -> (T, H, W, 3)
    np.testing.assert_array_equal(output[0].transpose(0, 2, 3, 1), expected.astype(np.float32))


def published_reference(video: str, csv: str) -> np.ndarray:
    """The published order of operations: the whole frame scaled to 224x224 while decoding, the landmark box scaled
    with it, crop, resize to 224x224, OpenCV JPEG round trip (moviepy's RGB array handed to imwrite), BGR, normalise.
    Returns (30, 3, 224, 224) float32."""
    info = probe_media(video, require_video=True, require_audio=False)
    frames, _, _ = read_video_frames(video, lambda total: np.arange(total), size=(224, 224))
    points = read_landmark_csv(csv).points * np.array([224 / info.width, 224 / info.height])
    mean, std = np.array(IMAGENET_DEFAULT_MEAN), np.array(IMAGENET_DEFAULT_STD)
    video_tensor = []
    for position, (index, row) in enumerate(zip(published_indices(video), published_rows(len(points)))):
        left, top = np.floor(points[row].min(axis=0)).astype(int)
        right, bottom = np.floor(points[row].max(axis=0)).astype(int)
        crop = cv2.resize(frames[index][top:bottom, left:right], (224, 224))
        crop = cv2.imdecode(cv2.imencode(".jpg", crop)[1], cv2.IMREAD_COLOR)[..., ::-1]
        video_tensor.append(((crop / 255.0 - mean) / std).transpose(2, 0, 1))
    return np.stack(video_tensor).astype(np.float32)


def compat_difference(settings: dict, ntsc_clip) -> tuple:
    """Mean and max absolute difference, in normalised units, of a processor with `settings` from the reference."""
    output = TACFNVideoProcessor(**settings)(ntsc_clip[0], landmarks=ntsc_clip[1], return_tensors="np")
    difference = np.abs(output["pixel_values_videos"][0] - published_reference(*ntsc_clip))
    return float(difference.mean()), float(difference.max())


def test_compat_settings_reproduce_the_published_video_preprocessing(ntsc_clip):
    mean, largest = compat_difference(ORIGINAL_VIDEO_PROCESSOR_SETTINGS, ntsc_clip)
    assert mean < 0.01 and largest < 0.1, (mean, largest)
    # without the published rules the same clip is clearly further off
    earlier_mean, _ = compat_difference(EARLIER_COMPAT, ntsc_clip)
    assert earlier_mean > 5 * mean


def test_converted_folder_loads_and_applies_the_compat_settings(tmp_path, small_ntsc_clip):
    model = TACFNForAudioVisualClassification(TACFNConfig(modality="video", num_labels=8))
    save_converted_model(model, tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())["video_processor"]
    for name, value in ORIGINAL_VIDEO_PROCESSOR_SETTINGS.items():
        assert saved[name] == value
    for processor in (AutoProcessor.from_pretrained(tmp_path), TACFNProcessor.from_pretrained(tmp_path)):
        video_processor = processor.video_processor
        assert (video_processor.frame_sampling, video_processor.landmark_rows) == ("published", "published")
        assert video_processor.jpeg_round_trip is True
        assert video_processor.load_clip(small_ntsc_clip).indices.tolist() == published_indices(small_ntsc_clip)
