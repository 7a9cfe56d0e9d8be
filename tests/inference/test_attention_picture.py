"""The attention picture: alpha upsampled onto the right part of the right frames, rows in time order, frames
recovered from model inputs, and clear errors for wrong input."""

import os

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from inference.attention_picture import (
    frame_slices,
    frames_from_pixel_values,
    plot_attention_picture,
    shown_frames,
    upsample_fusion_weights,
)
from tests.inference.conftest import tiny_processor


os.environ["HF_HUB_OFFLINE"] = "1"


def one_hot_weights(time: int, height: int, width: int, hot: tuple) -> np.ndarray:
    """Fusion weights that put all of the clip's weight on one position `hot` = (slice, row, column)."""
    weights = np.zeros((time, height, width), dtype=np.float32)
    weights[hot] = 1.0
    return weights


def test_upsampling_puts_a_cell_on_the_matching_block_of_the_frame():
    heat = upsample_fusion_weights(one_hot_weights(2, 3, 3, (1, 0, 2)), (48, 48))
    assert heat.shape == (2, 48, 48)
    assert heat[0].max() == 0
    row, column = np.unravel_index(heat[1].argmax(), heat[1].shape)
    assert row < 16 and column >= 32  # top-right block of a 3x3 grid over 48x48
    assert heat[1, :16, 32:].sum() > 0.5 * heat[1].sum()


def test_upsampling_keeps_a_uniform_map_uniform():
    heat = upsample_fusion_weights(torch.full((2, 7, 7), 1 / 98), (224, 224))
    np.testing.assert_allclose(heat, 1 / 98, rtol=1e-6)


def test_frames_fall_into_time_slices_in_order():
    assert frame_slices(30, 2).tolist() == [0] * 15 + [1] * 15
    assert frame_slices(12, 3).tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert np.bincount(frame_slices(30, 4)).tolist() == [8, 7, 8, 7]
    with pytest.raises(ValueError, match="cannot spread 2 frames over 3 time slices"):
        frame_slices(2, 3)


def test_shown_frames_span_the_slice():
    assert shown_frames(np.arange(15, 30), 6).tolist() == [15, 18, 21, 23, 26, 29]
    assert shown_frames(np.arange(4), 6).tolist() == [0, 1, 2, 3]


def hot_pixel_rows(path) -> np.ndarray:
    """Row indices of the PNG's pixels in the bright yellow end of the colour map (where alpha peaks), left of the
    colour bar."""
    image = imread(path)[..., :3]
    image = image[:, : int(0.85 * image.shape[1])]
    hot = (image[..., 0] > 0.9) & (image[..., 1] > 0.85) & (image[..., 2] < 0.75)
    return np.nonzero(hot)[0]


def test_picture_shows_the_weight_in_the_row_of_its_time_slice(tmp_path):
    frames = np.full((12, 48, 48, 3), 90, dtype=np.uint8)
    late = plot_attention_picture(frames, one_hot_weights(2, 3, 3, (1, 1, 1)), tmp_path / "late.png")
    early = plot_attention_picture(frames, one_hot_weights(2, 3, 3, (0, 1, 1)), tmp_path / "early.png")
    height = imread(late).shape[0]
    late_rows, early_rows = hot_pixel_rows(late), hot_pixel_rows(early)
    assert len(late_rows) > 100 and len(early_rows) > 100
    assert late_rows.min() > height / 2  # only in the lower row (slice 1)
    assert early_rows.max() < height / 2 + 0.05 * height  # only in the upper row (slice 0)


def test_picture_has_one_row_per_time_slice(tmp_path):
    frames = np.full((12, 48, 48, 3), 90, dtype=np.uint8)
    weights = np.random.default_rng(0).dirichlet(np.ones(27)).reshape(3, 3, 3).astype(np.float32)
    three = imread(plot_attention_picture(frames, weights, tmp_path / "three.png", frames_per_row=4))
    one = imread(
        plot_attention_picture(frames, weights[:1] / weights[:1].sum(), tmp_path / "one.png", frames_per_row=4)
    )
    assert three.shape[1] == one.shape[1]
    assert three.shape[0] > 2 * one.shape[0]


def test_picture_of_a_pipeline_output(classifier, clips, tmp_path):
    output = classifier(str(clips.mp4), return_fusion_weights=True, top_k=3)
    path = plot_attention_picture(
        output["frames"], output["fusion_weights"], tmp_path / "clip.png", output["predictions"], title="talking.mp4"
    )
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 600
    assert image[..., :3].std() > 0.05


@pytest.mark.parametrize("channel_order", ["rgb", "bgr"])
def test_frames_from_pixel_values_undo_the_processor(clips, channel_order):
    processor = tiny_processor()
    inputs = processor(
        videos=clips.frames,
        audio=clips.audio[0],
        sampling_rate=48000,
        channel_order=channel_order,
        return_tensors="pt",
    )
    processor.video_processor.channel_order = channel_order
    frames = frames_from_pixel_values(inputs["pixel_values_videos"], processor.video_processor)
    raw = processor(
        videos=clips.frames,
        audio=clips.audio[0],
        sampling_rate=48000,
        do_rescale=False,
        do_normalize=False,
        channel_order="rgb",
        return_tensors="pt",
    )["pixel_values_videos"]
    expected = raw.permute(0, 1, 3, 4, 2).round().to(torch.uint8).numpy()  # (1, frames, height, width, 3) RGB
    assert frames.shape == expected.shape == (1, 12, 48, 48, 3)
    assert np.abs(frames.astype(int) - expected.astype(int)).max() <= 1


def test_bad_input_is_refused_with_the_reason(tmp_path):
    frames = np.zeros((12, 48, 48, 3), dtype=np.uint8)
    weights = np.full((2, 3, 3), 1 / 18, dtype=np.float32)
    with pytest.raises(ValueError, match="frames must be uint8 RGB"):
        plot_attention_picture(frames.astype(np.float32), weights, tmp_path / "a.png")
    with pytest.raises(ValueError, match="shape \\(time, height, width\\) for one clip"):
        plot_attention_picture(frames, weights[None], tmp_path / "a.png")
    with pytest.raises(ValueError, match="finite and non-negative"):
        plot_attention_picture(frames, -weights, tmp_path / "a.png")
    with pytest.raises(ValueError, match="cannot spread 12 frames over 13 time slices"):
        plot_attention_picture(frames, np.full((13, 3, 3), 1 / 117, dtype=np.float32), tmp_path / "a.png")
    with pytest.raises(ValueError, match="folder .*missing.* does not exist"):
        plot_attention_picture(frames, weights, tmp_path / "missing" / "a.png")
    with pytest.raises(ValueError, match="pixel_values_videos must have shape"):
        frames_from_pixel_values(torch.zeros(12, 48, 48), tiny_processor().video_processor)
    assert not list(tmp_path.iterdir())
