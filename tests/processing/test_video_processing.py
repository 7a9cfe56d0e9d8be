"""TACFNVideoProcessor: frame sampling, face crops from landmarks or the detector, augmentation, channel order, and
clear errors."""

import numpy as np
import pytest
import torch
import torchvision
from transformers.image_utils import SizeDict

from processing import TACFNVideoProcessor
from processing.frame_boxes_tacfn import LandmarkTrack, detect_face_box, match_landmark_rows
from processing.media_writing import OPENFACE_2_COLUMNS
from processing.augmentation_tacfn import draw_clip_augmentation
from processing.video_processing_tacfn import sample_frame_indices
from tests import media
from tests.processing.conftest import BOX_COLOUR, FPS, NUM_FRAMES


RAW = {"do_rescale": False, "do_normalize": False}


def fraction_near_colour(frames: torch.Tensor, colour, tolerance: float = 40.0) -> torch.Tensor:
    """Per frame, the fraction of pixels within `tolerance` of `colour` in every channel; frames (T, 3, H, W) in
    0-255."""
    target = torch.tensor(colour, dtype=frames.dtype).view(1, 3, 1, 1)
    return ((frames - target).abs() <= tolerance).all(dim=1).float().mean(dim=(1, 2))


def test_default_output_is_30_normalised_224_frames(box_clip):
    pixels = TACFNVideoProcessor()(str(box_clip.path), landmarks=box_clip.csv)["pixel_values_videos"]
    assert pixels.shape == (1, 30, 3, 224, 224) and pixels.dtype == torch.float32
    expected = (torch.tensor(BOX_COLOUR) / 255 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor(
        [0.229, 0.224, 0.225]
    )
    centre = pixels[0, :, :, 112, 112]  # (30, 3)
    torch.testing.assert_close(centre, expected.expand(30, 3), atol=0.15, rtol=0)


def test_frames_are_sampled_at_the_published_times():
    # t_i = i * duration / 30 -> frame floor(i * total / 30)
    np.testing.assert_array_equal(sample_frame_indices(90, 30, "clip"), np.arange(0, 90, 3))
    np.testing.assert_array_equal(sample_frame_indices(45, 30, "clip")[:6], [0, 1, 3, 4, 6, 7])
    np.testing.assert_array_equal(sample_frame_indices(100, 4, "clip"), [0, 25, 50, 75])


def test_frame_array_sampling_picks_the_published_frames():
    # frame k is filled with the value k, so each output frame tells which input frame it came from
    frames = np.broadcast_to(np.arange(45, dtype=np.uint8)[:, None, None, None], (45, 8, 8, 3)).copy()
    pixels = TACFNVideoProcessor(do_face_crop=False, size={"height": 8, "width": 8}, **RAW)(frames)
    picked = pixels["pixel_values_videos"][0, :, 0, 0, 0]
    np.testing.assert_array_equal(picked.numpy(), (np.arange(30) * 45) // 30)


def test_landmark_crop_follows_the_face_frame_by_frame(box_clip):
    processor = TACFNVideoProcessor(size={"height": 64, "width": 64}, **RAW)
    cropped = processor(box_clip.path, landmarks=box_clip.csv)["pixel_values_videos"][0]
    whole = processor(box_clip.path, do_face_crop=False)["pixel_values_videos"][0]
    # every crop is (almost) all rectangle, although it jumps between two places; whole frames are mostly background
    assert fraction_near_colour(cropped, BOX_COLOUR).min() > 0.95
    assert fraction_near_colour(whole, BOX_COLOUR).max() < 0.4


def test_landmark_crop_is_the_published_box_of_the_matched_frame(box_clip):
    """Exact pixels: decode the sampled frames independently, cut floor(min)..floor(max) of the landmarks, resize."""
    import cv2
    import decord

    processor = TACFNVideoProcessor(size={"height": 48, "width": 40}, **RAW)
    pixels = processor(box_clip.path, landmarks=box_clip.csv)["pixel_values_videos"][0]
    indices = (np.arange(30) * NUM_FRAMES) // 30
    frames = decord.VideoReader(str(box_clip.path)).get_batch(indices.tolist()).asnumpy()
    landmarks = media.face_landmarks(NUM_FRAMES, box_clip.boxes)[indices]
    for position, (frame, points) in enumerate(zip(frames, landmarks)):
        left, top = np.floor(points.min(axis=0)).astype(int)
        right, bottom = np.floor(points.max(axis=0)).astype(int)
        expected = cv2.resize(frame[top:bottom, left:right], (40, 48), interpolation=cv2.INTER_LINEAR)
        actual = pixels[position].permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(actual, expected.astype(np.float32))


def test_landmark_rows_are_matched_by_time_not_by_row_number(box_clip, tmp_path):
    # OpenFace run at twice the video frame rate: row r shows video frame r // 2
    doubled = np.repeat(media.face_landmarks(NUM_FRAMES, box_clip.boxes), 2, axis=0)
    csv = media.write_openface_csv(tmp_path / "doubled.csv", doubled, fps=2 * FPS)
    processor = TACFNVideoProcessor(size={"height": 64, "width": 64}, **RAW)
    expected = processor(box_clip.path, landmarks=box_clip.csv)["pixel_values_videos"]
    torch.testing.assert_close(processor(box_clip.path, landmarks=csv)["pixel_values_videos"], expected)


def test_landmark_columns_are_found_by_name_not_position(box_clip, tmp_path):
    # a CSV without the eye-landmark columns moves x_0..y_67 some 280 columns to the left
    eye_columns = [name for name in OPENFACE_2_COLUMNS if name.startswith("eye_lmk_")]
    landmarks = media.face_landmarks(NUM_FRAMES, box_clip.boxes)
    csv = media.write_openface_csv(tmp_path / "short.csv", landmarks, FPS, drop_columns=eye_columns)
    processor = TACFNVideoProcessor(size={"height": 64, "width": 64}, **RAW)
    torch.testing.assert_close(
        processor(box_clip.path, landmarks=csv)["pixel_values_videos"],
        processor(box_clip.path, landmarks=box_clip.csv)["pixel_values_videos"],
    )


def test_rows_where_tracking_failed_are_skipped(box_clip, tmp_path):
    landmarks = media.face_landmarks(NUM_FRAMES, box_clip.boxes)
    success = np.ones(NUM_FRAMES, dtype=int)
    success[::2] = 0  # OpenFace lost the face on even frames...
    landmarks[::2] = 0.0  # ...and wrote zeros there
    csv = media.write_openface_csv(tmp_path / "gaps.csv", landmarks, FPS, success=success)
    track = LandmarkTrack(str(csv), np.arange(NUM_FRAMES) / FPS, None, landmarks, success.astype(bool))
    rows = match_landmark_rows(track, np.array([0, 1, 2, 3]), FPS)
    assert (rows % 2 == 1).all() and np.abs(rows - np.array([0, 1, 2, 3])).max() <= 1
    pixels = TACFNVideoProcessor(size={"height": 32, "width": 32}, **RAW)(box_clip.path, landmarks=csv)
    assert pixels["pixel_values_videos"].shape == (1, 30, 3, 32, 32)


def test_landmark_arrays_work_with_frame_arrays(box_clip):
    landmarks = media.face_landmarks(NUM_FRAMES, box_clip.boxes)
    processor = TACFNVideoProcessor(size={"height": 64, "width": 64}, **RAW)
    pixels = processor(box_clip.frames, landmarks=landmarks)["pixel_values_videos"][0]
    assert fraction_near_colour(pixels, BOX_COLOUR).min() > 0.97


def test_pre_crop_size_scales_frames_and_landmarks_together(box_clip):
    processor = TACFNVideoProcessor(size={"height": 64, "width": 64}, pre_crop_size={"height": 60, "width": 80}, **RAW)
    from_file = processor(box_clip.path, landmarks=box_clip.csv)["pixel_values_videos"][0]
    from_array = processor(box_clip.frames, landmarks=media.face_landmarks(NUM_FRAMES, box_clip.boxes))
    assert fraction_near_colour(from_file, BOX_COLOUR).min() > 0.9
    assert fraction_near_colour(from_array["pixel_values_videos"][0], BOX_COLOUR).min() > 0.9


def test_face_detector_finds_the_drawn_face(face_clip):
    import decord

    frames = decord.VideoReader(str(face_clip)).get_batch(list(range(0, 30, 3))).asnumpy()
    box = detect_face_box(frames, num_detection_frames=3, max_side=320)
    true_box = np.array([110, 50, 210, 190])
    overlap = np.maximum(0, np.minimum(box[2:], true_box[2:]) - np.maximum(box[:2], true_box[:2])).prod()
    union = np.prod(box[2:] - box[:2]) + np.prod(true_box[2:] - true_box[:2]) - overlap
    assert overlap / union > 0.5, box
    # with the detector box, the middle of every crop is skin
    pixels = TACFNVideoProcessor(size={"height": 32, "width": 32}, **RAW)(face_clip)["pixel_values_videos"][0]
    assert fraction_near_colour(pixels[:, :, 12:20, 6:10], (224, 172, 140)).min() > 0.9


def test_no_face_falls_back_to_a_centre_square_with_a_warning():
    frames = np.random.default_rng(0).integers(0, 255, (12, 40, 80, 3), dtype=np.uint8)
    frames[:, :, :20] = 0  # the outer quarters are black, the centre square is noise
    frames[:, :, 60:] = 0
    processor = TACFNVideoProcessor(num_frames=6, size={"height": 40, "width": 40}, **RAW)
    with pytest.warns(UserWarning, match="no face detected"):
        pixels = processor(frames)["pixel_values_videos"][0]
    expected = torch.from_numpy(frames[(np.arange(6) * 12) // 6][:, :, 20:60]).permute(0, 3, 1, 2).float()
    torch.testing.assert_close(pixels, expected)


def test_augmentation_is_identical_across_the_frames_of_a_clip():
    still = np.random.default_rng(1).integers(0, 255, (1, 50, 60, 3), dtype=np.uint8).repeat(20, axis=0)
    processor = TACFNVideoProcessor(num_frames=8, size={"height": 32, "width": 32}, do_face_crop=False, **RAW)
    plain = processor(still)["pixel_values_videos"][0]
    torch.manual_seed(0)
    draws = [processor(still, do_augment=True)["pixel_values_videos"][0] for _ in range(4)]
    for augmented in draws:
        for frame in augmented[1:]:
            torch.testing.assert_close(frame, augmented[0], atol=0, rtol=0)
    assert all(not torch.equal(augmented, plain) for augmented in draws)
    assert not torch.equal(draws[0], draws[1])


def test_augmentation_is_reproducible_from_the_torch_seed(box_clip):
    processor = TACFNVideoProcessor(num_frames=8, size={"height": 32, "width": 32}, do_augment=True)
    torch.manual_seed(7)
    first = processor(box_clip.frames, landmarks=media.face_landmarks(NUM_FRAMES, box_clip.boxes))
    torch.manual_seed(7)
    second = processor(box_clip.frames, landmarks=media.face_landmarks(NUM_FRAMES, box_clip.boxes))
    torch.testing.assert_close(first["pixel_values_videos"], second["pixel_values_videos"], atol=0, rtol=0)


def test_augmentation_window_follows_torchvision_random_resized_crop():
    image = torch.zeros(3, 224, 224)
    for seed in range(20):
        torch.manual_seed(seed)
        top, left, height, width = torchvision.transforms.RandomResizedCrop.get_params(
            image, [0.8, 1.4], [3 / 4, 4 / 3]
        )
        flip = bool(torch.rand(()) < 0.5)
        torch.manual_seed(seed)
        augmentation = draw_clip_augmentation(224, 224, (0.8, 1.4), (3 / 4, 4 / 3), 0.5)
        assert (augmentation.top, augmentation.left, augmentation.height, augmentation.width) == (top, left, height, width)
        assert augmentation.flip == flip


def test_certain_flip_mirrors_every_frame():
    frames = np.random.default_rng(2).integers(0, 255, (10, 24, 24, 3), dtype=np.uint8)
    processor = TACFNVideoProcessor(num_frames=5, size={"height": 24, "width": 24}, do_face_crop=False, **RAW)
    plain = processor(frames)["pixel_values_videos"]
    flipped = processor(
        frames, do_augment=True, augment_scale=(1.0, 1.0), augment_ratio=(1.0, 1.0), flip_probability=1.0
    )["pixel_values_videos"]
    torch.testing.assert_close(flipped, plain.flip(-1), atol=0, rtol=0)


def test_bgr_reverses_the_channels_before_normalising():
    frames = np.random.default_rng(3).integers(0, 255, (10, 16, 16, 3), dtype=np.uint8)
    processor = TACFNVideoProcessor(num_frames=5, size={"height": 16, "width": 16}, do_face_crop=False)
    rgb = processor(frames)["pixel_values_videos"]
    bgr = processor(frames, channel_order="bgr")["pixel_values_videos"]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 1, 3, 1, 1)
    # undo the normalisation: BGR pixels normalised with the same (RGB-order) statistics, as published
    torch.testing.assert_close((bgr * std + mean).flip(2), rgb * std + mean, atol=1e-5, rtol=0)


def test_tiny_preset_and_channels_first_and_torch_inputs(box_clip):
    processor = TACFNVideoProcessor(num_frames=8, size={"height": 32, "width": 32}, do_face_crop=False)
    last = processor(box_clip.frames)["pixel_values_videos"]
    first = processor(torch.from_numpy(box_clip.frames).permute(0, 3, 1, 2))["pixel_values_videos"]
    assert last.shape == (1, 8, 3, 32, 32)
    torch.testing.assert_close(first, last, atol=0, rtol=0)
    batch = processor(np.stack([box_clip.frames, box_clip.frames[::-1]]), return_tensors="np")["pixel_values_videos"]
    assert isinstance(batch, np.ndarray) and batch.shape == (2, 8, 3, 32, 32)


def test_short_clips_repeat_frames_with_a_warning(ten_frame_clip):
    processor = TACFNVideoProcessor(do_face_crop=False, size={"height": 16, "width": 16})
    with pytest.warns(UserWarning, match="only 10 frames"):
        pixels = processor(ten_frame_clip)["pixel_values_videos"]
    assert pixels.shape == (1, 30, 3, 16, 16)
    torch.testing.assert_close(pixels[0, 0], pixels[0, 1], atol=0, rtol=0)  # frames 0, 0, 0, 1, 1, 1, ...


def test_settings_round_trip_through_save_and_load(tmp_path):
    processor = TACFNVideoProcessor(
        num_frames=12,
        size={"height": 48, "width": 40},
        resample=3,
        channel_order="bgr",
        pre_crop_size={"height": 224, "width": 224},
        do_augment=True,
        augment_scale=(0.5, 1.0),
        flip_probability=0.25,
        image_mean=[0.5, 0.5, 0.5],
        num_detection_frames=3,
        detection_max_side=320,
    )
    processor.save_pretrained(tmp_path)
    loaded = TACFNVideoProcessor.from_pretrained(tmp_path)
    assert loaded.to_dict() == processor.to_dict()
    assert loaded.size == SizeDict(height=48, width=40) and loaded.pre_crop_size == SizeDict(height=224, width=224)


@pytest.mark.parametrize(
    "frames, message",
    [
        (np.zeros((10, 16, 16), dtype=np.uint8), "4-D"),
        (np.zeros((2, 10, 16, 16, 3, 1), dtype=np.uint8), "4-D"),
        (np.zeros((10, 16, 16, 4), dtype=np.uint8), "3 colour channels"),
        (np.zeros((10, 16, 16, 1), dtype=np.uint8), "3 colour channels"),
        (np.zeros((10, 16, 16, 3), dtype=np.float32), "uint8"),
        (np.zeros((0, 16, 16, 3), dtype=np.uint8), "at least one frame"),
        ([], "empty list"),
        (42, "path, a frame array"),
    ],
)
def test_bad_frame_arrays_raise_value_errors(frames, message):
    with pytest.raises(ValueError, match=message):
        TACFNVideoProcessor(do_face_crop=False)(frames)


def test_bad_landmarks_raise_value_errors(box_clip, tmp_path):
    processor = TACFNVideoProcessor(size={"height": 16, "width": 16})
    landmarks = media.face_landmarks(NUM_FRAMES, box_clip.boxes)
    no_columns = media.write_openface_csv(
        tmp_path / "pose_only.csv", landmarks, FPS, drop_columns=[f"x_{index}" for index in range(68)]
    )
    with pytest.raises(ValueError, match=r"pose_only.csv.*lacks the OpenFace 2-D landmark columns \[x_0, x_1"):
        processor(box_clip.path, landmarks=no_columns)
    other_clip = media.write_openface_csv(tmp_path / "half_second.csv", landmarks[:8], FPS)
    with pytest.raises(ValueError, match="does not cover the video"):
        processor(box_clip.path, landmarks=other_clip)
    never_tracked = media.write_openface_csv(tmp_path / "lost.csv", landmarks, FPS, success=[0] * NUM_FRAMES)
    with pytest.raises(ValueError, match="no row where the face was tracked"):
        processor(box_clip.path, landmarks=never_tracked)
    header_only = tmp_path / "header_only.csv"
    header_only.write_text(", ".join(OPENFACE_2_COLUMNS) + "\n")
    with pytest.raises(ValueError, match="no rows"):
        processor(box_clip.path, landmarks=header_only)
    with pytest.raises(ValueError, match="outside the 160x120 frame"):
        processor(box_clip.path, landmarks=landmarks + 1000)
    with pytest.raises(ValueError, match=r"expected \(num_video_frames, 68, 2\)"):
        processor(box_clip.path, landmarks=landmarks[:, :60])
    with pytest.raises(ValueError, match="landmark CSV .* does not exist"):
        processor(box_clip.path, landmarks=tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="2 landmark entries for 1 videos"):
        processor([box_clip.path], landmarks=[box_clip.csv, box_clip.csv])


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"channel_order": "rbg"}, "channel_order"),
        ({"num_frames": 0}, "num_frames"),
        ({"size": {"height": 0, "width": 4}}, "positive integers"),
        ({"size": 224}, "dict"),
        ({"resample": 9}, "resample"),
        ({"augment_scale": (1.2, 0.8)}, "augment_scale"),
        ({"flip_probability": 2.0}, "flip_probability"),
        ({"image_std": (0.2, 0.0, 0.2)}, "image_std"),
        ({"do_facecrop": False}, "unknown settings"),
    ],
)
def test_impossible_settings_are_rejected_at_construction_and_per_call(settings, message):
    with pytest.raises(ValueError, match=message):
        TACFNVideoProcessor(**settings)
    with pytest.raises(ValueError, match=message):
        TACFNVideoProcessor(do_face_crop=False)(np.zeros((4, 8, 8, 3), dtype=np.uint8), **settings)


def test_outputs_are_contiguous(box_clip):
    processor = TACFNVideoProcessor(num_frames=4, size={"height": 16, "width": 16})
    assert processor(box_clip.path, landmarks=box_clip.csv)["pixel_values_videos"].is_contiguous()
    outputs = processor(box_clip.frames, do_face_crop=False, channel_order="bgr", return_tensors="np")
    assert outputs["pixel_values_videos"].flags.c_contiguous
