"""Checking and splitting the video processor's inputs: frame arrays, sizes, batches of clips and the per-clip
arguments beside them, and how a clip is named in messages."""

import os
from typing import Optional

import numpy as np
import torch
from transformers.image_utils import SizeDict

from .media_io_tacfn import Clip


def check_frame_array(clip, name: str) -> np.ndarray:
    """
    Check a clip given as frames and return it as uint8 (frames, height, width, 3).

    Args:
        clip (`np.ndarray` or `torch.Tensor`): uint8 RGB frames, channels last or first.
        name (`str`): How to call the clip in errors.
    """
    array = clip.detach().cpu().numpy() if isinstance(clip, torch.Tensor) else np.asarray(clip)
    if array.ndim != 4:
        raise ValueError(
            f"{name} has shape {array.shape}: frames must be 4-D (frames, height, width, 3) or "
            "(frames, 3, height, width)."
        )
    if array.shape[-1] != 3 and array.shape[1] == 3:
        # (frames, 3, height, width) -> (frames, height, width, 3)
        array = array.transpose(0, 2, 3, 1)
    if array.shape[-1] != 3:
        raise ValueError(f"{name} has shape {array.shape}: frames must have 3 colour channels (RGB).")
    if array.dtype != np.uint8:
        raise ValueError(
            f"{name} has frames of type {array.dtype}; pass uint8 RGB values in [0, 255] "
            "(e.g. (frames * 255).round().astype(np.uint8) for floats in [0, 1])."
        )
    if array.shape[0] == 0 or array.shape[1] < 2 or array.shape[2] < 2:
        raise ValueError(f"{name} has shape {array.shape}: it needs at least one frame of at least 2x2 pixels.")
    return array


def as_size_dict(size, name: str) -> Optional[SizeDict]:
    """`{"height": h, "width": w}` (or a `SizeDict`) -> `SizeDict`; `None` stays `None`."""
    if size is None or isinstance(size, SizeDict):
        return size
    if not isinstance(size, dict) or set(size) != {"height", "width"}:
        raise ValueError(f"{name} must be a dict {{'height': int, 'width': int}}, got {size!r}.")
    if not all(isinstance(value, int) and value >= 1 for value in size.values()):
        raise ValueError(f"{name} must hold positive integers, got {size!r}.")
    return SizeDict(height=size["height"], width=size["width"])


def as_list_of_videos(videos) -> list:
    """Split the accepted video layouts into a list with one entry (path or frame array) per clip."""
    if isinstance(videos, (str, os.PathLike)):
        return [videos]
    if isinstance(videos, (list, tuple)):
        if len(videos) == 0:
            raise ValueError("videos is an empty list; pass at least one clip.")
        return list(videos)
    if isinstance(videos, (np.ndarray, torch.Tensor)):
        if videos.ndim == 5:
            return list(videos)
        return [videos]
    raise ValueError(f"videos must be a path, a frame array or a list of them, got {type(videos).__name__}.")


def one_entry_per_clip(entries, num_clips: int, what: str) -> list:
    """Spread a per-clip argument (landmarks, audio) over the clips: `None` gives `None` for every clip, a list or tuple
    must hold one entry per clip, and anything else is the entry of the only clip. `what` names the argument in
    errors."""
    if entries is None:
        return [None] * num_clips
    if isinstance(entries, (list, tuple)):
        if len(entries) != num_clips:
            raise ValueError(f"got {len(entries)} {what} entries for {num_clips} videos; give one per video.")
        return list(entries)
    if num_clips != 1:
        raise ValueError(f"got one {what} entry for {num_clips} videos; pass a list with one entry per video.")
    return [entries]


def describe_clip(clip, index: int) -> str:
    """Name of a clip for messages: its path, or its position in the batch."""
    if isinstance(clip, Clip):
        return f"video {clip.info.path!r}"
    if isinstance(clip, (str, os.PathLike)):
        return f"video {os.fspath(clip)!r}"
    return f"videos[{index}]"
