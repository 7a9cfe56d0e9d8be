"""Video processor for TACFN: a clip -> `num_frames` face crops, resized, rescaled and normalised."""

import math
import os
import warnings
from functools import lru_cache
from typing import Optional, TypedDict, Union

import cv2
import numpy as np
import torch
from transformers import BatchFeature
from transformers.image_utils import SizeDict
from transformers.utils import TensorType
from transformers.video_processing_utils import BaseVideoProcessor

from .media_io_tacfn import LandmarkTrack, read_landmark_csv, read_video_frames


try:
    import dlib
except ImportError:
    dlib = None


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHANNEL_ORDERS = ("rgb", "bgr")
# PIL resampling filter numbers (as `PILImageResampling` stores them) -> OpenCV interpolation flags
CV2_INTERPOLATIONS = {
    0: cv2.INTER_NEAREST,
    1: cv2.INTER_LANCZOS4,
    2: cv2.INTER_LINEAR,
    3: cv2.INTER_CUBIC,
    4: cv2.INTER_AREA,
}
# a sampled frame whose nearest tracked landmark row is further away than this many frames means the CSV does not
# belong to the video
MAX_LANDMARK_GAP_FRAMES = 30
# torchvision's RandomResizedCrop gives up sampling after this many tries and takes a centred crop
AUGMENT_ATTEMPTS = 10


class TACFNVideoProcessorKwargs(TypedDict, total=False):
    """Settings of [`TACFNVideoProcessor`]; every one can be given at construction or per call (see the class doc)."""

    num_frames: int
    size: dict
    resample: int
    do_face_crop: bool
    pre_crop_size: Optional[dict]
    num_detection_frames: int
    detection_max_side: int
    do_augment: bool
    augment_scale: tuple
    augment_ratio: tuple
    flip_probability: float
    channel_order: str
    do_rescale: bool
    rescale_factor: float
    do_normalize: bool
    image_mean: tuple
    image_std: tuple
    return_tensors: Optional[Union[str, TensorType]]


class TACFNVideoProcessor(BaseVideoProcessor):
    r"""
    Turns a talking-face clip into TACFN's video input `pixel_values_videos` of shape (batch, num_frames, 3, height,
    width), following the published RAVDESS preprocessing: `num_frames` frames sampled uniformly over the clip (frame
    `floor(i * total / num_frames)` for i = 0..num_frames-1, i.e. times `i * duration / num_frames`), the face cropped
    from every frame, resized, rescaled to [0, 1] and normalised with ImageNet statistics.

    The face box comes from, in this order of preference:
    1. `landmarks` given with the clip: an OpenFace CSV (68 2-D landmarks `x_0..x_67`, `y_0..y_67` selected by header
       name, the row nearest in time to each sampled frame) or an array (num_video_frames, 68, 2); each frame is
       cropped to the bounding box of its landmarks, as published;
    2. otherwise dlib's HOG frontal face detector (shipped inside the `dlib-bin` wheel, no download) run on a few of
       the sampled frames, whose median box crops every frame of the clip; a clip without a detected face is centre
       cropped to a square, with a warning;
    3. `do_face_crop=False`: whole frames.

    Args:
        num_frames (`int`, *optional*, defaults to 30):
            Frames sampled per clip. Clips with fewer frames repeat frames (with a warning).
        size (`dict[str, int]`, *optional*, defaults to `{"height": 224, "width": 224}`):
            Output frame size.
        resample (`int` or `PILImageResampling`, *optional*, defaults to 2 (bilinear)):
            Filter used to resize face crops: 0 nearest, 1 Lanczos, 2 bilinear, 3 bicubic, 4 box (area).
        do_face_crop (`bool`, *optional*, defaults to `True`):
            Crop the face (from landmarks or the detector) before resizing; `False` resizes whole frames.
        pre_crop_size (`dict[str, int]`, *optional*):
            Scale whole frames to this size while decoding, before cropping. The published preprocessing decoded
            RAVDESS at 224x224 and cropped the face from that; set `{"height": 224, "width": 224}` to reproduce it for
            converted original weights. Landmarks are scaled along with the frames.
        num_detection_frames (`int`, *optional*, defaults to 5):
            Sampled frames, spread over the clip, on which the face detector runs.
        detection_max_side (`int`, *optional*, defaults to 640):
            Frames are scaled down to at most this many pixels on their longer side for detection.
        do_augment (`bool`, *optional*, defaults to `False`):
            Training augmentation: one random resized crop (torchvision `RandomResizedCrop` semantics, relative to the
            face crop) and one random horizontal flip, drawn once per clip and applied to every frame alike. Random
            numbers come from torch's generator, which DataLoader seeds differently in each worker.
        augment_scale (`tuple[float, float]`, *optional*, defaults to `(0.8, 1.4)`):
            Range of the crop area relative to the face crop (the published training transform's values).
        augment_ratio (`tuple[float, float]`, *optional*, defaults to `(3/4, 4/3)`):
            Range of the crop's aspect ratio (width / height, in output pixels).
        flip_probability (`float`, *optional*, defaults to 0.5):
            Probability of flipping a clip horizontally when augmenting.
        channel_order (`str`, *optional*, defaults to `"rgb"`):
            `"rgb"`, or `"bgr"` as the published code fed its model (needed by converted original weights).
            `image_mean` / `image_std` apply to the channels in this output order.
        do_rescale (`bool`, *optional*, defaults to `True`):
            Multiply pixel values by `rescale_factor`.
        rescale_factor (`float`, *optional*, defaults to 1/255):
            Rescaling factor.
        do_normalize (`bool`, *optional*, defaults to `True`):
            Subtract `image_mean` and divide by `image_std`.
        image_mean (`tuple[float, float, float]`, *optional*, defaults to the ImageNet mean):
            Per-channel mean.
        image_std (`tuple[float, float, float]`, *optional*, defaults to the ImageNet standard deviation):
            Per-channel standard deviation.
    """

    valid_kwargs = TACFNVideoProcessorKwargs
    model_input_names = ["pixel_values_videos"]

    num_frames = 30
    size = {"height": 224, "width": 224}
    resample = 2
    do_face_crop = True
    pre_crop_size = None
    num_detection_frames = 5
    detection_max_side = 640
    do_augment = False
    augment_scale = (0.8, 1.4)
    augment_ratio = (3 / 4, 4 / 3)
    flip_probability = 0.5
    channel_order = "rgb"
    do_rescale = True
    rescale_factor = 1 / 255
    do_normalize = True
    image_mean = IMAGENET_MEAN
    image_std = IMAGENET_STD

    def __init__(self, **kwargs):
        unknown = sorted(set(kwargs) - set(self.valid_kwargs.__annotations__) - {"video_processor_type", "auto_map"})
        if unknown:
            raise ValueError(f"{self.__class__.__name__} got unknown settings {unknown}.")
        super().__init__(**kwargs)
        self._validate_settings(self._current_settings())

    def _standardize_kwargs(self, size=None, pre_crop_size=None, image_mean=None, image_std=None, **kwargs) -> dict:
        """Bring settings to one form: sizes as `SizeDict`, sequences as tuples."""
        kwargs["size"] = _as_size(size, "size")
        kwargs["pre_crop_size"] = _as_size(pre_crop_size, "pre_crop_size")
        kwargs["image_mean"] = tuple(image_mean) if image_mean is not None else None
        kwargs["image_std"] = tuple(image_std) if image_std is not None else None
        for name in ("augment_scale", "augment_ratio"):
            if kwargs.get(name) is not None:
                kwargs[name] = tuple(kwargs[name])
        return kwargs

    def preprocess(self, videos, landmarks=None, **kwargs) -> BatchFeature:
        """
        Preprocess one clip or a batch of clips.

        Args:
            videos (`str`, `os.PathLike`, `np.ndarray`, `torch.Tensor` or a list of those):
                A video file (mp4, avi, mov, mkv, ...), decoded with PyAV, or frames as a uint8 RGB array (frames,
                height, width, 3) or (frames, 3, height, width); a list of them, or a 5-D array, is a batch.
            landmarks (`str`, `os.PathLike`, `np.ndarray` or a list of those, *optional*):
                Per clip: an OpenFace landmark CSV, an array (num_video_frames, 68, 2) of (x, y) pixel positions in
                the clip's stored frame size, or `None` (use the face detector). A list must have one entry per clip.
            kwargs:
                Any setting of the class (see its doc) for this call only, and `return_tensors` (`"pt"` default,
                `"np"`).

        Returns:
            [`BatchFeature`] with `pixel_values_videos` of shape (batch, num_frames, 3, height, width), float32.
        """
        return_tensors = kwargs.pop("return_tensors", None) or TensorType.PYTORCH
        settings = self._current_settings(**kwargs)
        self._validate_settings(settings)
        clips = as_list_of_videos(videos)
        clip_landmarks = one_entry_per_clip(landmarks, len(clips), "landmark")
        processed = [
            self.process_clip(clip, clip_landmark, settings, name=_describe(clip, index))
            for index, (clip, clip_landmark) in enumerate(zip(clips, clip_landmarks))
        ]
        # list of (num_frames, 3, height, width) -> (batch, num_frames, 3, height, width)
        pixel_values = torch.stack(processed)
        return BatchFeature({"pixel_values_videos": pixel_values}, tensor_type=return_tensors)

    def process_clip(self, clip, landmarks, settings: dict, name: str) -> torch.Tensor:
        """
        Sample, crop, resize and normalise one clip.

        Args:
            clip (`str`, `os.PathLike`, `np.ndarray` or `torch.Tensor`): A video file or a frame array.
            landmarks (`str`, `os.PathLike`, `np.ndarray` or `None`): The clip's landmarks (see `preprocess`).
            settings (`dict`): Complete settings, as `_current_settings` returns them.
            name (`str`): How to call the clip in warnings and errors.

        Returns:
            `torch.Tensor` of shape (num_frames, 3, height, width), float32.
        """
        frames, indices, fps, stored_size = self._sample_frames(clip, settings, name)
        boxes = self._face_boxes(frames, indices, fps, stored_size, landmarks, settings, name)
        flip = False
        if settings["do_augment"]:
            boxes = _apply_window(boxes, _sample_augment_window(settings))
            flip = bool(torch.rand(()) < settings["flip_probability"])
        size = settings["size"]
        interpolation = CV2_INTERPOLATIONS[int(settings["resample"])]
        # (num_frames, height, width, 3) uint8
        crops = np.stack([_crop_and_resize(frame, box, size, interpolation) for frame, box in zip(frames, boxes)])
        if flip:
            crops = crops[:, :, ::-1]
        if settings["channel_order"] == "bgr":
            crops = crops[..., ::-1]
        return self._rescale_and_normalize(crops, settings)

    def _sample_frames(self, clip, settings: dict, name: str):
        """Decode (or pick) the sampled frames: returns the frames (a sequence of T uint8 (H, W, 3) arrays), their
        indices (T,), the clip's frame rate (`None` for arrays) and its stored (height, width)."""
        pre_crop = settings["pre_crop_size"]
        pre_crop = (pre_crop.height, pre_crop.width) if pre_crop is not None else None
        if isinstance(clip, (str, os.PathLike)):
            frames, indices, info = read_video_frames(
                clip, lambda total: sample_frame_indices(total, settings["num_frames"], name), pre_crop
            )
            return frames, indices, info.fps, (info.height, info.width)
        array = check_frame_array(clip, name)
        indices = sample_frame_indices(len(array), settings["num_frames"], name)
        frames = array[indices]
        if pre_crop is not None:
            frames = [cv2.resize(frame, pre_crop[::-1], interpolation=cv2.INTER_CUBIC) for frame in frames]
        return frames, indices, None, array.shape[1:3]

    def _face_boxes(self, frames, indices, fps, stored_size, landmarks, settings: dict, name: str) -> np.ndarray:
        """Crop box `(left, top, right, bottom)` in pixels of the decoded frames for every sampled frame, (T, 4)."""
        height, width = frames[0].shape[:2]
        if not settings["do_face_crop"]:
            return np.tile(np.array([0, 0, width, height], dtype=np.float64), (len(frames), 1))
        if landmarks is not None:
            track = _as_landmark_track(landmarks, name)
            rows = match_landmark_rows(track, indices, fps)
            # stored-pixel landmarks -> decoded-pixel landmarks (they differ with pre_crop_size)
            scale = np.array([width / stored_size[1], height / stored_size[0]])
            return landmark_boxes(track.points[rows] * scale, (height, width), track.path, rows)
        box = detect_face_box(frames, settings["num_detection_frames"], settings["detection_max_side"])
        if box is None:
            warnings.warn(f"no face detected in {name}; using a centred square crop instead.")
            box = _centre_square(height, width)
        return np.tile(box, (len(frames), 1))

    def _rescale_and_normalize(self, crops: np.ndarray, settings: dict) -> torch.Tensor:
        """uint8 (T, H, W, 3) -> float32 (T, 3, H, W), rescaled and normalised in one multiply-add."""
        # contiguous while still uint8: a channels-last float tensor would keep its strides through the arithmetic
        video = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).contiguous().to(torch.float32)
        scale = settings["rescale_factor"] if settings["do_rescale"] else 1.0
        if settings["do_normalize"]:
            mean = torch.tensor(settings["image_mean"], dtype=torch.float32).view(1, 3, 1, 1)
            std = torch.tensor(settings["image_std"], dtype=torch.float32).view(1, 3, 1, 1)
            return video * (scale / std) - mean / std
        return video * scale

    def _current_settings(self, **overrides) -> dict:
        """The instance's settings with per-call `overrides` applied, in standard form."""
        unknown = sorted(set(overrides) - set(self.valid_kwargs.__annotations__))
        if unknown:
            raise ValueError(f"{self.__class__.__name__} got unknown settings {unknown}.")
        names = [name for name in self.valid_kwargs.__annotations__ if name != "return_tensors"]
        settings = {name: overrides.get(name, getattr(self, name)) for name in names}
        return self._standardize_kwargs(**settings)

    def _validate_settings(self, settings: dict) -> None:
        """Raise `ValueError` for settings that cannot be applied."""
        name = self.__class__.__name__
        if not isinstance(settings["num_frames"], int) or settings["num_frames"] < 1:
            raise ValueError(f"{name}: num_frames must be a positive integer, got {settings['num_frames']!r}.")
        if settings["channel_order"] not in CHANNEL_ORDERS:
            raise ValueError(
                f"{name}: channel_order must be one of {CHANNEL_ORDERS}, got {settings['channel_order']!r}."
            )
        if int(settings["resample"]) not in CV2_INTERPOLATIONS:
            raise ValueError(
                f"{name}: resample must be one of {sorted(CV2_INTERPOLATIONS)}, got {settings['resample']!r}."
            )
        for key in ("image_mean", "image_std"):
            if settings["do_normalize"] and (settings[key] is None or len(settings[key]) != 3):
                raise ValueError(f"{name}: {key} must hold 3 values (one per channel), got {settings[key]!r}.")
        if settings["do_normalize"] and min(settings["image_std"]) <= 0:
            raise ValueError(f"{name}: image_std must be positive, got {settings['image_std']!r}.")
        for key in ("augment_scale", "augment_ratio"):
            low, high = settings[key]
            if not 0 < low <= high:
                raise ValueError(f"{name}: {key} must be (low, high) with 0 < low <= high, got {settings[key]!r}.")
        if not 0 <= settings["flip_probability"] <= 1:
            raise ValueError(f"{name}: flip_probability must be in [0, 1], got {settings['flip_probability']!r}.")
        if settings["num_detection_frames"] < 1 or settings["detection_max_side"] < 32:
            raise ValueError(f"{name}: num_detection_frames must be >= 1 and detection_max_side >= 32.")


def sample_frame_indices(total_frames: int, num_frames: int, name: str) -> np.ndarray:
    """
    Indices of `num_frames` frames spread uniformly over a clip of `total_frames` frames: `floor(i * total_frames /
    num_frames)`, the frames shown at the published times `i * duration / num_frames`. Shorter clips repeat frames,
    with a warning.

    Args:
        total_frames (`int`): Frames in the clip.
        num_frames (`int`): Frames wanted.
        name (`str`): How to call the clip in the warning.

    Returns:
        `np.ndarray` of shape (num_frames,), int64, non-decreasing.
    """
    if total_frames < num_frames:
        warnings.warn(
            f"{name} has only {total_frames} frames, fewer than the {num_frames} sampled; frames are repeated."
        )
    return (np.arange(num_frames, dtype=np.int64) * total_frames) // num_frames


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


def match_landmark_rows(track: LandmarkTrack, frame_indices: np.ndarray, fps: Optional[float]) -> np.ndarray:
    """
    For every sampled frame, the landmark row nearest to it in time among the rows where OpenFace tracked the face.

    Rows are matched by `timestamp` when the CSV has it and the clip's frame rate is known, else by `frame` number,
    else row `k` belongs to frame `k`.

    Args:
        track (`LandmarkTrack`): The landmarks.
        frame_indices (`np.ndarray`): Sampled frame indices, shape (T,).
        fps (`float`, *optional*): Frame rate of the clip; `None` for frame arrays.

    Returns:
        `np.ndarray` of row indices, shape (T,). Raises `ValueError` when no row tracked the face or when a frame is
        more than `MAX_LANDMARK_GAP_FRAMES` frames from every tracked row (the CSV belongs to another clip).
    """
    tracked = np.flatnonzero(track.success)
    if len(tracked) == 0:
        raise ValueError(f"landmark CSV {track.path!r} has no row where the face was tracked (success = 1).")
    if track.timestamps is not None and fps:
        # row times and frame times, both in frames
        row_positions, frame_positions = track.timestamps[tracked] * fps, frame_indices.astype(np.float64)
    elif track.frame_numbers is not None:
        row_positions, frame_positions = track.frame_numbers[tracked], frame_indices + 1.0
    else:
        row_positions, frame_positions = tracked.astype(np.float64), frame_indices.astype(np.float64)
    # (T, tracked rows) distances -> nearest tracked row per frame
    distances = np.abs(frame_positions[:, None] - row_positions[None, :])
    nearest = distances.argmin(axis=1)
    gaps = distances[np.arange(len(frame_indices)), nearest]
    if gaps.max() > MAX_LANDMARK_GAP_FRAMES:
        worst = int(gaps.argmax())
        raise ValueError(
            f"landmark CSV {track.path!r} does not cover the video: frame {int(frame_indices[worst])} is "
            f"{gaps[worst]:.0f} frames away from the nearest tracked row; is it the CSV of another clip?"
        )
    return tracked[nearest]


def landmark_boxes(points: np.ndarray, frame_size: tuple, source: str, rows: np.ndarray) -> np.ndarray:
    """
    Bounding boxes of landmarks, truncated to whole pixels as the published code did and clipped to the frame.

    Args:
        points (`np.ndarray`): (x, y) landmarks in frame pixels, shape (T, 68, 2).
        frame_size (`tuple[int, int]`): (height, width) of the frames.
        source (`str`): Where the landmarks come from, for errors.
        rows (`np.ndarray`): The landmark rows used, shape (T,), for errors.

    Returns:
        `np.ndarray` of shape (T, 4) with `(left, top, right, bottom)`. Raises `ValueError` for a box that is empty
        after clipping (landmarks outside the frame).
    """
    height, width = frame_size
    # (T, 68, 2) -> (T, 2) corners
    low = np.floor(points.min(axis=1))
    high = np.floor(points.max(axis=1))
    boxes = np.concatenate([low, high], axis=1)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    empty = (boxes[:, 2] - boxes[:, 0] < 2) | (boxes[:, 3] - boxes[:, 1] < 2)
    if empty.any():
        row = int(rows[int(np.argmax(empty))])
        raise ValueError(
            f"landmarks from {source!r} (row {row}) give a face box outside the {width}x{height} frame or under "
            "2 pixels; do they belong to this video?"
        )
    return boxes


@lru_cache(maxsize=1)
def _face_detector():
    """dlib's HOG frontal face detector, built once per process."""
    if dlib is None:
        raise ValueError(
            "face detection needs dlib (pip install dlib-bin); alternatively pass landmarks or do_face_crop=False."
        )
    return dlib.get_frontal_face_detector()


def detect_face_box(frames: np.ndarray, num_detection_frames: int, max_side: int) -> Optional[np.ndarray]:
    """
    One face box for a clip: the median of the largest face dlib's HOG detector finds in each of a few frames.

    Args:
        frames (`np.ndarray` or a list of arrays): T uint8 RGB frames of shape (H, W, 3).
        num_detection_frames (`int`): How many frames, spread over the clip, to run the detector on.
        max_side (`int`): Frames are scaled down to at most this many pixels on their longer side first.

    Returns:
        `np.ndarray` `(left, top, right, bottom)` in frame pixels, clipped to the frame, or `None` when no frame
        shows a face.
    """
    detector = _face_detector()
    height, width = frames[0].shape[:2]
    scale = min(1.0, max_side / max(height, width))
    picks = np.unique(np.linspace(0, len(frames) - 1, min(num_detection_frames, len(frames))).round().astype(int))
    found = []
    for frame in (frames[pick] for pick in picks):
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        if scale < 1.0:
            gray = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        faces = detector(gray, 0)
        if len(faces) > 0:
            largest = max(faces, key=lambda face: face.width() * face.height())
            found.append([largest.left(), largest.top(), largest.right(), largest.bottom()])
    if not found:
        return None
    box = np.median(np.array(found, dtype=np.float64), axis=0) / scale
    box[[0, 2]] = box[[0, 2]].clip(0, width)
    box[[1, 3]] = box[[1, 3]].clip(0, height)
    return box if box[2] - box[0] >= 2 and box[3] - box[1] >= 2 else None


def _centre_square(height: int, width: int) -> np.ndarray:
    """The largest centred square `(left, top, right, bottom)` of a frame."""
    side = min(height, width)
    left, top = (width - side) // 2, (height - side) // 2
    return np.array([left, top, left + side, top + side], dtype=np.float64)


def _sample_augment_window(settings: dict) -> tuple:
    """
    Draw one random resized crop window with torchvision `RandomResizedCrop.get_params` semantics on an image of the
    output size, and return it as fractions `(left, top, width, height)` of that image.
    """
    out_height, out_width = settings["size"].height, settings["size"].width
    area = out_height * out_width
    scale_low, scale_high = settings["augment_scale"]
    log_low, log_high = math.log(settings["augment_ratio"][0]), math.log(settings["augment_ratio"][1])
    for _ in range(AUGMENT_ATTEMPTS):
        target_area = area * torch.empty(()).uniform_(scale_low, scale_high).item()
        aspect = math.exp(torch.empty(()).uniform_(log_low, log_high).item())
        crop_width = int(round(math.sqrt(target_area * aspect)))
        crop_height = int(round(math.sqrt(target_area / aspect)))
        if 0 < crop_width <= out_width and 0 < crop_height <= out_height:
            top = int(torch.randint(0, out_height - crop_height + 1, ()).item())
            left = int(torch.randint(0, out_width - crop_width + 1, ()).item())
            return left / out_width, top / out_height, crop_width / out_width, crop_height / out_height
    # no window fitted: torchvision's fallback, a centred crop with the aspect ratio clamped to the allowed range
    ratio = out_width / out_height
    crop_width, crop_height = out_width, out_height
    if ratio < settings["augment_ratio"][0]:
        crop_height = int(round(crop_width / settings["augment_ratio"][0]))
    elif ratio > settings["augment_ratio"][1]:
        crop_width = int(round(crop_height * settings["augment_ratio"][1]))
    left, top = (out_width - crop_width) // 2, (out_height - crop_height) // 2
    return left / out_width, top / out_height, crop_width / out_width, crop_height / out_height


def _apply_window(boxes: np.ndarray, window: tuple) -> np.ndarray:
    """Shrink every box (T, 4) to the same fractional window `(left, top, width, height)` of itself."""
    left, top, fraction_width, fraction_height = window
    box_width = boxes[:, 2] - boxes[:, 0]
    box_height = boxes[:, 3] - boxes[:, 1]
    new_left = boxes[:, 0] + left * box_width
    new_top = boxes[:, 1] + top * box_height
    return np.stack(
        [new_left, new_top, new_left + fraction_width * box_width, new_top + fraction_height * box_height], axis=1
    )


def _crop_and_resize(frame: np.ndarray, box: np.ndarray, size: SizeDict, interpolation: int) -> np.ndarray:
    """Cut `box` (left, top, right, bottom) out of a uint8 frame (whole pixels) and resize it to `size`."""
    height, width = frame.shape[:2]
    left = int(min(max(math.floor(box[0]), 0), width - 1))
    top = int(min(max(math.floor(box[1]), 0), height - 1))
    right = int(max(min(math.floor(box[2]), width), left + 1))
    bottom = int(max(min(math.floor(box[3]), height), top + 1))
    return cv2.resize(frame[top:bottom, left:right], (size.width, size.height), interpolation=interpolation)


def _as_size(size, name: str) -> Optional[SizeDict]:
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


def _as_landmark_track(landmarks, name: str) -> LandmarkTrack:
    """A CSV path or an array (num_video_frames, 68, 2) -> `LandmarkTrack` (array row k belongs to frame k)."""
    if isinstance(landmarks, (str, os.PathLike)):
        return read_landmark_csv(landmarks)
    points = landmarks.detach().cpu().numpy() if isinstance(landmarks, torch.Tensor) else np.asarray(landmarks)
    if points.ndim != 3 or points.shape[1:] != (68, 2) or points.shape[0] == 0:
        raise ValueError(
            f"landmarks of {name} have shape {points.shape}; expected (num_video_frames, 68, 2) or an OpenFace CSV "
            "path."
        )
    if not np.issubdtype(points.dtype, np.number) or not np.all(np.isfinite(points)):
        raise ValueError(f"landmarks of {name} must be finite numbers.")
    success = np.ones(len(points), dtype=bool)
    return LandmarkTrack(f"landmarks of {name}", None, None, points.astype(np.float32), success)


def _describe(clip, index: int) -> str:
    """Name of a clip for messages: its path, or its position in the batch."""
    if isinstance(clip, (str, os.PathLike)):
        return f"video {os.fspath(clip)!r}"
    return f"videos[{index}]"
