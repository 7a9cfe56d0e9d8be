"""Factories for real test media: videos with real codecs, wav files, OpenFace landmark CSVs and synthetic content.

Everything here writes genuine files that ffmpeg-based readers (PyAV, decord, OpenCV) decode like any other media:
H.264 + AAC in mp4 / mov / mkv, MPEG-4 part 2 (or MJPEG) + PCM in avi, PCM wav through soundfile, and CSV files with
the exact header that OpenFace 2 `FeatureExtraction` writes. Nothing in this module knows about emotions or about the
model; other test areas reuse it freely.

Conventions:
    - frames are `uint8` arrays of shape (num_frames, height, width, 3) in RGB order;
    - audio is a float array of shape (channels, samples) with values in [-1, 1];
    - face boxes are `(x_min, y_min, x_max, y_max)` in pixels;
    - landmarks are float arrays of shape (num_frames, 68, 2) holding (x, y) pixel positions in the 68-point layout
      (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67).
"""

import os
from typing import Optional, Sequence, Union

import cv2
import numpy as np

from processing.media_io_tacfn import LANDMARK_COLUMNS
from processing.media_writing import OPENFACE_2_COLUMNS, write_clip
from processing.media_writing import write_openface_csv as write_openface_csv_file


# the columns `write_openface_csv` fills with what they mean; the others get random numbers
FILLED_COLUMNS = {"frame", "face_id", "timestamp", "confidence", "success", *LANDMARK_COLUMNS}


def write_video(
    path: Union[str, os.PathLike], frames: np.ndarray, fps: float = 30.0, audio=None, sample_rate: int = 48000, **options
) -> str:
    """`write_clip` (container and codecs from the extension, `options` its codec and encoder keywords) with the
    tests' defaults of 30 fps and 48 kHz, returning the path as a string, as decord takes it."""
    return str(write_clip(path, frames, fps, audio, sample_rate, **options))


def write_wav(path: Union[str, os.PathLike], audio: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> str:
    """A wav file of `audio` written by `write_clip`: 16-bit PCM (`to_int16` samples) or, with `subtype="FLOAT"`,
    32-bit float samples exactly as given."""
    codec = "pcm_f32le" if subtype == "FLOAT" else "pcm_s16le"
    return str(write_clip(path, None, None, audio, sample_rate, audio_codec=codec))


def write_openface_csv(
    path: Union[str, os.PathLike],
    landmarks: np.ndarray,
    fps: float,
    success: Optional[Sequence[int]] = None,
    drop_columns: Sequence[str] = (),
    seed: int = 0,
) -> str:
    """An OpenFace 2 CSV with every column OpenFace writes (`OPENFACE_2_COLUMNS`) but `drop_columns`, written by the
    project's `write_openface_csv`: landmark columns hold `landmarks`, and every column besides those and the frame
    counters holds random numbers, so that a reader that picks columns by position instead of by name gets garbage.

    Args:
        path: Output `.csv` file.
        landmarks: Float array (num_frames, 68, 2) of (x, y) pixel positions, one row per video frame.
        fps: Frame rate used for the `timestamp` column.
        success: Optional per-frame 0/1 tracking success flags (default all 1); `confidence` is 0 where it is 0.
        drop_columns: Column names to leave out (e.g. the landmark columns, to make an invalid CSV).
        seed: Seed for the filler values.

    Returns:
        The path as a string.
    """
    num_frames = len(landmarks)
    success = np.ones(num_frames) if success is None else np.asarray(success, dtype=np.float64)
    header = [name for name in OPENFACE_2_COLUMNS if name not in set(drop_columns)]
    rng = np.random.default_rng(seed)
    columns = {name: rng.uniform(-50, 50, num_frames) for name in header if name not in FILLED_COLUMNS}
    columns.update(success=success, confidence=0.98 * success, face_id=0)
    return str(write_openface_csv_file(path, landmarks, fps, columns, header))


def speech_like_audio(
    duration: float = 3.0,
    sample_rate: int = 48000,
    channels: int = 1,
    seed: int = 0,
    amplitude: float = 0.5,
) -> np.ndarray:
    """Synthesise a speech-like signal: a voiced source with a gliding pitch, formant resonances and syllable bursts.

    The signal has harmonics from ~100-250 Hz up to several kHz, silences between syllables and some breath noise, so
    MFCCs vary in time and in every coefficient, as with real speech.

    Args:
        duration: Length in seconds.
        sample_rate: Sample rate in Hz.
        channels: Number of channels; extra channels are delayed, scaled copies with their own noise, so a channel mix
            differs from every single channel.
        seed: Random seed.
        amplitude: Peak amplitude of the result.

    Returns:
        float32 array (channels, samples).
    """
    rng = np.random.default_rng(seed)
    num_samples = int(round(duration * sample_rate))
    time = np.arange(num_samples) / sample_rate
    pitch = 150 + 60 * np.sin(2 * np.pi * 0.7 * time + rng.uniform(0, np.pi)) + 20 * np.sin(2 * np.pi * 3.1 * time)
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    formants = [(700, 1.0), (1200, 0.6), (2600, 0.3)]
    voiced = np.zeros(num_samples)
    for harmonic in range(1, 40):
        frequency = harmonic * pitch
        gain = sum(weight / (1 + ((frequency - centre) / 150) ** 2) for centre, weight in formants) / harmonic**0.5
        voiced += gain * np.sin(harmonic * phase) * (frequency < sample_rate / 2)
    syllables = np.clip(np.sin(2 * np.pi * 4.0 * time + rng.uniform(0, np.pi)), 0, None) ** 2
    signal = voiced * syllables + 0.02 * rng.standard_normal(num_samples)
    signal = amplitude * signal / np.max(np.abs(signal))
    output = [signal]
    for channel in range(1, channels):
        delay = 7 * channel
        copy = np.concatenate([np.zeros(delay), signal[:-delay]]) * (1 - 0.2 * channel)
        output.append(copy + 0.01 * rng.standard_normal(num_samples))
    return np.stack(output).astype(np.float32)


def face_landmarks(
    num_frames: int, face_box: Union[Sequence[float], np.ndarray], mouth_open: float = 0.5
) -> np.ndarray:
    """68 facial landmarks inside a face box for every frame.

    Args:
        num_frames: Number of frames.
        face_box: `(x_min, y_min, x_max, y_max)` for all frames, or an array (num_frames, 4) of per-frame boxes.
        mouth_open: How far the mouth opens over time (0 = closed); it opens and closes once a second at 30 fps.

    Returns:
        float32 array (num_frames, 68, 2) of (x, y) pixel positions; the jaw touches the box's left, right and bottom
        edges and the brows sit near its top, so the landmarks' bounding box is close to `face_box`.
    """
    boxes = np.broadcast_to(np.asarray(face_box, dtype=np.float64), (num_frames, 4))
    landmarks = np.empty((num_frames, 68, 2), dtype=np.float64)
    for index in range(num_frames):
        opening = mouth_open * 0.5 * (1 - np.cos(2 * np.pi * index / 30))
        unit = _unit_face_template(opening)
        x_min, y_min, x_max, y_max = boxes[index]
        landmarks[index, :, 0] = x_min + unit[:, 0] * (x_max - x_min)
        landmarks[index, :, 1] = y_min + unit[:, 1] * (y_max - y_min)
    return landmarks.astype(np.float32)


def _unit_face_template(opening: float) -> np.ndarray:
    """68 landmarks in unit face-box coordinates (x right, y down) with the mouth opened by `opening` in [0, 1]."""

    def ellipse(centre_x, centre_y, radius_x, radius_y, count, start, stop, endpoint=False):
        angles = np.linspace(start, stop, count, endpoint=endpoint)
        return np.stack([centre_x + radius_x * np.cos(angles), centre_y + radius_y * np.sin(angles)], axis=1)

    jaw = ellipse(0.5, 0.3, 0.5, 0.7, 17, np.pi, 0, endpoint=True)
    left_brow = np.stack([np.linspace(0.15, 0.42, 5), [0.02, 0.0, 0.0, 0.02, 0.05]], axis=1)
    right_brow = np.stack([np.linspace(0.58, 0.85, 5), [0.05, 0.02, 0.0, 0.0, 0.02]], axis=1)
    nose_bridge = np.stack([np.full(4, 0.5), np.linspace(0.32, 0.55, 4)], axis=1)
    nose_base = np.stack([np.linspace(0.4, 0.6, 5), [0.6, 0.62, 0.63, 0.62, 0.6]], axis=1)
    left_eye = ellipse(0.3, 0.35, 0.09, 0.04, 6, np.pi, -np.pi)
    right_eye = ellipse(0.7, 0.35, 0.09, 0.04, 6, np.pi, -np.pi)
    outer_lips = ellipse(0.5, 0.78, 0.18, 0.05 + 0.06 * opening, 12, np.pi, -np.pi)
    inner_lips = ellipse(0.5, 0.78, 0.12, 0.01 + 0.05 * opening, 8, np.pi, -np.pi)
    parts = [jaw, left_brow, right_brow, nose_bridge, nose_base, left_eye, right_eye, outer_lips, inner_lips]
    return np.concatenate(parts, axis=0)


def face_frames(
    num_frames: int,
    height: int,
    width: int,
    face_box: Optional[Union[Sequence[float], np.ndarray]] = None,
    seed: int = 0,
    mouth_open: float = 0.5,
) -> np.ndarray:
    """Draw frontal, face-like frames: a skin-coloured head, dark brows, eyes and mouth on a textured background.

    The features are drawn at the positions that `face_landmarks(num_frames, face_box, mouth_open)` returns, so frames
    and landmarks made with the same arguments agree. The drawing is contrasted enough for dlib's HOG frontal-face
    detector to find it at face sizes from about 100 pixels.

    Args:
        num_frames: Number of frames.
        height: Frame height in pixels.
        width: Frame width in pixels.
        face_box: `(x_min, y_min, x_max, y_max)` or (num_frames, 4) per-frame boxes; default a centred box half the
            frame height tall.
        seed: Seed for the background texture (the texture drifts a little from frame to frame).
        mouth_open: Passed to `face_landmarks`.

    Returns:
        uint8 array (num_frames, height, width, 3), RGB.
    """
    if face_box is None:
        size = height // 2
        face_box = ((width - size * 0.8) / 2, (height - size) / 2, (width + size * 0.8) / 2, (height + size) / 2)
    landmarks = face_landmarks(num_frames, face_box, mouth_open)
    rng = np.random.default_rng(seed)
    gradient = np.linspace(60, 140, width, dtype=np.float32)[None, :, None] * np.array([0.6, 0.8, 1.0], np.float32)
    texture = rng.normal(0, 12, (height, width, 1)).astype(np.float32)
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for index in range(num_frames):
        background = np.clip(gradient + np.roll(texture, index, axis=1), 0, 255).astype(np.uint8)
        frames[index] = _draw_face(np.ascontiguousarray(background), landmarks[index])
    return frames


def _draw_face(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Draw one face from its 68 landmarks onto an RGB image in place and return it."""

    def polygon(indices):
        return np.round(points[indices]).astype(np.int32)

    jaw = points[0:17]
    centre = (int(round(jaw[:, 0].mean())), int(round((points[19, 1] + jaw[8, 1]) / 2)))
    axes = (int(round((jaw[16, 0] - jaw[0, 0]) / 2)), int(round((jaw[8, 1] - points[19, 1]) / 2 * 1.15)))
    cv2.ellipse(image, centre, axes, 0, 0, 360, (224, 172, 140), -1)
    thickness = max(1, axes[0] // 12)
    for brow in (range(17, 22), range(22, 27)):
        cv2.polylines(image, [polygon(list(brow))], False, (60, 40, 30), thickness)
    for eye in (range(36, 42), range(42, 48)):
        cv2.fillPoly(image, [polygon(list(eye))], (245, 245, 245))
        pupil = points[list(eye)].mean(axis=0)
        cv2.circle(image, (int(round(pupil[0])), int(round(pupil[1]))), max(1, axes[1] // 14), (40, 30, 30), -1)
    cv2.polylines(image, [polygon(list(range(27, 31)) + list(range(31, 36)))], False, (170, 120, 100), thickness)
    cv2.fillPoly(image, [polygon(list(range(48, 60)))], (150, 60, 60))
    cv2.fillPoly(image, [polygon(list(range(60, 68)))], (50, 20, 20))
    return image


def box_frames(
    boxes: np.ndarray,
    height: int,
    width: int,
    colour: Sequence[int] = (230, 40, 200),
    seed: int = 0,
) -> np.ndarray:
    """Frames showing one solid rectangle per frame on a noisy background, for checking where a crop lands.

    Args:
        boxes: Integer `(x_min, y_min, x_max, y_max)` per frame, shape (num_frames, 4); the rectangle covers
            `[x_min, x_max) x [y_min, y_max)`.
        height: Frame height in pixels.
        width: Frame width in pixels.
        colour: RGB colour of the rectangle; the background is grey-green noise far from it.
        seed: Seed for the background noise.

    Returns:
        uint8 array (num_frames, height, width, 3), RGB.
    """
    boxes = np.asarray(boxes, dtype=int)
    rng = np.random.default_rng(seed)
    frames = rng.integers(40, 120, (len(boxes), height, width, 3), dtype=np.uint8)
    frames[..., 1] = 130
    for frame, (x_min, y_min, x_max, y_max) in zip(frames, boxes):
        frame[y_min:y_max, x_min:x_max] = colour
    return frames


def truncate_file(path: Union[str, os.PathLike], keep_fraction: float, output: Union[str, os.PathLike]) -> str:
    """Copy the first `keep_fraction` of a file's bytes to `output` (e.g. a download cut off half way).

    Args:
        path: Source file.
        keep_fraction: Fraction of the bytes to keep, in (0, 1).
        output: Destination file.

    Returns:
        The destination path as a string.
    """
    with open(path, "rb") as handle:
        data = handle.read()
    with open(output, "wb") as handle:
        handle.write(data[: int(len(data) * keep_fraction)])
    return str(output)
