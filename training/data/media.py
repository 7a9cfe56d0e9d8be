"""Writing and checking the media of a data set tree with PyAV only (no system ffmpeg).

- `write_clip`: RGB frames and an optional waveform -> an H.264 + AAC mp4 (or mov / mkv).
- `write_openface_csv`: 68 2-D landmarks per frame -> a CSV in the layout OpenFace 2 `FeatureExtraction` writes, as in
  RAVDESS's FacialTracking files: ", " separators and a subset of OpenFace's columns in OpenFace's order, with 131
  columns before `x_0` (among them `eye_lmk_x_*`), so that readers must select the landmark columns by exact name.
- `probe_media`: open a media file and check, without decoding it all, that it holds the streams a data set needs.
  (Landmark CSVs are checked by the processor's own `read_landmark_csv_header`.)

Conventions: frames are uint8 arrays (num_frames, height, width, 3) in RGB order; audio is float in [-1, 1], shape
(samples,) or (channels, samples); landmarks are float arrays (num_frames, 68, 2) of (x, y) pixel positions.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from processing.media_io_tacfn import LANDMARK_COLUMNS, NUM_LANDMARKS


CLIP_EXTENSIONS = (".mp4", ".mov", ".mkv")
CHANNEL_LAYOUTS = {1: "mono", 2: "stereo"}
H264_OPTIONS = {"preset": "ultrafast", "crf": "20"}
AAC_OPTIONS = {"aac_coder": "fast"}
# seconds a stream's packets may stop short of its stated end before `probe_media` calls the file truncated
END_TOLERANCE = 0.1

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


@dataclass
class MediaInfo:
    """What `probe_media` found in a media file.

    Attributes:
        path: The file.
        duration: Length in seconds, as the container states it.
        num_frames: Video frames the container states (0 without a video stream).
        fps: Average video frame rate; `None` without a video stream.
        width: Video frame width in pixels (0 without a video stream).
        height: Video frame height in pixels (0 without a video stream).
        sample_rate: Audio sampling rate in Hz; `None` without an audio stream.
    """

    path: str
    duration: float
    num_frames: int
    fps: float | None
    width: int
    height: int
    sample_rate: int | None


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


def probe_media(path: str | os.PathLike, require_video: bool, require_audio: bool) -> MediaInfo:
    """Check that a media file opens, holds the streams asked for, decodes, and holds data up to its stated end.

    Only the container's index and the packets of the last second are read, and one frame per stream decoded, so this
    is quick even for long files. A file cut off during a download fails at opening (index at the end) or when its
    last packets are missing (index at the start).

    Args:
        path: The media file (mp4, avi, wav, ...).
        require_video: Whether the file must have a video stream with frames.
        require_audio: Whether the file must have an audio stream.

    Returns:
        A `MediaInfo`. Raises `ValueError` with the message `"<path>: <problem>"` when a check fails.
    """
    path = os.fspath(path)
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise ValueError(f"{path}: missing or empty.")
    try:
        container = av.open(path)
    except av.error.FFmpegError as error:
        raise ValueError(f"{path}: not a readable media file ({_describe(error)}).") from error
    with container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if require_video and video is None:
            raise ValueError(f"{path}: no video stream.")
        if require_audio and audio is None:
            raise ValueError(f"{path}: no audio stream.")
        duration = container.duration / av.time_base if container.duration else 0.0
        if duration <= 0:
            raise ValueError(f"{path}: no stated duration.")
        required = [stream for stream, needed in ((video, require_video), (audio, require_audio)) if needed]
        for stream in required:
            _check_first_frame_decodes(container, stream, path)
            _check_data_reaches_end(container, stream, duration, path)
    rate = video.average_rate if video is not None else None
    return MediaInfo(
        path=path,
        duration=duration,
        num_frames=video.frames if video is not None else 0,
        fps=float(rate) if rate else None,
        width=video.codec_context.width if video is not None else 0,
        height=video.codec_context.height if video is not None else 0,
        sample_rate=audio.codec_context.sample_rate if audio is not None else None,
    )


def _describe(error: Exception) -> str:
    """A decoding error in words, without the file name FFmpeg adds."""
    if isinstance(error, StopIteration):
        return "no frame"
    return getattr(error, "strerror", None) or str(error)


def _check_first_frame_decodes(container, stream, path: str) -> None:
    """Decode the first frame of `stream`, raising `ValueError` when that fails or when audio samples are NaN or
    infinite."""
    try:
        container.seek(stream.start_time or 0, stream=stream, backward=True)
        frame = next(container.decode(stream))
    except (av.error.FFmpegError, StopIteration) as error:
        raise ValueError(f"{path}: damaged, its {stream.type} stream does not decode ({_describe(error)}).") from error
    if stream.type == "audio" and not np.isfinite(frame.to_ndarray()).all():
        raise ValueError(f"{path}: its audio holds NaN or infinite samples.")


def _check_data_reaches_end(container, stream, duration: float, path: str) -> None:
    """Read (without decoding) the packets of the last second of `stream` and raise `ValueError` when they stop more
    than `END_TOLERANCE` seconds before the stream's stated end (the container's duration when it states none)."""
    time_base = float(stream.time_base)
    start = (stream.start_time or 0) * time_base
    end = start + stream.duration * time_base if stream.duration else duration
    reached = start
    try:
        container.seek(int(max(end - 1.0, start) / time_base), stream=stream, backward=True)
        for packet in container.demux(stream):
            if packet.pts is not None:
                reached = max(reached, (packet.pts + packet.duration) * time_base)
    except av.error.FFmpegError as error:
        raise ValueError(
            f"{path}: damaged, reading its last {stream.type} packets failed ({_describe(error)})."
        ) from error
    if reached < end - END_TOLERANCE:
        raise ValueError(
            f"{path}: truncated, its {stream.type} data stops at {reached:.2f} s of the {end:.2f} s it states."
        )
