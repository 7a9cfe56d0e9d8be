"""The 68 iBUG face landmarks for videos without an OpenFace CSV, so that a user's own clip is cropped like the training
data (the bounding box of the 68 points: brows to chin).

dlib's 68-point shape predictor ships in the `face-recognition-models` package (`pip install tacfn[faces]`; its
training data, iBUG 300-W, forbids commercial use, so it is an optional extra). The face is found by dlib's HOG frontal
face detector on a few frames, followed over the clip, fitted with the shape predictor in every sampled frame, and the
landmarks are smoothed over time:

- **Which face.** A detection joins the track whose latest box is nearest, when its centre is at most
  `TRACK_MAX_SHIFT` face sizes from that box's and the two sizes differ by at most `TRACK_MAX_SIZE_RATIO` (a face that
  moves fast for its size, 90 pixels wide and crossing its own width in a second, stays one track; two faces side by
  side stay two); the clip's face is the track with the largest summed box area over the detection frames (the face
  that is both largest and most often present), or, given `follow_box`, the track that overlaps it most (IoU >=
  `TRACK_MIN_IOU`: to carry one face from one stretch of a long video to the next).
- **Following it.** The track's detector boxes pass a running median of three (a stray box is dropped) and are
  interpolated linearly in time between detection frames (held at the ends); the shape predictor fits the 68 points in
  that box in every frame.
- **Smoothing.** Every landmark coordinate is replaced by a local linear fit over time with Gaussian weights
  (`SMOOTHING_SECONDS`), which removes frame-to-frame jitter and keeps a steady movement (a pan) unbiased, even at the
  clip's ends.
- **Failures.** A frame whose landmark box overlaps its detector box by less than `LANDMARK_MIN_IOU`, or lies more than
  `OUTLIER_FRACTION` of the face size from the smoothed box, is left out of the smoothing and gets the smoothing's
  estimate from the frames around it; a frame with no good frame near it (Gaussian weights summing to less than
  `MIN_SUPPORT`) has failed and is cropped by the detector box instead.

The predictor files are found with `importlib.util.find_spec`, without importing the package (its `__init__` imports
`pkg_resources`, which recent Pythons lack).
"""

import importlib.util
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import cv2
import numpy as np

from .media_io_tacfn import NUM_LANDMARKS


try:
    import dlib
except ImportError:
    dlib = None


MODELS_PACKAGE = "face_recognition_models"
SHAPE_PREDICTOR_FILE = os.path.join("models", "shape_predictor_68_face_landmarks.dat")
# a detection continues a track when its centre is at most this many face sizes (the mean side of the two boxes) from
# the track's latest box, and their sides differ by at most this factor
TRACK_MAX_SHIFT = 1.0
TRACK_MAX_SIZE_RATIO = 1.5
# the face of a long video's previous stretch is the track whose box overlaps its last box at least this much
TRACK_MIN_IOU = 0.3
# a frame's landmarks failed when their box overlaps the detector's box less than this
LANDMARK_MIN_IOU = 0.3
# standard deviation, in seconds, of the Gaussian weights of the landmark smoothing
SMOOTHING_SECONDS = 0.2
# a frame's landmark box further than this fraction of the face size from the smoothed box is an outlier
OUTLIER_FRACTION = 0.1
# a frame whose good neighbours' smoothing weights sum to less than this has no landmarks
MIN_SUPPORT = 0.5


@dataclass
class FaceLandmarks:
    """The 68 landmarks of one face over the frames of a clip.

    Attributes:
        points: Smoothed (x, y) pixel positions, shape (T, 68, 2) float32; frames that failed hold the smoothing's
            estimate from the frames around them.
        success: Whether the frame has landmarks (its own or its neighbours' through the smoothing), shape (T,) bool.
        detector_boxes: The detector's box `(left, top, right, bottom)` followed to every frame, shape (T, 4), for
            the frames whose landmarks failed.
    """

    points: np.ndarray
    success: np.ndarray
    detector_boxes: np.ndarray


def shape_predictor_path() -> Optional[str]:
    """The 68-point shape predictor file of the `face-recognition-models` package, `None` when it is not installed."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], SHAPE_PREDICTOR_FILE)
    return path if os.path.isfile(path) else None


def landmark_model_available() -> bool:
    """Whether the landmark model can run: dlib imports and the 68-point predictor is installed (`tacfn[faces]`)."""
    return dlib is not None and shape_predictor_path() is not None


@lru_cache(maxsize=1)
def _shape_predictor():
    """dlib's 68-point shape predictor, loaded once per process."""
    if not landmark_model_available():
        raise ValueError(
            "the landmark model needs dlib and face-recognition-models (pip install 'tacfn[faces]'); without them the "
            "face detector's box is used."
        )
    return dlib.shape_predictor(shape_predictor_path())


@lru_cache(maxsize=1)
def _hog_detector():
    """dlib's HOG frontal face detector, built once per process."""
    if dlib is None:
        raise ValueError(
            "face detection needs dlib (pip install dlib-bin); alternatively pass landmarks or do_face_crop=False."
        )
    return dlib.get_frontal_face_detector()


def detection_picks(num_frames: int, num_detection_frames: int) -> np.ndarray:
    """Positions of up to `num_detection_frames` frames spread evenly over `num_frames`, first and last included."""
    return np.unique(np.linspace(0, num_frames - 1, min(num_detection_frames, num_frames)).round().astype(int))


def detect_faces(gray: np.ndarray, max_side: int) -> np.ndarray:
    """Every face dlib's HOG detector finds in a grayscale frame scaled to at most `max_side` pixels on its longer side,
    or, when it finds none there in a frame that was scaled down, in the frame at its own size (a face smaller than
    the detector's 80-pixel window at the detection size: a face under 240 pixels of a 1080p frame at 640); boxes
    `(left, top, right, bottom)` in the frame's pixels, shape (faces, 4) float64."""
    height, width = gray.shape
    scale = min(1.0, max_side / max(height, width))
    boxes = _hog_boxes(gray, scale)
    if not len(boxes) and scale < 1.0:
        boxes = _hog_boxes(gray, 1.0)
    return boxes


def _hog_boxes(gray: np.ndarray, scale: float) -> np.ndarray:
    """The HOG detector's boxes in `gray` scaled by `scale`, in the unscaled frame's pixels, shape (faces, 4)."""
    if scale < 1.0:
        height, width = gray.shape
        gray = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    faces = _hog_detector()(gray, 0)
    boxes = np.array([[face.left(), face.top(), face.right(), face.bottom()] for face in faces], dtype=np.float64)
    return boxes.reshape(-1, 4) / scale


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box (4,) with each of `boxes` (N, 4); shape (N,)."""
    low = np.maximum(box[:2], boxes[:, :2])
    high = np.minimum(box[2:], boxes[:, 2:])
    intersection = np.prod(np.clip(high - low, 0, None), axis=1)
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    return intersection / (np.prod(box[2:] - box[:2]) + areas - intersection)


def link_tracks(detections: list) -> list:
    """
    Link the faces found in successive detection frames into tracks: each face joins the nearest track it may
    continue (see `continues_track`; one face per track and frame), else starts a new track.

    Args:
        detections (`list[np.ndarray]`): Per detection frame, the boxes (faces, 4).

    Returns:
        `list[dict[int, np.ndarray]]`: per track, detection-frame position -> box.
    """
    tracks = []
    for position, boxes in enumerate(detections):
        taken = set()
        for box in boxes:
            candidates = [
                (shift, number)
                for number, track in enumerate(tracks)
                if number not in taken and max(track) < position
                for shift in [continues_track(track[max(track)], box)]
                if shift is not None
            ]
            _, number = min(candidates, default=(None, None))
            if number is None:
                tracks.append({})
                number = len(tracks) - 1
            tracks[number][position] = box
            taken.add(number)
    return tracks


def continues_track(previous: np.ndarray, box: np.ndarray) -> Optional[float]:
    """How far `box` lies from a track's latest box `previous`, in face sizes (the centres' distance over the mean side
    of the two boxes), or `None` when it is too far or of too different a size to be the same face."""
    sides = np.array([np.mean(previous[2:] - previous[:2]), np.mean(box[2:] - box[:2])])
    shift = np.linalg.norm((box[:2] + box[2:] - previous[:2] - previous[2:]) / 2) / sides.mean()
    if shift > TRACK_MAX_SHIFT or sides.max() > TRACK_MAX_SIZE_RATIO * sides.min():
        return None
    return float(shift)


def choose_track(tracks: list, follow_box: Optional[np.ndarray] = None) -> dict:
    """The clip's face among the tracks: the one overlapping `follow_box` most when it is given and overlapped, else
    the one with the largest summed box area."""
    if follow_box is not None:
        overlaps = [max(box_iou(follow_box, np.stack(list(track.values())))) for track in tracks]
        if max(overlaps) >= TRACK_MIN_IOU:
            return tracks[int(np.argmax(overlaps))]
    areas = [sum(float(np.prod(box[2:] - box[:2])) for box in track.values()) for track in tracks]
    return tracks[int(np.argmax(areas))]


def follow_box(track: dict, detection_times: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The track's box at every time (T,): a running median of three over its detections (one stray detector box is
    dropped), interpolated linearly between the detection frames where it was found and held before the first and
    after the last; shape (T, 4)."""
    found = sorted(track)
    known_times = detection_times[found]
    detected = np.stack([track[position] for position in found])
    # (found, 4) -> (found + 2, 4) with the ends repeated -> running median of three, (found, 4)
    padded = np.concatenate([detected[:1], detected, detected[-1:]])
    boxes = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
    return np.stack([np.interp(times, known_times, boxes[:, side]) for side in range(4)], axis=1)


def fit_landmarks(gray: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The shape predictor's 68 (x, y) points in the face box `(left, top, right, bottom)` of a grayscale frame;
    shape (68, 2) float64."""
    left, top, right, bottom = (int(round(value)) for value in box)
    shape = _shape_predictor()(gray, dlib.rectangle(left, top, right, bottom))
    return np.array([[part.x, part.y] for part in shape.parts()], dtype=np.float64)


def smooth_over_time(values: np.ndarray, times: np.ndarray, valid: np.ndarray, seconds: float) -> tuple:
    """
    Local linear regression of every column of `values` over time with Gaussian weights of standard deviation
    `seconds`, using only the `valid` rows: the value of a steady movement is kept exactly, jitter is averaged out.

    Args:
        values (`np.ndarray`): Shape (T, C).
        times (`np.ndarray`): Seconds of each row, shape (T,).
        valid (`np.ndarray`): Rows that take part, shape (T,) bool; at least one.
        seconds (`float`): Width of the weights.

    Returns:
        Smoothed values, shape (T, C), also for the rows that did not take part, and each row's support: the sum of
        the weights of the valid rows, shape (T,).
    """
    # (T, T) offsets of every row's time from every output time, and their weights
    offsets = times[None, :] - times[:, None]
    weights = np.exp(-0.5 * (offsets / seconds) ** 2) * valid[None, :]
    s0, s1, s2 = weights.sum(1), (weights * offsets).sum(1), (weights * offsets**2).sum(1)
    determinant = s0 * s2 - s1**2
    # a lone valid neighbour (or all at one time) cannot give a slope: the weighted mean is used there
    linear = determinant > 1e-12 * np.maximum(s0, 1e-12) ** 2
    weighted_sum, weighted_moment = weights @ values, (weights * offsets) @ values
    mean = weighted_sum / np.maximum(s0, 1e-300)[:, None]
    fitted = (s2[:, None] * weighted_sum - s1[:, None] * weighted_moment) / np.where(linear, determinant, 1.0)[:, None]
    return np.where(linear[:, None], fitted, mean), s0


def track_face_landmarks(
    frames: list,
    times: np.ndarray,
    num_detection_frames: int,
    detection_max_side: int,
    follow: Optional[np.ndarray] = None,
) -> Optional[FaceLandmarks]:
    """
    The 68 landmarks of one face in every frame of a clip (see the module doc for how the face is chosen and followed).

    Args:
        frames (`list[np.ndarray]`): T uint8 RGB frames (H, W, 3), as displayed.
        times (`np.ndarray`): Their times in seconds, shape (T,), non-decreasing.
        num_detection_frames (`int`): Frames, spread over the clip, on which the face detector runs.
        detection_max_side (`int`): Frames are scaled to at most this many pixels on their longer side for detection.
        follow (`np.ndarray`, *optional*): A box `(left, top, right, bottom)` of the face to prefer (the face of the
            previous stretch of a long video).

    Returns:
        [`FaceLandmarks`], or `None` when the detector finds no face in any detection frame.
    """
    times = np.asarray(times, dtype=np.float64)
    grays = [cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) for frame in frames]
    picks = detection_picks(len(frames), num_detection_frames)
    tracks = link_tracks([detect_faces(grays[pick], detection_max_side) for pick in picks])
    if not tracks:
        return None
    boxes = follow_box(choose_track(tracks, follow), times[picks], times)
    raw = np.stack([fit_landmarks(gray, box) for gray, box in zip(grays, boxes)])
    # second fit: each frame's box placed by its own first-fit landmarks, framed as the detector frames its faces
    raw_boxes = np.concatenate([raw.min(axis=1), raw.max(axis=1)], axis=1)
    framing = np.median(boxes[picks] - raw_boxes[picks], axis=0)
    raw = np.stack([fit_landmarks(gray, box) for gray, box in zip(grays, raw_boxes + framing)])
    # (T, 68, 2) -> (T, 4) landmark boxes, compared with the detector's
    raw_boxes = np.concatenate([raw.min(axis=1), raw.max(axis=1)], axis=1)
    good = np.array([box_iou(box, mark[None])[0] >= LANDMARK_MIN_IOU for box, mark in zip(boxes, raw_boxes)])
    if not good.any():
        return FaceLandmarks(raw.astype(np.float32), good, boxes)
    smoothed, _ = smooth_over_time(raw.reshape(len(raw), -1), times, good, SMOOTHING_SECONDS)
    smoothed = smoothed.reshape(-1, NUM_LANDMARKS, 2)
    # frames whose fit strays from the smoothed track are left out, and the track smoothed again without them
    smoothed_boxes = np.concatenate([smoothed.min(axis=1), smoothed.max(axis=1)], axis=1)
    face_size = np.median(raw_boxes[good, 2:] - raw_boxes[good, :2])
    good &= np.abs(raw_boxes - smoothed_boxes).max(axis=1) <= OUTLIER_FRACTION * face_size
    smoothed, support = smooth_over_time(raw.reshape(len(raw), -1), times, good, SMOOTHING_SECONDS)
    points = smoothed.reshape(-1, NUM_LANDMARKS, 2).astype(np.float32)
    return FaceLandmarks(points, support >= MIN_SUPPORT, boxes)
