"""Reading TACFN's inputs from disk: probing media files, video frames and audio tracks (PyAV), and OpenFace landmark
CSVs.

Every reader checks its input first and raises a `ValueError` that names the file and the problem, instead of letting
a decoder crash or return something silently wrong.
"""

import os
from dataclasses import dataclass
from typing import Callable, Optional

import av
import numpy as np


NUM_LANDMARKS = 68
# seconds a stream's packets may stop short of its stated end before `probe_media` calls the file truncated
END_TOLERANCE = 0.1
# OpenFace's 2-D landmark columns: all x, then all y
LANDMARK_COLUMNS = (
    *(f"x_{index}" for index in range(NUM_LANDMARKS)),
    *(f"y_{index}" for index in range(NUM_LANDMARKS)),
)


@dataclass
class VideoInfo:
    """What a video file holds, as read from its container.

    Attributes:
        path: The file.
        num_frames: Number of video frames, as the container states it (counted from its packets when it does not).
        fps: Average frame rate of the video stream; `None` when the container does not give one.
        height: Frame height in pixels.
        width: Frame width in pixels.
        has_audio: Whether the file has an audio stream.
    """

    path: str
    num_frames: int
    fps: Optional[float]
    height: int
    width: int
    has_audio: bool


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


def check_media_file(path: str, role: str) -> str:
    """Return `path` as a string after checking that it names an existing, non-empty file.

    Args:
        path: The file to check.
        role: What the file is used as (e.g. `"video"`), for the error message.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ValueError(f"{role} file {path!r} does not exist.")
    if not os.path.isfile(path):
        raise ValueError(f"{role} path {path!r} is not a file.")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{role} file {path!r} is empty.")
    return path


def read_video_frames(
    path: str, choose_indices: Callable[[int], np.ndarray], size: Optional[tuple[int, int]] = None
) -> tuple[list, np.ndarray, VideoInfo]:
    """Decode chosen frames of a video file with PyAV on one thread, converting only those frames to RGB.

    Decoding runs in presentation order and stops after the last chosen frame, so frame `k` is the k-th frame shown
    (the same frame `decord.VideoReader(path)[k]` gives, pixel for pixel).

    Args:
        path: Video file (mp4, avi, mov, mkv, ...).
        choose_indices: Called with the number of frames; returns the frame indices to decode, non-decreasing.
        size: Optional `(height, width)` the chosen frames are scaled to (bicubic, as ffmpeg's scaler) while being
            converted; the returned `VideoInfo` still gives the stored size.

    Returns:
        `(frames, indices, info)`: a list of uint8 RGB arrays (height, width, 3), one per index (repeated indices share
        an array), the indices, and a `VideoInfo`. Raises `ValueError` for a missing file, a file that is not a
        readable video, and a damaged or truncated video that ends before a chosen frame.
    """
    path = check_media_file(path, "video")
    with _open_container(path, "video") as container:
        if not container.streams.video:
            raise ValueError(f"video file {path!r} has no video stream (is it an audio file?).")
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        info = _video_info(path, container, stream)
        indices = np.asarray(choose_indices(info.num_frames))
        decoded = _decode_frames(path, container, stream, set(indices.tolist()), size)
    missing = sorted(set(indices.tolist()) - set(decoded))
    if missing:
        raise ValueError(
            f"video file {path!r} is damaged or truncated: it states {info.num_frames} frames, but frame "
            f"{missing[0]} cannot be decoded."
        )
    return [decoded[index] for index in indices.tolist()], indices, info


def _open_container(path: str, role: str):
    """`av.open(path)`, with a `ValueError` naming the file when it is not a readable media file."""
    try:
        return av.open(path)
    except av.error.FFmpegError as error:
        raise ValueError(f"{role} file {path!r} is not a readable media file: {error}") from error


def _video_info(path: str, container, stream) -> VideoInfo:
    """Describe the video stream of an open container (its frame count from the container, or by counting packets)."""
    height, width = stream.codec_context.height, stream.codec_context.width
    if height <= 0 or width <= 0:
        raise ValueError(f"video file {path!r} does not state its frame size.")
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    num_frames = stream.frames or _count_video_packets(path)
    if num_frames == 0:
        raise ValueError(f"video file {path!r} has no video frames.")
    has_audio = len(container.streams.audio) > 0
    return VideoInfo(path, num_frames, float(rate) if rate else None, height, width, has_audio)


def _count_video_packets(path: str) -> int:
    """Number of video packets (one per frame) in a file whose container does not state its frame count (mkv)."""
    with _open_container(path, "video") as container:
        try:
            return sum(1 for packet in container.demux(container.streams.video[0]) if packet.size > 0)
        except av.error.FFmpegError as error:
            raise ValueError(f"video file {path!r} is damaged: reading its packets failed ({error}).") from error


def _decode_frames(path: str, container, stream, wanted: set, size: Optional[tuple[int, int]]) -> dict:
    """Decode up to the last wanted frame; return {frame index: uint8 RGB array} for the wanted ones."""
    last = max(wanted)
    frames = {}
    try:
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                frames[index] = _to_rgb(frame, size)
            if index >= last:
                break
    except av.error.FFmpegError as error:
        raise ValueError(f"video file {path!r} is damaged or truncated: decoding failed ({error}).") from error
    return frames


def _to_rgb(frame, size: Optional[tuple[int, int]]) -> np.ndarray:
    """One decoded frame as a uint8 RGB array (height, width, 3), optionally scaled to `size` = (height, width)."""
    if size is None:
        return frame.to_ndarray(format="rgb24")
    height, width = size
    return frame.reformat(width=width, height=height, format="rgb24", interpolation="BICUBIC").to_ndarray()


def read_audio_head(path: str, duration: float, role: str = "audio") -> Optional[tuple[np.ndarray, int]]:
    """Decode the first `duration` seconds of a file's audio track as mono, the mean of its channels.

    Samples are placed on the stream's own timeline, so a track that starts late is preceded by silence.

    Args:
        path: Media file.
        duration: Seconds to decode from the start; decoding stops once they are read.
        role: What the file is used as (e.g. `"video"`), for error messages.

    Returns:
        `(waveform, sampling_rate)`: float32 mono samples, shape (samples,) with at most `duration` seconds (fewer when
        the track is shorter), and the track's native sampling rate; `None` when the file has no audio track. Raises
        `ValueError` for a file that is missing or not a readable media file, or audio that cannot be decoded.
    """
    path = check_media_file(path, role)
    with _open_container(path, role) as container:
        if not container.streams.audio:
            return None
        try:
            waveform, sampling_rate = _decode_mono(container, container.streams.audio[0], duration, path)
        except av.error.FFmpegError as error:
            raise ValueError(f"audio track of {path!r} cannot be decoded: {error}") from error
    if not np.isfinite(waveform).all():
        raise ValueError(f"audio track of {path!r} holds NaN or infinite samples.")
    return waveform, sampling_rate


def _decode_mono(container, stream, duration: float, path: str) -> tuple[np.ndarray, int]:
    """Decode `duration` seconds of `stream` into a mono float32 waveform at the stream's sampling rate."""
    sampling_rate = stream.codec_context.sample_rate
    if not sampling_rate:
        raise ValueError(f"audio track of {path!r} reports no sampling rate.")
    wanted = int(round(duration * sampling_rate))
    # planar float keeps every channel apart whatever the stored sample format (s16, s32, flt, packed or planar)
    resampler = av.AudioResampler(format="fltp")
    chunks, position, first_start = [], 0, None
    for frame in container.decode(stream):
        if first_start is None:
            first_start = _frame_start_sample(frame, sampling_rate)
            position = first_start
        for converted in resampler.resample(frame):
            # (channels, samples) -> (samples,)
            chunks.append(converted.to_ndarray().mean(axis=0))
            position += converted.samples
        if position >= wanted:
            break
    if not chunks:
        raise ValueError(f"audio track of {path!r} holds no decodable samples.")
    lead = np.zeros(max(first_start, 0), dtype=np.float32)
    waveform = np.concatenate([lead, *chunks]).astype(np.float32)
    if first_start < 0:
        waveform = waveform[-first_start:]
    return waveform[:wanted], sampling_rate


def _frame_start_sample(frame, sampling_rate: int) -> int:
    """Sample index at which a decoded audio frame starts (0 when the frame carries no timestamp)."""
    if frame.pts is None or frame.time_base is None:
        return 0
    return int(round(float(frame.pts * frame.time_base) * sampling_rate))


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
            f"landmark CSV {path!r} lacks the OpenFace 2-D landmark columns {_summarise(missing)} "
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


def _summarise(names: list) -> str:
    """Short printable list of column names: the first few and how many more."""
    shown = ", ".join(names[:4])
    return f"[{shown}, ... {len(names) - 4} more]" if len(names) > 4 else f"[{shown}]"


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
