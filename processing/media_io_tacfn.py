"""Reading TACFN's inputs from disk with PyAV: opening and probing media files, decoding video frames (chosen by index
or by time), reading audio tracks (resampled in `audio_resampling_tacfn`), and reading OpenFace landmark CSVs.

Every file is opened once per read (frames and the audio track of a clip come from one open container), and every
reader checks its input first and raises a `ValueError` that names the file and the problem, instead of letting a
decoder crash or return something silently wrong.
"""

import os
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Callable, Optional

import av
import numpy as np

from .orientation_tacfn import displayed_rgb, displayed_size, quarter_turns

NUM_LANDMARKS = 68
# seconds a stream's packets may stop short of its stated end before `probe_media` calls the file truncated
END_TOLERANCE = 0.1
# seconds a time window may reach past the last frame of a video (those times get the last frame)
WINDOW_END_TOLERANCE = 0.5
# OpenFace's 2-D landmark columns: all x, then all y
LANDMARK_COLUMNS = (
    *(f"x_{index}" for index in range(NUM_LANDMARKS)),
    *(f"y_{index}" for index in range(NUM_LANDMARKS)),
)


@dataclass
class MediaInfo:
    """What a media file holds, as read from its container.

    Attributes:
        path: The file.
        duration: Length in seconds, as the container states it (0.0 when it states none).
        num_frames: Video frames (0 without a video stream); the readers count packets where the container states no
            count (mkv), `probe_media` gives the stated count.
        fps: Average video frame rate; `None` without a video stream or a stated rate.
        width: Video frame width in pixels (0 without a video stream).
        height: Video frame height in pixels (0 without a video stream).
        sample_rate: Audio sampling rate in Hz; `None` without an audio stream.
    """

    path: str
    duration: float
    num_frames: int
    fps: Optional[float]
    width: int
    height: int
    sample_rate: Optional[int]

    @property
    def has_audio(self) -> bool:
        """Whether the file has an audio stream."""
        return self.sample_rate is not None


@dataclass
class Clip:
    """Frames of a video file and, when asked for, the head of its audio track, read from one open container.

    Attributes:
        frames: uint8 RGB arrays (height, width, 3), one per chosen frame (repeated frames share an array); empty for a
            file without a video stream (read with `allow_no_video`).
        indices: Index of each chosen frame in presentation order, shape (num_chosen,).
        info: What the file holds.
        audio: `(waveform, sampling_rate)` of the audio asked for (see `read_audio_track`), `None` when none was asked
            for or the file has no audio track.
    """

    frames: list
    indices: np.ndarray
    info: MediaInfo
    audio: Optional[tuple[np.ndarray, int]] = None


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


@contextmanager
def open_media(path: str, role: str):
    """Check a media file and open it with PyAV; a `ValueError` names the file when it is missing, empty or not a
    readable media file. Yields `(path as a string, container)`."""
    path = check_media_file(path, role)
    try:
        container = av.open(path)
    except av.error.FFmpegError as error:
        raise ValueError(f"{role} file {path!r} is not a readable media file: {_describe(error)}") from error
    with container:
        # a stream whose codec FFmpeg does not know has no decoder (a damaged codec tag, or a made-up one)
        if any(stream.codec_context is None for stream in (*container.streams.video[:1], *container.streams.audio[:1])):
            raise ValueError(f"{role} file {path!r} is damaged: a stream's codec is unknown, so it cannot be decoded.")
        yield path, container


def describe_media(path: str, container, role: str, count_frames: bool = True) -> MediaInfo:
    """What an open container holds. With `count_frames`, a video stream that states no frame count (mkv) has its
    packets counted (and the container is sought back to its start); a video stream must then hold frames and state
    its frame size."""
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    num_frames, fps, width, height = 0, None, 0, 0
    if video is not None:
        rate = video.average_rate or video.guessed_rate or video.base_rate
        fps = float(rate) if rate else None
        width, height = video.codec_context.width, video.codec_context.height
        num_frames = video.frames
        if count_frames:
            if height <= 0 or width <= 0:
                raise ValueError(f"{role} file {path!r} does not state its frame size.")
            num_frames = num_frames or _count_video_packets(path, container, video, role)
            if num_frames == 0:
                raise ValueError(f"{role} file {path!r} has no video frames.")
    return MediaInfo(
        path=path,
        duration=container.duration / av.time_base if container.duration else 0.0,
        num_frames=num_frames,
        fps=fps,
        width=width,
        height=height,
        sample_rate=audio.codec_context.sample_rate if audio is not None else None,
    )


def _count_video_packets(path: str, container, stream, role: str) -> int:
    """Number of video packets (one per frame) of a stream whose container does not state its frame count (mkv); the
    container is sought back to the start of the stream afterwards."""
    try:
        count = sum(1 for packet in container.demux(stream) if packet.size > 0)
        container.seek(stream.start_time or 0, stream=stream, backward=True)
    except av.error.FFmpegError as error:
        raise ValueError(f"{role} file {path!r} is damaged: reading its packets failed ({error}).") from error
    return count


def check_time_window(video_start, video_end) -> None:
    """Raise `ValueError` unless the time window is absent or `0 <= video_start < video_end`."""
    if video_start is None and video_end is None:
        return
    if video_start is None or video_end is None or not 0 <= video_start < video_end:
        raise ValueError(
            f"a time window needs 0 <= video_start < video_end (seconds), got [{video_start}, {video_end}]."
        )


def read_clip(
    path: str,
    choose_indices: Optional[Callable[[MediaInfo], np.ndarray]] = None,
    times: Optional[np.ndarray] = None,
    size: Optional[tuple[int, int]] = None,
    audio_seconds: Optional[float] = None,
    audio_start: float = 0.0,
    allow_no_video: bool = False,
) -> Clip:
    """Decode chosen frames of a video file with PyAV on one thread, and optionally the head of its audio track, from
    one open container. Only the chosen frames are converted to RGB.

    Frames are chosen either by index (`choose_indices`): decoding runs in presentation order from the start and
    stops after the last chosen frame, so frame `k` is the k-th frame shown (the same frame `decord.VideoReader(path)
    [k]` gives, pixel for pixel); or by time (`times`, increasing seconds from the start of the video): decoding seeks
    to the keyframe before the first time and each time gets the frame shown then. Times up to `WINDOW_END_TOLERANCE`
    after the last frame get the last frame.

    Args:
        path: Video file (mp4, avi, mov, mkv, ...).
        choose_indices: Called with the file's `MediaInfo`; returns the frame indices to decode, non-decreasing.
        times: Instead of `choose_indices`, the times (seconds) of the frames to decode.
        size: Optional `(height, width)` the chosen frames are scaled to (bicubic, as ffmpeg's scaler) while being
            converted; `info` still gives the unscaled size. Frames are turned as the display matrix says (a phone's
            `rotate=90`), and `info` gives the displayed size.
        audio_seconds: Also read this many seconds of the audio track, from `audio_start` (see `read_audio_track`).
        audio_start: Where the audio read starts, in seconds.
        allow_no_video: Give a file without a video stream (an audio file) a `Clip` without frames instead of a
            `ValueError`, so that one opening of the file says whether it holds video and reads its audio.

    Returns:
        A `Clip`. Raises `ValueError` for a missing file, a file that is not a readable video, and a damaged or
        truncated video that ends before a chosen frame.
    """
    with open_media(path, "video") as (path, container):
        has_video = bool(container.streams.video)
        if not has_video and not allow_no_video:
            raise ValueError(f"video file {path!r} has no video stream (is it an audio file?).")
        info = describe_media(path, container, "video")
        frames, indices = [], np.zeros(0, dtype=np.int64)
        if has_video:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            if times is None:
                frames, indices, turns = _frames_by_index(path, container, stream, info, choose_indices(info), size)
            else:
                times = np.asarray(times, dtype=np.float64)
                frames, indices, turns = _frames_by_time(path, container, stream, info, times, size)
            # the displayed frame size: the display matrix may turn the stored frames by a quarter
            info = replace(info, **dict(zip(("height", "width"), displayed_size(info.height, info.width, turns))))
        audio = None
        if audio_seconds is not None and container.streams.audio:
            audio = _read_audio(path, container, container.streams.audio[0], audio_start, audio_seconds)
    return Clip(frames, indices, info, audio)


def read_video_frames(
    path: str, choose_indices: Callable[[int], np.ndarray], size: Optional[tuple[int, int]] = None
) -> tuple[list, np.ndarray, MediaInfo]:
    """`read_clip` for frames alone, chosen by index: `choose_indices` is called with the number of frames.

    Returns:
        `(frames, indices, info)`, as in `Clip`.
    """
    clip = read_clip(path, lambda info: choose_indices(info.num_frames), size=size)
    return clip.frames, clip.indices, clip.info


def _frames_by_index(path: str, container, stream, info: MediaInfo, indices, size) -> tuple[list, np.ndarray, int]:
    """Decode up to the last chosen index; the frames (one per index), the indices and the display quarter turns."""
    indices = np.asarray(indices)
    wanted = set(indices.tolist())
    last, decoded = max(wanted), {}
    try:
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                decoded[index] = displayed_rgb(frame, size)
            if index >= last:
                break
    except av.error.FFmpegError as error:
        raise ValueError(f"video file {path!r} is damaged or truncated: decoding failed ({error}).") from error
    missing = sorted(wanted - set(decoded))
    if missing:
        raise ValueError(
            f"video file {path!r} is damaged or truncated: it states {info.num_frames} frames, but frame "
            f"{missing[0]} cannot be decoded."
        )
    return [decoded[index] for index in indices.tolist()], indices, quarter_turns(frame)


def _frames_by_time(path: str, container, stream, info: MediaInfo, times: np.ndarray, size) -> tuple:
    """The frame shown at each of the increasing `times` (seconds), decoding from the keyframe before the first; the
    frames, their indices (frame time x frame rate) and the display quarter turns."""
    frame_duration = 1.0 / info.fps if info.fps else 0.04
    # frame times count from the stream's start, the asked times from the video's
    stream_start = (stream.start_time or 0) * float(stream.time_base)
    chosen, indices, last_frame, shown_until = [], [], None, None
    try:
        container.seek(int((times[0] + stream_start) / float(stream.time_base)), stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            last_frame, shown_until = frame, frame.time - stream_start + frame_duration
            if times[len(chosen)] >= shown_until:
                continue
            image = displayed_rgb(frame, size)
            while len(chosen) < len(times) and times[len(chosen)] < shown_until:
                chosen.append(image)
                indices.append(round((frame.time - stream_start) / frame_duration))
            if len(chosen) == len(times):
                return chosen, np.asarray(indices), quarter_turns(frame)
    except av.error.FFmpegError as error:
        raise ValueError(f"video file {path!r} is damaged or truncated: decoding failed ({error}).") from error
    # the video ended first: `shown_until` is now its end
    if last_frame is None or times[-1] > shown_until + WINDOW_END_TOLERANCE:
        ending = "has no frames" if last_frame is None else f"ends at {shown_until:.2f} s"
        raise ValueError(f"video file {path!r} {ending}, before the frame asked for at {times[-1]:.2f} s.")
    # its last frame stands in for the times after its end
    missing = len(times) - len(chosen)
    last_index = round((last_frame.time - stream_start) / frame_duration)
    frames = chosen + [displayed_rgb(last_frame, size)] * missing
    return frames, np.asarray(indices + [last_index] * missing), quarter_turns(last_frame)


def read_audio_track(
    path: str, duration: float, start: float = 0.0, role: str = "audio"
) -> Optional[tuple[np.ndarray, int]]:
    """Decode `duration` seconds of a file's audio track from `start` as mono, the mean of its channels.

    Samples are placed on the stream's own timeline, so a track that starts late is preceded by silence.

    Args:
        path: Media file.
        duration: Seconds to decode; decoding stops once they are read.
        start: Where to start, in seconds from the start of the file.
        role: What the file is used as (e.g. `"video"`), for error messages.

    Returns:
        `(waveform, sampling_rate)`: float32 mono samples, shape (samples,) with at most `duration` seconds (fewer when
        the track is shorter), and the track's native sampling rate; `None` when the file has no audio track. Raises
        `ValueError` for a file that is missing or not a readable media file, or audio that cannot be decoded.
    """
    with open_media(path, role) as (path, container):
        if not container.streams.audio:
            return None
        return _read_audio(path, container, container.streams.audio[0], start, duration)


def read_audio_head(path: str, duration: float, role: str = "audio") -> Optional[tuple[np.ndarray, int]]:
    """The first `duration` seconds of a file's audio track: `read_audio_track` from the start."""
    return read_audio_track(path, duration, 0.0, role)


def _read_audio(path: str, container, stream, start: float, duration: float) -> tuple[np.ndarray, int]:
    """Decode `duration` seconds of `stream` from `start` into a mono float32 waveform at the stream's rate."""
    try:
        container.seek(int(start * av.time_base), backward=True)
        waveform, sampling_rate = _decode_mono(container, stream, start, duration, path)
    except av.error.FFmpegError as error:
        raise ValueError(f"audio track of {path!r} cannot be decoded: {error}") from error
    if not np.isfinite(waveform).all():
        raise ValueError(f"audio track of {path!r} holds NaN or infinite samples.")
    return waveform, sampling_rate


def _decode_mono(container, stream, start: float, duration: float, path: str) -> tuple[np.ndarray, int]:
    """Decode `[start, start + duration)` seconds of `stream` into a mono float32 waveform at the stream's rate."""
    sampling_rate = stream.codec_context.sample_rate
    if not sampling_rate:
        raise ValueError(f"audio track of {path!r} reports no sampling rate.")
    origin = int(round(start * sampling_rate))
    wanted = int(round(duration * sampling_rate))
    # planar float keeps every channel apart whatever the stored sample format (s16, s32, flt, packed or planar)
    resampler = av.AudioResampler(format="fltp")
    chunks, position, first_start = [], 0, None
    for frame in container.decode(stream):
        if first_start is None:
            first_start = _frame_start_sample(frame, sampling_rate) - origin
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
        A `MediaInfo` (with the frame count the container states, and with `require_video` the frame size as displayed,
        turned as the display matrix says; without it, as stored). Raises `ValueError` naming the file when a check
        fails.
    """
    role = "video" if require_video else "audio" if require_audio else "media"
    with open_media(path, role) as (path, container):
        info = describe_media(path, container, role, count_frames=False)
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        if require_video and video is None:
            raise ValueError(f"{role} file {path!r} has no video stream.")
        if require_audio and audio is None:
            raise ValueError(f"{role} file {path!r} has no audio stream.")
        if info.duration <= 0:
            raise ValueError(f"{role} file {path!r} states no duration.")
        required = [stream for stream, needed in ((video, require_video), (audio, require_audio)) if needed]
        for stream in required:
            first = _check_first_frame_decodes(container, stream, path)
            _check_data_reaches_end(container, stream, info.duration, path)
            if stream.type == "video":  # the displayed size: a phone's display matrix may turn the frames
                displayed = displayed_size(info.height, info.width, quarter_turns(first))
                info = replace(info, **dict(zip(("height", "width"), displayed)))
    return info


def _describe(error: Exception) -> str:
    """A decoding error in words, without the file name FFmpeg adds."""
    if isinstance(error, StopIteration):
        return "no frame"
    return getattr(error, "strerror", None) or str(error)


def _check_first_frame_decodes(container, stream, path: str):
    """Decode and return the first frame of `stream`, raising `ValueError` when that fails or when audio samples are
    NaN or infinite."""
    try:
        container.seek(stream.start_time or 0, stream=stream, backward=True)
        frame = next(container.decode(stream))
    except (av.error.FFmpegError, StopIteration) as error:
        problem = f"its {stream.type} stream does not decode ({_describe(error)})"
        raise ValueError(f"{path!r} is damaged: {problem}.") from error
    if stream.type == "audio" and not np.isfinite(frame.to_ndarray()).all():
        raise ValueError(f"audio track of {path!r} holds NaN or infinite samples.")
    return frame


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
            f"{path!r} is damaged: reading its last {stream.type} packets failed ({_describe(error)})."
        ) from error
    if reached < end - END_TOLERANCE:
        raise ValueError(
            f"{path!r} is truncated: its {stream.type} data stops at {reached:.2f} s of the {end:.2f} s it states."
        )
