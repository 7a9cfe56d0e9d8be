"""Writing media with PyAV only (no system ffmpeg): clips for data set trees, demos and tests, and landmark CSVs.

- `write_clip`: RGB frames and an optional waveform -> an H.264 + AAC mp4 (or mov / mkv).
- `write_openface_csv`: 68 2-D landmarks per frame -> a CSV in the layout OpenFace 2 `FeatureExtraction` writes, as in
  RAVDESS's FacialTracking files: ", " separators and a subset of OpenFace's columns in OpenFace's order, with 131
  columns before `x_0` (among them `eye_lmk_x_*`), so that readers must select the landmark columns by exact name.

Conventions: frames are uint8 arrays (num_frames, height, width, 3) in RGB order; audio is float in [-1, 1], shape
(samples,) or (channels, samples); landmarks are float arrays (num_frames, 68, 2) of (x, y) pixel positions.
"""

import os
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .media_io_tacfn import LANDMARK_COLUMNS, NUM_LANDMARKS


CLIP_EXTENSIONS = (".mp4", ".mov", ".mkv")
CHANNEL_LAYOUTS = {1: "mono", 2: "stereo"}
H264_OPTIONS = {"preset": "ultrafast", "crf": "20"}
AAC_OPTIONS = {"aac_coder": "fast"}

NUM_EYE_LANDMARKS = 56
OPENFACE_ACTION_UNITS = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23",
    "AU25", "AU26", "AU45",
)  # fmt: skip
# OpenFace 2's columns in its order, without the 3-D eye and face landmarks and the shape parameters p_0 .. p_33
OPENFACE_COLUMNS = (
    "frame", "face_id", "timestamp", "confidence", "success",
    "gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z", "gaze_angle_x", "gaze_angle_y",
    *(f"eye_lmk_x_{index}" for index in range(NUM_EYE_LANDMARKS)),
    *(f"eye_lmk_y_{index}" for index in range(NUM_EYE_LANDMARKS)),
    "pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz",
    *LANDMARK_COLUMNS,
    "p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty",
    *(f"{unit}_r" for unit in OPENFACE_ACTION_UNITS),
    *(f"{unit}_c" for unit in (*OPENFACE_ACTION_UNITS[:-1], "AU28", "AU45")),
)  # fmt: skip


def write_clip(
    path: str | os.PathLike,
    frames: np.ndarray,
    fps: float,
    audio: np.ndarray | None = None,
    sample_rate: int = 44100,
) -> Path:
    """Encode frames (H.264, yuv420p) and an optional waveform (AAC) into an mp4, mov or mkv file.

    Args:
        path: The output file; its extension must be `.mp4`, `.mov` or `.mkv`.
        frames: uint8 RGB frames (num_frames, height, width, 3) with even height and width.
        fps: Frame rate; fractional rates such as 29.97 are stored as exact fractions.
        audio: Float waveform in [-1, 1], (samples,) for mono or (channels, samples) with 1 or 2 channels; `None`
            writes a file without an audio stream.
        sample_rate: Sampling rate of `audio` in Hz.

    Returns:
        The written path.
    """
    path = Path(path)
    if path.suffix.lower() not in CLIP_EXTENSIONS:
        raise ValueError(f"write_clip: {path} must end with one of {CLIP_EXTENSIONS}.")
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(
            f"write_clip: frames for {path} must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}."
        )
    if frames.shape[1] % 2 or frames.shape[2] % 2:
        raise ValueError(
            f"write_clip: H.264 needs an even frame size, got {frames.shape[2]}x{frames.shape[1]} for {path}."
        )
    audio = None if audio is None else _as_channels_first(audio, path)
    with av.open(str(path), mode="w") as container:
        # every stream is added before the first packet is muxed (that writes the header)
        video_stream = _add_video_stream(container, frames.shape[1:3], fps)
        audio_stream = None if audio is None else _add_audio_stream(container, audio.shape[0], sample_rate)
        for frame in frames:
            container.mux(video_stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video_stream.encode())
        if audio_stream is not None:
            container.mux(audio_stream.encode(_audio_frame(audio, sample_rate)))
            container.mux(audio_stream.encode())
    return path


def _add_video_stream(container, size: tuple[int, int], fps: float):
    """Add an H.264 stream of frames of `size` = (height, width) at `fps` to an output container."""
    stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
    stream.height, stream.width = size
    stream.pix_fmt = "yuv420p"
    stream.options = H264_OPTIONS
    return stream


def _add_audio_stream(container, num_channels: int, sample_rate: int):
    """Add an AAC stream with `num_channels` (1 or 2) channels to an output container."""
    stream = container.add_stream("aac", rate=sample_rate, layout=CHANNEL_LAYOUTS[num_channels])
    stream.options = AAC_OPTIONS
    return stream


def _audio_frame(audio: np.ndarray, sample_rate: int) -> av.AudioFrame:
    """A whole (channels, samples) float32 waveform as one planar-float audio frame; the encoder splits it."""
    frame = av.AudioFrame.from_ndarray(audio, format="fltp", layout=CHANNEL_LAYOUTS[audio.shape[0]])
    frame.sample_rate = sample_rate
    return frame


def _as_channels_first(audio: np.ndarray, path: Path) -> np.ndarray:
    """A waveform as contiguous float32 (channels, samples), clipped to [-1, 1]."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        # (samples,) -> (1, samples)
        audio = audio[None]
    if audio.ndim != 2 or audio.shape[0] not in CHANNEL_LAYOUTS or audio.shape[1] == 0:
        raise ValueError(f"write_clip: audio for {path} must be (samples,) or (1 or 2, samples), got {audio.shape}.")
    if not np.all(np.isfinite(audio)):
        raise ValueError(f"write_clip: audio for {path} holds NaN or infinite samples.")
    return np.ascontiguousarray(np.clip(audio, -1.0, 1.0))


def write_openface_csv(
    path: str | os.PathLike,
    landmarks: np.ndarray,
    fps: float,
    columns: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write one row per video frame in OpenFace 2's CSV layout (see `OPENFACE_COLUMNS`).

    `frame` counts from 1, `timestamp` is `(frame - 1) / fps`, `face_id` is 0, `confidence` 0.98 and `success` 1;
    `x_i` / `y_i` hold the landmarks; other columns hold the values given in `columns`, else 0.

    Args:
        path: The output `.csv` file.
        landmarks: (x, y) pixel positions of the 68 landmarks, shape (num_frames, 68, 2).
        fps: Frame rate of the video the landmarks belong to.
        columns: Optional per-frame values, shape (num_frames,), of other OpenFace columns by name (e.g.
            `"pose_Rz"`, `"AU12_r"`).

    Returns:
        The written path.
    """
    path = Path(path)
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (NUM_LANDMARKS, 2) or len(landmarks) == 0:
        raise ValueError(f"write_openface_csv: landmarks for {path} must be (T, 68, 2), got {landmarks.shape}.")
    num_frames = len(landmarks)
    table = {name: np.zeros(num_frames) for name in OPENFACE_COLUMNS}
    for name, values in (columns or {}).items():
        if name not in table:
            raise ValueError(f"write_openface_csv: {name!r} is not an OpenFace column.")
        table[name] = np.broadcast_to(np.asarray(values, dtype=np.float64), (num_frames,))
    table["frame"] = np.arange(1, num_frames + 1)
    table["timestamp"] = (table["frame"] - 1) / fps
    table["confidence"] = np.full(num_frames, 0.98)
    table["success"] = np.ones(num_frames)
    for index in range(NUM_LANDMARKS):
        table[f"x_{index}"], table[f"y_{index}"] = landmarks[:, index, 0], landmarks[:, index, 1]
    # (columns, frames) -> (frames, columns)
    rows = np.stack([table[name] for name in OPENFACE_COLUMNS], axis=1)
    formats = [_column_format(name) for name in OPENFACE_COLUMNS]
    lines = [", ".join(OPENFACE_COLUMNS)]
    lines += [", ".join(format_ % value for format_, value in zip(formats, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _column_format(name: str) -> str:
    """The printf format OpenFace uses for a column: integers for counters and flags, else fixed decimals."""
    if name in ("frame", "face_id", "success") or name.endswith("_c"):
        return "%d"
    if name.startswith(("x_", "y_", "eye_lmk_")):
        return "%.1f"
    return "%.3f"
