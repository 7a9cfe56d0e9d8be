"""The training augmentation of one clip: a random resized crop of its resized face crops and a horizontal flip, drawn
once and applied to every frame alike. The video processor applies it to a clip decoded from its file
(`do_augment=True`); training from a prepared clip store, which holds those resized face crops, applies the same draw
to a whole batch on the training device, so that the same seed gives the same crops either way."""

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torchvision.transforms.v2 import RandomResizedCrop


@dataclass(frozen=True)
class ClipAugmentation:
    """One clip's random resized crop, in pixels of an image of the output size, and whether the clip is flipped.

    Attributes:
        top, left: The crop's first row and column.
        height, width: The crop's size; the crop lies inside the image.
        image_height, image_width: The output size the crop was drawn on.
        flip: Whether every frame is mirrored left to right after cropping.
    """

    top: int
    left: int
    height: int
    width: int
    image_height: int
    image_width: int
    flip: bool



def draw_clip_augmentation(
    image_height: int, image_width: int, scale: tuple, ratio: tuple, flip_probability: float
) -> ClipAugmentation:
    """Draw one clip's augmentation from torch's global generator: the crop by torchvision's
    `RandomResizedCrop.get_params` on an image of the output size (crop area `scale` of it, aspect ratio `ratio`), then
    the flip, with probability `flip_probability`, in that order."""
    # only the image's size matters: a zero-stride view of one element
    image = torch.empty(()).expand(1, image_height, image_width)
    top, left, height, width = RandomResizedCrop.get_params(image, list(scale), list(ratio))
    flip = bool(torch.rand(()) < flip_probability)
    return ClipAugmentation(top, left, height, width, image_height, image_width, flip)


def augment_crops(crops: np.ndarray, augmentation: ClipAugmentation, interpolation: int) -> np.ndarray:
    """Apply one clip's augmentation to its face crops: cut the crop out of every frame, enlarge it back to the frame
    size with the OpenCV `interpolation`, then flip; (T, H, W, 3) uint8 -> the same shape."""
    height, width = crops.shape[1:3]
    top, left = augmentation.top, augmentation.left
    cut = crops[:, top : top + augmentation.height, left : left + augmentation.width]
    resized = np.stack([cv2.resize(frame, (width, height), interpolation=interpolation) for frame in cut])
    return resized[:, :, ::-1] if augmentation.flip else resized
