"""Video processor for TACFN: a clip -> `num_frames` face crops, resized, rescaled and normalised."""

import os
from typing import Any, Optional, TypedDict, Union

import cv2
import numpy as np
import torch
from transformers import BatchFeature
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, PILImageResampling
from transformers.utils import TensorType
from transformers.video_processing_utils import BaseVideoProcessor

from .augmentation_tacfn import augment_crops, draw_clip_augmentation
from .frame_boxes_tacfn import (
    check_region, crop_and_resize, face_boxes, jpeg_round_trip, published_frame_indices, region_box,
    sample_frame_indices,
)  # fmt: skip
from .media_io_tacfn import Clip, check_time_window, read_clip
from .video_inputs_tacfn import as_list_of_videos, as_size_dict, check_frame_array, describe_clip, one_entry_per_clip


CHANNEL_ORDERS = ("rgb", "bgr")
FRAME_SAMPLINGS = ("uniform", "published")
FACE_BOX_SOURCES = ("landmark_model", "detector")
LANDMARK_ROWS = ("matched", "published")
CV2_INTERPOLATIONS = {
    PILImageResampling.NEAREST: cv2.INTER_NEAREST,
    PILImageResampling.LANCZOS: cv2.INTER_LANCZOS4,
    PILImageResampling.BILINEAR: cv2.INTER_LINEAR,
    PILImageResampling.BICUBIC: cv2.INTER_CUBIC,
    PILImageResampling.BOX: cv2.INTER_AREA,
}
# the per-call inputs among the keyword arguments: they describe one call's clips, not the processor
CALL_INPUTS = ("landmarks", "video_start", "video_end", "frame_region", "return_crop_sources")


class TACFNVideoProcessorKwargs(TypedDict, total=False):
    """Settings of [`TACFNVideoProcessor`] (every one can be given at construction or per call, see the class doc),
    its per-call inputs (`CALL_INPUTS`), and the keys `BaseVideoProcessor.preprocess` passes along."""

    num_frames: int
    size: Any
    resample: int
    do_face_crop: bool
    face_box_source: str
    pre_crop_size: Any
    num_detection_frames: int
    detection_max_side: int
    do_augment: bool
    augment_scale: Union[tuple, list]
    augment_ratio: Union[tuple, list]
    flip_probability: Union[float, int]
    channel_order: str
    frame_sampling: str
    landmark_rows: str
    jpeg_round_trip: bool
    do_rescale: bool
    rescale_factor: Union[float, int]
    do_normalize: bool
    image_mean: Union[tuple, list]
    image_std: Union[tuple, list]
    landmarks: Any
    video_start: Optional[Union[float, int]]
    video_end: Optional[Union[float, int]]
    frame_region: Optional[Union[str, tuple, list]]
    return_crop_sources: Optional[bool]
    return_tensors: Optional[Union[str, TensorType]]
    do_convert_rgb: Optional[bool]
    do_sample_frames: Optional[bool]
    input_data_format: Any
    data_format: Any
    device: Any
    video_metadata: Any
    return_metadata: Optional[bool]


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
    2. otherwise, with the `faces` extra installed (`pip install tacfn[faces]`), the 68 landmarks of dlib's shape
       predictor, followed and smoothed over the sampled frames (see `face_landmarks_tacfn`), each frame cropped to
       their bounding box as with a CSV (frames where they fail get the detector's box, with a warning);
    3. otherwise dlib's HOG frontal face detector (shipped inside the `dlib-bin` wheel, no download) run on a few of
       the sampled frames, whose median box crops every frame of the clip; a clip without a detected face is centre
       cropped to a square, with a warning;
    4. `do_face_crop=False`: whole frames.
    `return_crop_sources=True` in a call adds `crop_sources`, which of these each clip used (`CROP_SOURCES`).

    Settings merging, saving and loading are `BaseVideoProcessor`'s: defaults are class attributes, and this class
    overrides its hooks `_standardize_kwargs`, `_validate_preprocess_kwargs`, `sample_frames` and `_preprocess`.
    Decoding runs inside `_preprocess`, since it depends on the settings (`pre_crop_size`, the time window).

    Args:
        num_frames (`int`, *optional*, defaults to 30):
            Frames sampled per clip. Clips with fewer frames repeat frames (with a warning).
        size (`dict[str, int]`, *optional*, defaults to `{"height": 224, "width": 224}`):
            Output frame size.
        resample (`int` or `PILImageResampling`, *optional*, defaults to `PILImageResampling.BILINEAR`):
            Filter used to resize face crops: 0 nearest, 1 Lanczos, 2 bilinear, 3 bicubic, 4 box (area).
        do_face_crop (`bool`, *optional*, defaults to `True`):
            Crop the face (from landmarks or the detector) before resizing; `False` resizes whole frames.
        face_box_source (`str`, *optional*, defaults to `"landmark_model"`):
            For clips without landmarks: `"landmark_model"` (the 68-point model when installed, else the detector) or
            `"detector"` (the detector's median box even when the model is installed).
        pre_crop_size (`dict[str, int]`, *optional*):
            Scale whole frames to this size while decoding, before cropping. The published preprocessing decoded
            RAVDESS at 224x224 and cropped the face from that; set `{"height": 224, "width": 224}` to reproduce it for
            converted original weights. Landmarks are scaled along with the frames.
        num_detection_frames (`int`, *optional*, defaults to 5):
            Sampled frames, spread over the clip, on which the face detector runs.
        detection_max_side (`int`, *optional*, defaults to 640):
            Frames are scaled down to at most this many pixels on their longer side for detection; a frame in which
            no face is found at that size is searched again at its own size (faces too small for the scaled frame).
        do_augment (`bool`, *optional*, defaults to `False`):
            Training augmentation: one random resized crop (torchvision `RandomResizedCrop.get_params`) of the
            resized face crops, enlarged back to `size` with `resample`, and one random horizontal flip, drawn once per
            clip and applied to every frame alike, as the published code augmented its stored 224x224 crops (and as
            training from a clip store does on the training device). Random numbers come from torch's global
            generator, which DataLoader seeds differently in each worker.
        augment_scale (`tuple[float, float]`, *optional*, defaults to `(0.8, 1.4)`):
            Range of the crop area relative to the face crop (the published training transform's values).
        augment_ratio (`tuple[float, float]`, *optional*, defaults to `(3/4, 4/3)`):
            Range of the crop's aspect ratio (width / height, in output pixels).
        flip_probability (`float`, *optional*, defaults to 0.5):
            Probability of flipping a clip horizontally when augmenting.
        channel_order (`str`, *optional*, defaults to `"rgb"`):
            `"rgb"`, or `"bgr"` as the published code fed its model (needed by converted original weights).
            `image_mean` / `image_std` apply to the channels in this output order.
        frame_sampling (`str`, *optional*, defaults to `"uniform"`):
            `"uniform"`: frame `floor(i * N / num_frames)` of N frames. `"published"`: frame `int(fps * i * D /
            num_frames)` (clamped to the last), moviepy's frame at time `i * D / num_frames`, D the container duration
            truncated to 10 ms as ffmpeg prints it (3.50 s for 3.5035 s); for whole files only (not windows, arrays).
        landmark_rows (`str`, *optional*, defaults to `"matched"`):
            `"matched"`: the landmark row of each frame. `"published"`: for sampled frame i, row `ceil(i * R /
            num_frames)` (clamped to R-1) of the R rows, one or two frames ahead. The published code also took the
            landmark columns by position, right only for the RAVDESS export layout; we select them by header name.
        jpeg_round_trip (`bool`, *optional*, defaults to `False`):
            Encode every resized crop as OpenCV's default JPEG (quality 95) and decode it, before flip, channel order
            and normalisation, as the published code stored its crops. It gave moviepy's RGB frames to `cv2.imwrite`,
            which takes BGR, so the encoder saw red and blue swapped; we hand the RGB crop to OpenCV unchanged to do
            the same (the JPEG colour transform and chroma subsampling treat red and blue differently).
        do_rescale (`bool`, *optional*, defaults to `True`):
            Multiply pixel values by `rescale_factor`.
        rescale_factor (`float`, *optional*, defaults to 1/255):
            Rescaling factor.
        do_normalize (`bool`, *optional*, defaults to `True`):
            Subtract `image_mean` and divide by `image_std`.
        image_mean (`tuple[float, float, float]`, *optional*, defaults to `IMAGENET_DEFAULT_MEAN`):
            Per-channel mean.
        image_std (`tuple[float, float, float]`, *optional*, defaults to `IMAGENET_DEFAULT_STD`):
            Per-channel standard deviation.
    """

    valid_kwargs = TACFNVideoProcessorKwargs
    model_input_names = ["pixel_values_videos"]

    num_frames = 30
    size = {"height": 224, "width": 224}
    resample = PILImageResampling.BILINEAR
    do_face_crop = True
    face_box_source = "landmark_model"
    pre_crop_size = None
    num_detection_frames = 5
    detection_max_side = 640
    do_augment = False
    augment_scale = (0.8, 1.4)
    augment_ratio = (3 / 4, 4 / 3)
    flip_probability = 0.5
    channel_order = "rgb"
    frame_sampling = "uniform"
    landmark_rows = "matched"
    jpeg_round_trip = False
    do_rescale = True
    rescale_factor = 1 / 255
    do_normalize = True
    image_mean = IMAGENET_DEFAULT_MEAN
    image_std = IMAGENET_DEFAULT_STD
    return_metadata = None

    def __init__(self, **kwargs):
        self.reject_unknown_kwargs(kwargs, also_allowed=("video_processor_type", "auto_map"))
        given_inputs = [name for name in CALL_INPUTS if kwargs.get(name) is not None]
        if given_inputs:
            raise ValueError(f"{self.__class__.__name__}: {given_inputs} describe one call's clips; pass them per call")
        super().__init__(**kwargs)
        self._validate_preprocess_kwargs(**{name: getattr(self, name) for name in self._valid_kwargs_names})

    def preprocess(self, videos, **kwargs) -> BatchFeature:
        """
        Preprocess one clip or a batch of clips.

        Args:
            videos (`str`, `os.PathLike`, `np.ndarray`, `torch.Tensor` or a list of those):
                A video file (mp4, avi, mov, mkv, ...), decoded with PyAV, or frames as a uint8 RGB array (frames,
                height, width, 3) or (frames, 3, height, width); a list of them, or a 5-D array, is a batch.
            landmarks (`str`, `os.PathLike`, `np.ndarray` or a list of those, *optional*):
                Per clip: an OpenFace landmark CSV, an array (num_video_frames, 68, 2) of (x, y) pixel positions in
                the clip's stored frame size, or `None` (use the face detector). A list must have one entry per clip.
            video_start, video_end (`float`, *optional*):
                A time window of every video file of the call, in seconds: frame i is the frame shown at `video_start
                + i * (video_end - video_start) / num_frames` (decoding seeks to the window). Times up to 0.5 s after
                the last frame get the last frame. Used for IEMOCAP utterances, which are spans of a dialog video.
            frame_region (`str` or `tuple[int, int, int, int]`, *optional*):
                The part of every frame to use, before anything else: `"left"` or `"right"` (half; the right half gets
                the extra column of an odd width) or a box `(left, top, right, bottom)` in stored pixels. Landmarks
                stay in whole-frame pixels. Used for IEMOCAP, whose dialog videos show the two actors side by side.
            kwargs:
                Any setting of the class (see its doc) for this call only, and `return_tensors` (`"pt"` default,
                `"np"`).

        Returns:
            [`BatchFeature`] with `pixel_values_videos` of shape (batch, num_frames, 3, height, width), float32.
        """
        self.reject_unknown_kwargs(kwargs, also_allowed=("return_tensors",))
        return super().preprocess(videos, **kwargs)

    def reject_unknown_kwargs(self, kwargs: dict, also_allowed: tuple) -> None:
        """Raise `ValueError` naming the keyword arguments that are neither settings nor per-call inputs."""
        unknown = sorted(set(kwargs) - set(self.valid_kwargs.__annotations__) - set(also_allowed))
        if unknown:
            raise ValueError(f"{self.__class__.__name__} got unknown settings {unknown}.")

    def _decode_and_sample_videos(self, videos, video_metadata=None, **kwargs):
        """The clips as given, one entry per clip: they are decoded in `_preprocess`, where the settings are known."""
        return as_list_of_videos(videos), video_metadata

    def _prepare_input_videos(self, videos, **kwargs) -> list:
        """The clips unchanged: files and frame arrays are read in `_preprocess`."""
        return videos

    def _standardize_kwargs(self, size=None, pre_crop_size=None, image_mean=None, image_std=None, **kwargs) -> dict:
        """Bring settings to one form: sizes as `SizeDict`, sequences as tuples."""
        kwargs["size"] = as_size_dict(size, "size")
        kwargs["pre_crop_size"] = as_size_dict(pre_crop_size, "pre_crop_size")
        kwargs["image_mean"] = tuple(image_mean) if image_mean is not None else None
        kwargs["image_std"] = tuple(image_std) if image_std is not None else None
        for name in ("augment_scale", "augment_ratio"):
            if kwargs.get(name) is not None:
                kwargs[name] = tuple(kwargs[name])
        if isinstance(kwargs.get("frame_region"), list):
            kwargs["frame_region"] = tuple(kwargs["frame_region"])
        return kwargs

    def _validate_preprocess_kwargs(self, **settings) -> None:
        """Raise `ValueError` for settings (or per-call inputs) that cannot be applied."""
        name = self.__class__.__name__
        if not isinstance(settings["num_frames"], int) or settings["num_frames"] < 1:
            raise ValueError(f"{name}: num_frames must be a positive integer, got {settings['num_frames']!r}.")
        if settings["channel_order"] not in CHANNEL_ORDERS:
            raise ValueError(
                f"{name}: channel_order must be one of {CHANNEL_ORDERS}, got {settings['channel_order']!r}."
            )
        choices = (
            ("frame_sampling", FRAME_SAMPLINGS), ("landmark_rows", LANDMARK_ROWS), ("face_box_source", FACE_BOX_SOURCES)
        )  # fmt: skip
        for key, allowed in choices:
            if settings[key] not in allowed:
                raise ValueError(f"{name}: {key} must be one of {allowed}, got {settings[key]!r}.")
        if settings["resample"] not in CV2_INTERPOLATIONS:
            raise ValueError(
                f"{name}: resample must be one of {[0, 1, 2, 3, 4]}, got {settings['resample']!r}."
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
        check_time_window(settings.get("video_start"), settings.get("video_end"))
        check_region(settings.get("frame_region"))

    def sample_frames(self, num_frames: int, total_frames=None, video_start=None, video_end=None, name: str = "clip"):
        """
        The frames to decode: with a time window, the times `video_start + i * (video_end - video_start) /
        num_frames`, shape (num_frames,) float64; otherwise the indices `floor(i * total_frames / num_frames)`, shape
        (num_frames,) int64 (see `sample_frame_indices`).
        """
        if video_start is not None:
            return video_start + np.arange(num_frames) * (video_end - video_start) / num_frames
        return sample_frame_indices(total_frames, num_frames, name)

    def load_clip(self, path, num_frames=None, pre_crop_size=None, video_start=None, video_end=None,
                  frame_region=None, audio_seconds=None, frame_sampling=None, allow_no_video=False) -> Clip:  # fmt: skip
        """
        Decode the sampled frames of a video file (and, with `audio_seconds`, the head of its audio track from the
        window's start) from one open container; settings left `None` are the processor's. Frames are scaled to
        `pre_crop_size` while decoding unless a `frame_region` is cut from them first. With `allow_no_video`, a file
        without a video stream gives a clip without frames (see `read_clip`).
        """
        num_frames = num_frames or self.num_frames
        published = (frame_sampling or self.frame_sampling) == "published"
        pre_crop = as_size_dict(pre_crop_size, "pre_crop_size") or self.pre_crop_size
        check_time_window(video_start, video_end)
        times = None if video_start is None else self.sample_frames(num_frames, None, video_start, video_end)
        name = describe_clip(path, 0)
        size = (pre_crop.height, pre_crop.width) if pre_crop is not None and frame_region is None else None

        def choose_indices(info):
            if published and info.fps and info.duration > 0:
                return published_frame_indices(info.duration, info.fps, info.num_frames, num_frames)
            return self.sample_frames(num_frames, info.num_frames, name=name)

        return read_clip(
            path, choose_indices, times, size, audio_seconds, audio_start=video_start or 0.0,
            allow_no_video=allow_no_video,
        )  # fmt: skip

    def _preprocess(
        self, videos: list, landmarks=None, return_tensors=None, return_crop_sources=None, **settings
    ) -> BatchFeature:
        """Decode (or pick), crop, resize and normalise every clip; `settings` are complete and standardized."""
        clip_landmarks = one_entry_per_clip(landmarks, len(videos), "landmark")
        processed = [
            self._process_clip(clip, clip_landmark, settings, name=describe_clip(clip, index))
            for index, (clip, clip_landmark) in enumerate(zip(videos, clip_landmarks))
        ]
        # list of (num_frames, 3, height, width) -> (batch, num_frames, 3, height, width)
        outputs = {"pixel_values_videos": torch.stack([video for video, _ in processed])}
        if return_crop_sources:
            outputs["crop_sources"] = [source for _, source in processed]
        return BatchFeature(
            outputs, tensor_type=return_tensors or TensorType.PYTORCH, skip_tensor_conversion=["crop_sources"]
        )

    def _process_clip(self, clip, landmarks, settings: dict, name: str) -> tuple[torch.Tensor, str]:
        """Sample, crop, resize and normalise one clip: (num_frames, 3, height, width) float32, and where its crop
        boxes came from (one of `CROP_SOURCES`)."""
        frames, indices, fps, area = self._sample_frames(clip, settings, name)
        boxes, source = face_boxes(frames, indices, fps, area, landmarks, settings, name)
        size = settings["size"]
        interpolation = CV2_INTERPOLATIONS[settings["resample"]]
        # (num_frames, height, width, 3) uint8
        crops = np.stack([crop_and_resize(frame, box, size, interpolation) for frame, box in zip(frames, boxes)])
        if settings["jpeg_round_trip"]:
            crops = np.stack([jpeg_round_trip(crop) for crop in crops])
        if settings["do_augment"]:
            keys = ("augment_scale", "augment_ratio", "flip_probability")
            augmentation = draw_clip_augmentation(size.height, size.width, *(settings[key] for key in keys))
            crops = augment_crops(crops, augmentation, interpolation)
        if settings["channel_order"] == "bgr":
            crops = crops[..., ::-1]
        # (T, H, W, 3) uint8 -> (T, 3, H, W) float32; contiguous while still uint8, so the arithmetic keeps no strides
        video = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).contiguous().to(torch.float32)
        keys = ("do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std")
        return self.rescale_and_normalize(video, *(settings[key] for key in keys)), source

    def _sample_frames(self, clip, settings: dict, name: str):
        """The sampled frames (T uint8 (H, W, 3) arrays), their indices (T,), the clip's frame rate (`None` for
        arrays) and the area `(left, top, right, bottom)` of the stored frame they show, in stored pixels."""
        if isinstance(clip, (str, os.PathLike)):
            keys = ("num_frames", "video_start", "video_end", "frame_region", "frame_sampling")
            window = {key: settings[key] for key in keys}
            clip = self.load_clip(clip, pre_crop_size=settings["pre_crop_size"], **window)
        if isinstance(clip, Clip):
            frames, indices, fps = clip.frames, clip.indices, clip.info.fps
            stored_size = (clip.info.height, clip.info.width)
        else:
            array = check_frame_array(clip, name)
            indices = sample_frame_indices(len(array), settings["num_frames"], name)
            frames, fps, stored_size = array[indices], None, array.shape[1:3]
        area = region_box(settings["frame_region"], stored_size)
        pre_crop = settings["pre_crop_size"]
        if settings["frame_region"] is not None:
            left, top, right, bottom = area
            frames = [frame[top:bottom, left:right] for frame in frames]
        if pre_crop is not None and frames[0].shape[:2] != (pre_crop.height, pre_crop.width):
            target = (pre_crop.width, pre_crop.height)
            frames = [cv2.resize(frame, target, interpolation=cv2.INTER_CUBIC) for frame in frames]
        return frames, indices, fps, area

