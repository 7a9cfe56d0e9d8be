"""Boxes in a clip's frames: where the face is (OpenFace landmark CSVs read by column name and matched to frames by
time, the bounding boxes of landmarks as the published preprocessing cut them, dlib's HOG face detector for clips
without landmarks, a centred square when it finds none) and the frame region a call asks for; and the published
preprocessing's own frame and landmark-row rules and JPEG round trip (see the video processor's `frame_sampling`,
`landmark_rows` and `jpeg_round_trip`)."""

import math
import os
import warnings
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np
import torch
from transformers.image_utils import SizeDict

from .face_landmarks_tacfn import detect_faces, detection_picks, landmark_model_available, track_face_landmarks
from .media_io_tacfn import LANDMARK_COLUMNS, NUM_LANDMARKS, check_media_file


# a sampled frame whose nearest tracked landmark row is further away than this many frames means the CSV does not
# belong to the video
MAX_LANDMARK_GAP_FRAMES = 30
FRAME_HALVES = ("left", "right")
# where a clip's crop boxes come from: a landmark CSV, landmarks given as an array, the landmark model, the face
# detector's box, the centred square (no face found), the whole frame (`do_face_crop=False`)
CROP_SOURCES = ("csv", "landmark_array", "landmark_model", "detector", "centre", "whole_frame")
# the frame rate assumed for clips given as frame arrays, to time the landmark smoothing
ARRAY_FPS = 30.0


@dataclass
class LandmarkTrack:
    """68 facial landmarks per tracked video frame, read from an OpenFace CSV.

    Attributes:
        path: The CSV file.
        timestamps: Seconds of each row, shape (num_rows,); `None` without a `timestamp` column.
        frame_numbers: 1-based frame number of each row, shape (num_rows,); `None` without a `frame` column.
        points: (x, y) pixel positions, shape (num_rows, 68, 2).
        success: Whether OpenFace tracked the face in each row, shape (num_rows,).
    """

    path: str
    timestamps: Optional[np.ndarray]
    frame_numbers: Optional[np.ndarray]
    points: np.ndarray
    success: np.ndarray


def read_landmark_csv(path: str) -> LandmarkTrack:
    """Read the 68 2-D landmarks of every row of an OpenFace CSV, selecting the columns by header name.

    OpenFace writes ", " between fields, so header names are stripped. The columns `x_0..x_67` and `y_0..y_67` are
    required; `timestamp`, `frame` and `success` are used when present.

    Args:
        path: The CSV file.

    Returns:
        A `LandmarkTrack`. Raises `ValueError` for a missing or empty file, missing landmark columns, or values that
        are not numbers.
    """
    path = os.fspath(path)
    column = read_landmark_csv_header(path)
    wanted = list(LANDMARK_COLUMNS)
    optional = [name for name in ("timestamp", "frame", "success") if name in column]
    values = _load_csv_columns(path, [column[name] for name in wanted + optional])
    # (rows, 136) -> (rows, 68, 2) with x in [..., 0] and y in [..., 1]
    points = np.stack([values[:, :NUM_LANDMARKS], values[:, NUM_LANDMARKS : 2 * NUM_LANDMARKS]], axis=-1)
    extra = {name: values[:, 2 * NUM_LANDMARKS + offset] for offset, name in enumerate(optional)}
    success = extra["success"] > 0.5 if "success" in extra else np.ones(len(values), dtype=bool)
    return LandmarkTrack(path, extra.get("timestamp"), extra.get("frame"), points.astype(np.float32), success)


def read_landmark_csv_header(path: str) -> dict[str, int]:
    """Check that a CSV is an OpenFace landmark file without reading its rows: it has the 2-D landmark columns
    `x_0..x_67`, `y_0..y_67` (found by header name after stripping the spaces OpenFace writes after each comma) and at
    least one data row.

    Args:
        path: The CSV file.

    Returns:
        The position of every column by its stripped header name. Raises `ValueError`, naming the file and the problem,
        for a missing, empty or unreadable file, a header without rows, or missing landmark columns.
    """
    path = check_media_file(path, "landmark CSV")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            header = [name.strip() for name in handle.readline().split(",")]
            has_rows = bool(handle.readline().strip())
    except OSError as error:
        raise ValueError(f"landmark CSV {path!r} cannot be read ({error}).") from error
    if not has_rows:
        raise ValueError(f"landmark CSV {path!r} has a header but no rows.")
    column = {name: index for index, name in enumerate(header)}
    missing = [name for name in LANDMARK_COLUMNS if name not in column]
    if missing:
        raise ValueError(
            f"landmark CSV {path!r} lacks the OpenFace 2-D landmark columns {_shorten_column_list(missing)} "
            f"(found {len(header)} columns starting {header[:5]})."
        )
    return column


def _load_csv_columns(path: str, indices: list) -> np.ndarray:
    """Load the given columns of every data row of a CSV as float64, shape (rows, len(indices))."""
    try:
        values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=indices, ndmin=2, dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"landmark CSV {path!r} has malformed rows: {error}") from error
    if not np.all(np.isfinite(values)):
        raise ValueError(f"landmark CSV {path!r} holds NaN or infinite landmark values.")
    return values


def _shorten_column_list(names: list) -> str:
    """Short printable list of column names: the first few and how many more."""
    shown = ", ".join(names[:4])
    return f"[{shown}, ... {len(names) - 4} more]" if len(names) > 4 else f"[{shown}]"


def as_landmark_track(landmarks, name: str) -> LandmarkTrack:
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


def published_landmark_rows(track: LandmarkTrack, num_frames: int) -> np.ndarray:
    """The published landmark row of each sampled frame i = 0..num_frames-1: row `ceil(i * R / num_frames)` of the R
    rows of the landmarks, clamped to R-1, whatever frame was sampled; shape (num_frames,) int64."""
    num_rows = len(track.points)
    rows = -((-np.arange(num_frames, dtype=np.int64) * num_rows) // num_frames)
    return np.minimum(rows, num_rows - 1)


def sample_frame_indices(total_frames: int, num_frames: int, name: str) -> np.ndarray:
    """
    Indices of `num_frames` frames spread uniformly over a clip of `total_frames` frames: `floor(i * total_frames /
    num_frames)`, the frames shown at times `i * duration / num_frames` (the published code's exact rule is
    `published_frame_indices`). Shorter clips repeat frames, with a warning.

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


def published_frame_indices(duration: float, fps: float, total_frames: int, num_frames: int) -> np.ndarray:
    """The published frame choice: frame `int(fps * i * D / num_frames)` for i = 0..num_frames-1, the frame shown at
    time `i * D / num_frames` where D is the container `duration` truncated to 10 ms (as ffmpeg prints it and moviepy
    reads it), clamped to the last of `total_frames` frames; shape (num_frames,) int64."""
    published_duration = math.floor(duration * 100 + 1e-6) / 100
    times = np.arange(num_frames) * published_duration / num_frames
    return np.minimum(np.floor(fps * times).astype(np.int64), total_frames - 1)


def jpeg_round_trip(crop: np.ndarray) -> np.ndarray:
    """A uint8 crop (H, W, 3) written and read back as OpenCV's default JPEG (quality 95, 4:2:0), as `cv2.imwrite` /
    `cv2.imread` did in the published code. The channels are handed to OpenCV in the order given; OpenCV takes them as
    BGR (see the video processor's `jpeg_round_trip`)."""
    encoded = cv2.imencode(".jpg", crop)[1]
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


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
    height, width = frames[0].shape[:2]
    found = []
    for pick in detection_picks(len(frames), num_detection_frames):
        boxes = detect_faces(cv2.cvtColor(frames[pick], cv2.COLOR_RGB2GRAY), max_side)
        if len(boxes) > 0:
            found.append(boxes[np.argmax(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1))])
    if not found:
        return None
    box = np.median(np.array(found), axis=0)
    box[[0, 2]] = box[[0, 2]].clip(0, width)
    box[[1, 3]] = box[[1, 3]].clip(0, height)
    return box if box[2] - box[0] >= 2 and box[3] - box[1] >= 2 else None


def centre_square(height: int, width: int) -> np.ndarray:
    """The largest centred square `(left, top, right, bottom)` of a frame."""
    side = min(height, width)
    left, top = (width - side) // 2, (height - side) // 2
    return np.array([left, top, left + side, top + side], dtype=np.float64)


def check_region(region) -> None:
    """Raise `ValueError` unless `region` is `None`, a half (`"left"`, `"right"`) or a box of 4 whole pixels."""
    if region is None or region in FRAME_HALVES:
        return
    whole_pixels = all(isinstance(value, (int, np.integer)) for value in region)
    is_box = isinstance(region, tuple) and len(region) == 4 and whole_pixels
    if not is_box or not (0 <= region[0] < region[2] and 0 <= region[1] < region[3]):
        raise ValueError(
            f"frame_region must be one of {FRAME_HALVES} or (left, top, right, bottom) in pixels, got {region!r}."
        )


def region_box(region, stored_size: tuple) -> tuple:
    """The stored-pixel box `(left, top, right, bottom)` that `frame_region` names in a frame of `stored_size`."""
    height, width = stored_size
    if region is None:
        return 0, 0, width, height
    if region == "left":
        return 0, 0, width // 2, height
    if region == "right":
        return width // 2, 0, width, height
    if region[2] > width or region[3] > height:
        raise ValueError(f"frame_region {region!r} reaches outside the {width}x{height} frame.")
    return region


def face_boxes(frames: list, indices, fps, area: tuple, landmarks, settings: dict, name: str) -> tuple:
    """Crop box `(left, top, right, bottom)` in pixels of the decoded frames for every sampled frame, (T, 4), and where
    it came from (one of `CROP_SOURCES`): the whole frame without `do_face_crop`, the landmarks' box with `landmarks`
    (in the pixels of the stored frame, of which the frames show `area`), else the landmark model's, the detector's
    box or a centred square."""
    height, width = frames[0].shape[:2]
    if not settings["do_face_crop"]:
        return np.tile(np.array([0, 0, width, height], dtype=np.float64), (len(frames), 1)), "whole_frame"
    if landmarks is not None:
        track = as_landmark_track(landmarks, name)
        if settings["landmark_rows"] == "published":
            rows = published_landmark_rows(track, len(indices))
        else:
            rows = match_landmark_rows(track, indices, fps)
        # stored-pixel landmarks -> decoded-pixel landmarks (they differ with pre_crop_size and frame_region)
        scale = np.array([width / (area[2] - area[0]), height / (area[3] - area[1])])
        boxes = landmark_boxes((track.points[rows] - np.array(area[:2])) * scale, (height, width), track.path, rows)
        return boxes, "csv" if isinstance(landmarks, (str, os.PathLike)) else "landmark_array"
    if settings["face_box_source"] == "landmark_model" and landmark_model_available():
        times = np.asarray(indices, dtype=np.float64) / (fps or ARRAY_FPS)
        found = model_landmark_boxes(frames, times, settings, name)
        if found is not None:
            return found, "landmark_model"
    box = detect_face_box(frames, settings["num_detection_frames"], settings["detection_max_side"])
    if box is not None:
        return np.tile(box, (len(frames), 1)), "detector"
    warnings.warn(f"no face detected in {name}; using a centred square crop instead.")
    return np.tile(centre_square(height, width), (len(frames), 1)), "centre"


def model_landmark_boxes(frames: list, times: np.ndarray, settings: dict, name: str) -> Optional[np.ndarray]:
    """The boxes (T, 4) of the landmark model's smoothed 68 points in the frames, the detector's box in frames where
    the landmarks failed (with a warning); `None` when no face is found."""
    face = track_face_landmarks(frames, times, settings["num_detection_frames"], settings["detection_max_side"])
    if face is None:
        return None
    height, width = frames[0].shape[:2]
    rows = np.arange(len(frames))
    boxes = landmark_boxes(face.points, (height, width), f"the landmark model on {name}", rows)
    if not face.success.all():
        failed = int((~face.success).sum())
        warnings.warn(
            f"face landmarks failed in {failed} of {len(frames)} frames of {name}; the detector's box is used there."
        )
        boxes[~face.success] = face.detector_boxes[~face.success]
    return boxes


def crop_and_resize(frame: np.ndarray, box: np.ndarray, size: SizeDict, interpolation: int) -> np.ndarray:
    """Cut `box` (left, top, right, bottom) out of a uint8 frame (whole pixels) and resize it to `size`."""
    height, width = frame.shape[:2]
    left = int(min(max(math.floor(box[0]), 0), width - 1))
    top = int(min(max(math.floor(box[1]), 0), height - 1))
    right = int(max(min(math.floor(box[2]), width), left + 1))
    bottom = int(max(min(math.floor(box[3]), height), top + 1))
    return cv2.resize(frame[top:bottom, left:right], (size.width, size.height), interpolation=interpolation)
