"""Writing media with PyAV only (no system ffmpeg): clips for data set trees, demos and tests, and landmark CSVs.

- `write_clip`: RGB frames and / or a waveform -> H.264 + AAC in mp4 / mov / mkv, MPEG-4 part 2 + 16-bit PCM in avi,
  or audio only: 16-bit PCM in wav, AAC in m4a, MP3 in mp3; codecs and encoder options can be chosen.
- `write_openface_csv`: 68 2-D landmarks per frame -> a CSV in the layout OpenFace 2 `FeatureExtraction` writes:
  ", " separators and OpenFace's columns in OpenFace's order. By default the subset RAVDESS's FacialTracking files
  hold (`OPENFACE_COLUMNS`, 131 columns before `x_0`, among them `eye_lmk_x_*`), or every column OpenFace writes
  (`OPENFACE_2_COLUMNS`), so that readers must select the landmark columns by exact name.

Conventions: frames are uint8 arrays (num_frames, height, width, 3) in RGB order; audio is float in [-1, 1], shape
(samples,) or (channels, samples); landmarks are float arrays (num_frames, 68, 2) of (x, y) pixel positions.
"""

import os
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .media_io_tacfn import LANDMARK_COLUMNS, NUM_LANDMARKS


# per extension: (video encoder, audio encoder); wav holds audio only
DEFAULT_CODECS = {
    ".mp4": ("libx264", "aac"),
    ".mov": ("libx264", "aac"),
    ".mkv": ("libx264", "aac"),
    ".avi": ("mpeg4", "pcm_s16le"),
    ".wav": (None, "pcm_s16le"),
    ".m4a": (None, "aac"),
    ".mp3": (None, "libmp3lame"),
}
CHANNEL_LAYOUTS = {1: "mono", 2: "stereo"}
# encoder options used unless others are given: fast to write
DEFAULT_ENCODER_OPTIONS = {"libx264": {"preset": "ultrafast", "crf": "20"}, "aac": {"aac_coder": "fast"}}
# the audio frame format each PCM encoder takes (others take planar float)
PCM_FORMATS = {"pcm_s16le": "s16", "pcm_f32le": "flt"}

NUM_EYE_LANDMARKS = 56
OPENFACE_ACTION_UNITS = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23",
    "AU25", "AU26", "AU45",
)  # fmt: skip
# every column OpenFace 2 `FeatureExtraction` writes, in its order
OPENFACE_2_COLUMNS = (
    "frame", "face_id", "timestamp", "confidence", "success",
    "gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z", "gaze_angle_x", "gaze_angle_y",
    *(f"eye_lmk_{axis}_{index}" for axis in ("x", "y", "X", "Y", "Z") for index in range(NUM_EYE_LANDMARKS)),
    "pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz",
    *LANDMARK_COLUMNS,
    *(f"{axis}_{index}" for axis in ("X", "Y", "Z") for index in range(NUM_LANDMARKS)),
    "p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty", *(f"p_{index}" for index in range(34)),
    *(f"{unit}_r" for unit in OPENFACE_ACTION_UNITS),
    *(f"{unit}_c" for unit in (*OPENFACE_ACTION_UNITS[:-1], "AU28", "AU45")),
)  # fmt: skip
# the columns of RAVDESS's FacialTracking files: OpenFace 2's without the 3-D eye and face landmarks and the shape
# parameters p_0 .. p_33
OPENFACE_COLUMNS = tuple(
    name
    for name in OPENFACE_2_COLUMNS
    if not name.startswith(("eye_lmk_X", "eye_lmk_Y", "eye_lmk_Z", "X_", "Y_", "Z_"))
    and not (name.startswith("p_") and name[2:].isdigit())
)


def write_clip(
    path: str | os.PathLike,
    frames: np.ndarray | None,
    fps: float | None,
    audio: np.ndarray | None = None,
    sample_rate: int = 44100,
    video_codec: str | None = None,
    audio_codec: str | None = None,
    encoder_options: dict | None = None,
    faststart: bool = False,
    display_rotation: int = 0,
) -> Path:
    """Encode frames and / or a waveform into a media file whose extension picks the container and default codecs.

    Args:
        path: The output file: `.mp4`, `.mov`, `.mkv` (H.264 + AAC), `.avi` (MPEG-4 part 2 + 16-bit PCM), or audio
            only `.wav` (16-bit PCM), `.m4a` (AAC) or `.mp3` (MP3, LAME).
        frames: uint8 RGB frames (num_frames, height, width, 3) with even height and width, or `None` for a file
            without a video stream.
        fps: Frame rate; fractional rates such as 29.97 are stored as exact fractions. Unused without frames.
        audio: Float waveform in [-1, 1], (samples,) for mono or (channels, samples) with 1 or 2 channels; `None`
            writes a file without an audio stream. 16-bit PCM holds `to_int16(audio)`.
        sample_rate: Sampling rate of `audio` in Hz.
        video_codec: Another video encoder than the container's default (e.g. `"mjpeg"`).
        audio_codec: Another audio encoder than the container's default (e.g. `"pcm_f32le"` for float samples).
        encoder_options: Video encoder options instead of the defaults (for H.264 `{"preset": "ultrafast", "crf":
            "20"}`); `{"preset": "medium"}` gives files like typical camera or ffmpeg output (B-frames, CABAC).
        faststart: For mp4 / mov, put the index (moov atom) before the media data, as files prepared for streaming
            have it; by default it follows the data.
        display_rotation: Degrees counter-clockwise that players turn the stored frames by (a display matrix, as
            ffprobe prints it): a phone held upright stores its frames sideways with -90 (the old `rotate=90` tag).

    Returns:
        The written path.
    """
    path = Path(path)
    extension = path.suffix.lower()
    if extension not in DEFAULT_CODECS:
        raise ValueError(f"write_clip: {path} must end with one of {tuple(DEFAULT_CODECS)}.")
    default_video_codec, default_audio_codec = DEFAULT_CODECS[extension]
    if frames is None and audio is None:
        raise ValueError(f"write_clip: {path} needs frames, audio or both.")
    if frames is not None and default_video_codec is None:
        raise ValueError(f"write_clip: {path} holds audio only; frames cannot go into it.")
    frames = None if frames is None else _checked_frames(frames, path)
    audio = None if audio is None else _as_channels_first(audio, path)
    options = {"movflags": "faststart"} if faststart and extension in (".mp4", ".mov") else {}
    with av.open(str(path), mode="w", options=options) as container:
        # every stream is added before the first packet is muxed (that writes the header)
        video_stream = None
        if frames is not None:
            codec = video_codec or default_video_codec
            video_stream = _add_video_stream(container, codec, frames.shape[1:3], fps, encoder_options)
            if display_rotation:
                video_stream.set_display_rotation(display_rotation)
        audio_stream = None
        if audio is not None:
            codec = audio_codec or default_audio_codec
            audio_stream = _add_audio_stream(container, codec, audio.shape[0], sample_rate)
        if video_stream is not None:
            for frame in frames:
                container.mux(video_stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(video_stream.encode())
        if audio_stream is not None:
            container.mux(audio_stream.encode(_audio_frame(audio, sample_rate, audio_stream.codec_context.name)))
            container.mux(audio_stream.encode())
    return path


def write_long_clip(
    path: str | os.PathLike,
    make_frame,
    num_frames: int,
    fps: float,
    audio: np.ndarray | None = None,
    sample_rate: int = 44100,
    encoder_options: dict | None = None,
) -> Path:
    """`write_clip` for recordings too long to hold in memory: H.264 (+ AAC) frames made one at a time and encoded as
    they come.

    Args:
        path: The output `.mp4`, `.mov` or `.mkv` file.
        make_frame: Called with each frame index; returns a uint8 RGB frame (H, W, 3) of one even size for all.
        num_frames: Frames to write.
        fps: Frame rate.
        audio, sample_rate, encoder_options: As in `write_clip` (e.g. `{"preset": "ultrafast", "g": "30"}` for a
            keyframe every 30 frames, as phones record).

    Returns:
        The written path.
    """
    path = Path(path)
    if path.suffix.lower() not in (".mp4", ".mov", ".mkv"):
        raise ValueError(f"write_long_clip: {path} must end with .mp4, .mov or .mkv.")
    first = _checked_frames(make_frame(0)[None], path)[0]
    audio = None if audio is None else _as_channels_first(audio, path)
    with av.open(str(path), mode="w") as container:
        video_stream = _add_video_stream(container, "libx264", first.shape[:2], fps, encoder_options)
        audio_stream = None if audio is None else _add_audio_stream(container, "aac", audio.shape[0], sample_rate)
        for index in range(num_frames):
            frame = first if index == 0 else make_frame(index)
            container.mux(video_stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video_stream.encode())
        if audio_stream is not None:
            container.mux(audio_stream.encode(_audio_frame(audio, sample_rate, "aac")))
            container.mux(audio_stream.encode())
    return path


def _checked_frames(frames: np.ndarray, path: Path) -> np.ndarray:
    """`frames` as an array, after checking it is uint8 (T, H, W, 3) with an even frame size."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(
            f"write_clip: frames for {path} must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}."
        )
    if frames.shape[1] % 2 or frames.shape[2] % 2:
        raise ValueError(
            f"write_clip: video needs an even frame size, got {frames.shape[2]}x{frames.shape[1]} for {path}."
        )
    return frames


def _add_video_stream(container, codec: str, size: tuple[int, int], fps: float, options: dict | None):
    """Add a `codec` stream of frames of `size` = (height, width) at `fps` to an output container."""
    stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
    stream.height, stream.width = size
    # MJPEG wants full-range YUV
    stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    stream.options = DEFAULT_ENCODER_OPTIONS.get(codec, {}) if options is None else options
    return stream


def _add_audio_stream(container, codec: str, num_channels: int, sample_rate: int):
    """Add a `codec` stream with `num_channels` (1 or 2) channels to an output container."""
    stream = container.add_stream(codec, rate=sample_rate, layout=CHANNEL_LAYOUTS[num_channels])
    stream.options = DEFAULT_ENCODER_OPTIONS.get(codec, {})
    return stream


def _audio_frame(audio: np.ndarray, sample_rate: int, codec: str) -> av.AudioFrame:
    """A whole (channels, samples) float32 waveform as one audio frame in the format `codec` takes; the encoder splits
    it. PCM gets interleaved samples, 16-bit ones converted by `to_int16`; other encoders planar float."""
    layout = CHANNEL_LAYOUTS[audio.shape[0]]
    sample_format = PCM_FORMATS.get(codec, "fltp")
    if sample_format == "fltp":
        frame = av.AudioFrame.from_ndarray(audio, format="fltp", layout=layout)
    else:
        samples = to_int16(audio) if sample_format == "s16" else audio
        # (channels, samples) -> (1, samples * channels), interleaved
        frame = av.AudioFrame.from_ndarray(samples.T.reshape(1, -1), format=sample_format, layout=layout)
    frame.sample_rate = sample_rate
    return frame


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] -> 16-bit PCM, `round(x * 32767)`, as every 16-bit track `write_clip` writes holds."""
    return np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


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
    header: Sequence[str] = OPENFACE_COLUMNS,
) -> Path:
    """Write one row per video frame in OpenFace 2's CSV layout.

    `frame` counts from 1, `timestamp` is `(frame - 1) / fps`, `x_i` / `y_i` hold the landmarks; other columns hold
    the values given in `columns`, else `face_id` 0, `confidence` 0.98, `success` 1 and 0 for the rest.

    Args:
        path: The output `.csv` file.
        landmarks: (x, y) pixel positions of the 68 landmarks, shape (num_frames, 68, 2).
        fps: Frame rate of the video the landmarks belong to.
        columns: Optional per-frame values, shape (num_frames,), of other OpenFace columns by name (e.g.
            `"pose_Rz"`, `"AU12_r"`).
        header: The columns to write, in OpenFace's order: `OPENFACE_COLUMNS` (RAVDESS's), `OPENFACE_2_COLUMNS` (all
            of OpenFace 2's) or a part of either.

    Returns:
        The written path.
    """
    path = Path(path)
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (NUM_LANDMARKS, 2) or len(landmarks) == 0:
        raise ValueError(f"write_openface_csv: landmarks for {path} must be (T, 68, 2), got {landmarks.shape}.")
    num_frames = len(landmarks)
    table = {name: np.zeros(num_frames) for name in header}
    table.update(confidence=np.full(num_frames, 0.98), success=np.ones(num_frames))
    for name, values in (columns or {}).items():
        if name not in table:
            raise ValueError(f"write_openface_csv: {name!r} is not a column of the header.")
        table[name] = np.broadcast_to(np.asarray(values, dtype=np.float64), (num_frames,))
    table["frame"] = np.arange(1, num_frames + 1)
    table["timestamp"] = (table["frame"] - 1) / fps
    for index in range(NUM_LANDMARKS):
        table[f"x_{index}"], table[f"y_{index}"] = landmarks[:, index, 0], landmarks[:, index, 1]
    # (columns, frames) -> (frames, columns)
    rows = np.stack([table[name] for name in header], axis=1)
    formats = [_column_format(name) for name in header]
    lines = [", ".join(header)]
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
