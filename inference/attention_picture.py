"""The attention picture: the face frames a TACFN model saw, with the audio-driven fusion weights alpha laid over them
(the model returns them as `attentions` with `output_attentions=True`, the pipeline as `"fusion_weights"`).

One row per time slice of the video feature map (2 for the published 30-frame model): the frames that slice covers,
each with alpha of that slice upsampled to the frame size and shown as a heat overlay (transparent where alpha is low),
and at the end of the row alpha itself on its (height, width) grid. One colour scale serves the whole picture, so rows
compare directly. Used by `tacfn predict --heatmap`, the web demo and the training report.
"""

from pathlib import Path

import matplotlib


matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402

from processing.pipeline_tacfn import processor_frames  # noqa: E402


COLORMAP = "inferno"
# opacity of the overlay where alpha reaches the top of the colour scale; it falls linearly to 0 with alpha
MAX_OVERLAY_OPACITY = 0.7
PANEL_INCHES = 1.6
# the weight grid shows its values when it is at most this many cells wide and high (they are unreadable beyond)
MAX_ANNOTATED_SIDE = 4


def upsample_fusion_weights(fusion_weights, size: tuple[int, int]) -> np.ndarray:
    """
    Bilinear upsampling of the fusion weights of every time slice to the frame size (half-pixel centres, so each
    feature-map cell covers the matching block of the frame).

    Args:
        fusion_weights (`np.ndarray` or `torch.Tensor` of shape `(time, height, width)`): alpha of one clip.
        size (`tuple[int, int]`): `(height, width)` of the frames.

    Returns:
        `np.ndarray` of float32 with shape `(time, size[0], size[1])`.
    """
    weights = _check_fusion_weights(fusion_weights)
    # (time, height, width) -> (time, 1, height, width), the layout F.interpolate expects
    upsampled = F.interpolate(
        torch.from_numpy(weights)[:, None], size=tuple(size), mode="bilinear", align_corners=False
    )
    return upsampled[:, 0].numpy()


def frame_slices(num_frames: int, num_slices: int) -> np.ndarray:
    """
    The time slice of the video feature map each input frame falls in: frame `f` of `num_frames` belongs to slice
    `floor(f * num_slices / num_frames)` (the encoder's strides shrink time evenly).

    Args:
        num_frames (`int`): Frames given to the model.
        num_slices (`int`): Time slices of the fusion weights.

    Returns:
        `np.ndarray` of int64 with shape `(num_frames,)`.
    """
    if num_slices < 1 or num_frames < num_slices:
        raise ValueError(f"cannot spread {num_frames} frames over {num_slices} time slices.")
    return (np.arange(num_frames) * num_slices) // num_frames


def shown_frames(slice_frames: np.ndarray, frames_per_row: int) -> np.ndarray:
    """
    Up to `frames_per_row` frame indices spread evenly over one slice's frames, first and last included.

    Args:
        slice_frames (`np.ndarray`): Indices of the frames of the slice, ascending.
        frames_per_row (`int`): Most frames to show.
    """
    if len(slice_frames) <= frames_per_row:
        return slice_frames
    picks = np.linspace(0, len(slice_frames) - 1, frames_per_row).round().astype(int)
    return slice_frames[picks]


def plot_attention_picture(
    frames,
    fusion_weights,
    path,
    predictions: list[dict] | None = None,
    title: str | None = None,
    frames_per_row: int = 6,
) -> Path:
    """
    Draw the attention picture of one clip and save it as a PNG.

    Args:
        frames (`np.ndarray` of shape `(num_frames, height, width, 3)`): The face frames the model saw, uint8 RGB (a
            pipeline output's `"frames"`, or [`frames_from_pixel_values`] of the model inputs).
        fusion_weights (`np.ndarray` or `torch.Tensor` of shape `(time, feature_height, feature_width)`): alpha of
            the clip (a pipeline output's `"fusion_weights"`, or the model's `attentions[i]`).
        path (`str` or `os.PathLike`): Where to write the PNG; its folder must exist.
        predictions (`list[dict]`, *optional*): `[{"label": str, "score": float}, ...]`, best first, shown in the
            title.
        title (`str`, *optional*): First line of the title, e.g. the clip's name.
        frames_per_row (`int`, *optional*, defaults to 6): Most frames shown per time slice, spread over the slice.

    Returns:
        The PNG's `Path`.
    """
    frames = _check_frames(frames)
    weights = _check_fusion_weights(fusion_weights)
    if frames_per_row < 1:
        raise ValueError(f"frames_per_row must be at least 1, got {frames_per_row}.")
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(
            f"cannot write the attention picture {str(path)!r}: folder {str(path.parent)!r} does not exist."
        )
    num_slices = len(weights)
    slices = frame_slices(len(frames), num_slices)
    heat = upsample_fusion_weights(weights, frames.shape[1:3])  # (time, frame height, frame width)
    norm = _weight_scale(weights)
    rows = [shown_frames(np.flatnonzero(slices == index), frames_per_row) for index in range(num_slices)]
    columns = max(len(row) for row in rows) + 1

    aspect = frames.shape[1] / frames.shape[2]
    figure, axes = plt.subplots(
        num_slices,
        columns,
        figsize=(PANEL_INCHES * columns + 0.8, PANEL_INCHES * aspect * num_slices + 1.0),
        squeeze=False,
        layout="constrained",
    )
    for slice_index, frame_indices in enumerate(rows):
        row_axes = axes[slice_index]
        for axis, frame_index in zip(row_axes, frame_indices):
            axis.imshow(frames[frame_index])
            axis.imshow(_overlay(heat[slice_index], norm))
            axis.set_title(f"frame {frame_index}", fontsize=8)
        for axis in row_axes[len(frame_indices) : columns - 1]:
            axis.set_visible(False)
        image = _draw_weight_grid(row_axes[-1], weights[slice_index], norm)
        first, last = np.flatnonzero(slices == slice_index)[[0, -1]]
        row_axes[0].set_ylabel(f"slice {slice_index}\nframes {first}-{last}", fontsize=9)
        for axis in row_axes:
            axis.set_xticks([])
            axis.set_yticks([])
    figure.colorbar(image, ax=axes, fraction=0.03, pad=0.02, label="fusion weight α")
    figure.suptitle(_title_text(title, predictions, weights), fontsize=10)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def frames_from_pixel_values(pixel_values_videos, video_processor) -> np.ndarray:
    """
    The displayable frames behind model inputs, for [`plot_attention_picture`] (e.g. in a training report that has
    `pixel_values_videos` and the model's `attentions` at hand).

    Args:
        pixel_values_videos (`torch.Tensor` of shape `(frames, 3, height, width)` or `(batch, frames, 3, height,
            width)`): Inputs made by `video_processor`.
        video_processor (`TACFNVideoProcessor`): The processor that made them (its normalisation and channel order
            are undone).

    Returns:
        `np.ndarray` of uint8 with shape `(..., frames, height, width, 3)`, RGB.
    """
    return processor_frames(torch.as_tensor(pixel_values_videos), video_processor)


def _weight_scale(weights: np.ndarray) -> Normalize:
    """The colour scale: from the clip's smallest to its largest weight, so that where the audio steered the video
    shows even when alpha is close to uniform (the colour bar gives the values)."""
    low, high = float(weights.min()), float(weights.max())
    return Normalize(vmin=low, vmax=high if high > low else low + 1e-12)


def _overlay(heat: np.ndarray, norm: Normalize) -> np.ndarray:
    """RGBA heat overlay (height, width, 4): colour from the colormap, opacity growing with alpha."""
    scaled = norm(heat).clip(0, 1)
    rgba = plt.get_cmap(COLORMAP)(scaled)
    rgba[..., 3] = MAX_OVERLAY_OPACITY * scaled
    return rgba


def _draw_weight_grid(axis, weights: np.ndarray, norm: Normalize):
    """alpha of one time slice on its own grid, values printed when the grid is small enough to read."""
    image = axis.imshow(weights, cmap=COLORMAP, norm=norm, interpolation="nearest")
    axis.set_title(f"α {weights.shape[0]}×{weights.shape[1]}", fontsize=8)
    if max(weights.shape) <= MAX_ANNOTATED_SIDE:
        for (row, column), value in np.ndenumerate(weights):
            colour = "black" if norm(value) > 0.6 else "white"
            axis.text(column, row, f"{value:.3g}", ha="center", va="center", fontsize=5, color=colour)
    return image


def _title_text(title: str | None, predictions: list[dict] | None, weights: np.ndarray) -> str:
    """The figure title: the caller's title, the top predictions with their scores, and the range of alpha."""
    lines = [title] if title else []
    if predictions:
        lines.append("predicted: " + ", ".join(f"{item['label']} {item['score']:.2f}" for item in predictions[:3]))
    lines.append(
        f"audio-driven fusion weights α over the face frames, one row per time slice: α from {weights.min():.4f} to "
        f"{weights.max():.4f} (uniform: {weights.mean():.4f})"
    )
    return "\n".join(lines)


def _check_frames(frames) -> np.ndarray:
    """Frames as uint8 (num_frames, height, width, 3), or a ValueError describing what is wrong."""
    array = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(
            f"frames must be uint8 RGB with shape (num_frames, height, width, 3), got {array.dtype} {array.shape}; "
            "use frames_from_pixel_values for model inputs."
        )
    if len(array) == 0:
        raise ValueError("frames is empty.")
    return array


def _check_fusion_weights(fusion_weights) -> np.ndarray:
    """Fusion weights as float32 (time, height, width), or a ValueError describing what is wrong."""
    if isinstance(fusion_weights, torch.Tensor):
        fusion_weights = fusion_weights.detach().to("cpu", torch.float32).numpy()
    weights = np.asarray(fusion_weights, dtype=np.float32)
    if weights.ndim != 3 or 0 in weights.shape:
        raise ValueError(
            f"fusion_weights must have shape (time, height, width) for one clip, got {weights.shape}; take one clip "
            "of the model's attentions (batch, time, height, width)."
        )
    if not np.all(np.isfinite(weights)) or weights.min() < 0:
        raise ValueError("fusion_weights must be finite and non-negative (softmax weights).")
    return weights
