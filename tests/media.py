"""Test media on top of the project's own writer and synthesis: videos with real codecs, wav files, OpenFace landmark
CSVs with every OpenFace 2 column, faces fitted into boxes, speech, plain rectangles and cut-off files.

The files are written by `processing.media_writing.write_clip` (H.264 + AAC in mp4 / mov / mkv, MPEG-4 part 2 or
MJPEG + PCM in avi, PCM wav) and `write_openface_csv`; faces and voices come from `training.data.talking_faces`, as
in the demo data. What is here is what only tests need: the tests' defaults, boxes to fit faces into, random filler
columns, rectangles for checking crops and truncated files. Other test areas reuse it freely.

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
from matplotlib.cbook import get_sample_data
from matplotlib.image import imread
from skimage.data import astronaut

from processing.face_landmarks_tacfn import detect_faces, fit_landmarks
from processing.media_io_tacfn import LANDMARK_COLUMNS
from processing.media_writing import OPENFACE_2_COLUMNS, write_clip
from processing.media_writing import write_openface_csv as write_openface_csv_file
from training.data.demo import VOICES, make_actor
from training.data.talking_faces import RELAXED, ClipFormat, draw_face, face_shape, synthesise_voice


SKIN = (224, 172, 140)
SHIRT = (70, 90, 150)
# the tests' speaker (pitch, timbre, hair) and voice: the demo data's first actor, speaking calmly
SPEAKER = make_actor(1, seed=0)
SPEECH_VOICE = VOICES[1]
# the columns `write_openface_csv` fills with what they mean; the others get random numbers
FILLED_COLUMNS = {"frame", "face_id", "timestamp", "confidence", "success", *LANDMARK_COLUMNS}


def write_video(
    path: Union[str, os.PathLike],
    frames: np.ndarray,
    fps: float = 30.0,
    audio: Optional[np.ndarray] = None,
    sample_rate: int = 48000,
    **options,
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
    """The demo data's synthetic voice (`talking_faces.synthesise_voice`): syllables of harmonics from ~100 Hz up to
    several kHz shaped by vowel formants, consonant bursts, pauses and background noise, so MFCCs vary in time and in
    every coefficient, as with real speech.

    Args:
        duration: Length in seconds.
        sample_rate: Sample rate in Hz.
        channels: Number of channels; extra channels are delayed, scaled copies with their own noise, so a channel mix
            differs from every single channel.
        seed: Random seed (it also picks which of the two statements is said).
        amplitude: Peak amplitude of the first channel.

    Returns:
        float32 array (channels, samples).
    """
    rng = np.random.default_rng(seed)
    clip_format = ClipFormat(duration=duration, sample_rate=sample_rate)
    signal = synthesise_voice(SPEECH_VOICE, SPEAKER, seed % 2, clip_format, rng)
    signal = amplitude * signal / np.max(np.abs(signal))
    output = [signal]
    for channel in range(1, channels):
        delay = 7 * channel
        copy = np.concatenate([np.zeros(delay), signal[:-delay]]) * (1 - 0.2 * channel)
        output.append(copy + 0.01 * rng.standard_normal(len(signal)))
    return np.stack(output).astype(np.float32)


def face_landmarks(
    num_frames: int, face_box: Union[Sequence[float], np.ndarray], mouth_open: float = 0.5
) -> np.ndarray:
    """The 68 landmarks of the demo data's relaxed face (`talking_faces.face_shape`) fitted into a face box, every
    frame.

    Args:
        num_frames: Number of frames.
        face_box: `(x_min, y_min, x_max, y_max)` for all frames, or an array (num_frames, 4) of per-frame boxes.
        mouth_open: How far the mouth opens over time (0 = closed); it opens and closes once a second at 30 fps.

    Returns:
        float32 array (num_frames, 68, 2) of (x, y) pixel positions: the face keeps its proportions, is centred in the
        box and fills it in its narrower direction (for the usual taller-than-wide box: the temples touch its sides),
        so the landmarks' bounding box lies inside `face_box`.
    """
    boxes = np.broadcast_to(np.asarray(face_box, dtype=np.float64), (num_frames, 4))
    relaxed = face_shape(RELAXED, 0.0, 0.0)
    # the face's extent in face units, (2,) each
    low, high = relaxed.min(axis=0), relaxed.max(axis=0)
    landmarks = np.empty((num_frames, 68, 2), dtype=np.float64)
    for index, box in enumerate(boxes):
        opening = mouth_open * 0.5 * (1 - np.cos(2 * np.pi * index / 30))
        scale = ((box[2:] - box[:2]) / (high - low)).min()
        centre = (box[:2] + box[2:]) / 2
        landmarks[index] = centre + (face_shape(RELAXED, opening, 0.0) - (low + high) / 2) * scale
    return landmarks.astype(np.float32)


def face_frames(
    num_frames: int,
    height: int,
    width: int,
    face_box: Optional[Union[Sequence[float], np.ndarray]] = None,
    seed: int = 0,
    mouth_open: float = 0.5,
) -> np.ndarray:
    """Frames of the demo data's face (`talking_faces.draw_face`: head, hair, brows, eyes, nose and lips, on
    shoulders) drawn at `face_landmarks(num_frames, face_box, mouth_open)`, in skin colour `SKIN`, on a textured
    background. dlib's HOG frontal-face detector finds it at face widths from about 60 pixels.

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
        frames[index] = np.clip(gradient + np.roll(texture, index, axis=1), 0, 255).astype(np.uint8)
        draw_face(frames[index], landmarks[index], SKIN, SPEAKER.hair, SHIRT)
    return frames


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


def photographed_face(scale: float = 0.5) -> np.ndarray:
    """A real photographed face: Grace Hopper's public-domain US Navy portrait that ships with matplotlib
    (`mpl-data/sample_data/grace_hopper.jpg`, 512x600), scaled by `scale`; uint8 RGB (height, width, 3).

    A hard face for dlib's 68-point predictor (glasses, a wrinkled jaw line against a dark collar): its jaw points move
    by up to a tenth of the face size when the box it is given moves by a few pixels."""
    photo = imread(get_sample_data("grace_hopper.jpg", asfileobj=False))
    return scaled_photo(photo, scale)


def astronaut_photo() -> np.ndarray:
    """A real photographed face, frontal and evenly lit: Eileen Collins's public-domain NASA portrait that ships with
    scikit-image (`skimage.data.astronaut()`, 512x512), the band of 216 rows around her head (the face about 90 pixels
    wide, from x = 179); uint8 RGB (216, 512, 3)."""
    return astronaut()[20:236]


def astronaut_face(scale: float = 1.0) -> np.ndarray:
    """`astronaut_photo` cut to her head (216 x 260 pixels, the face near the middle) and scaled by `scale`."""
    return scaled_photo(astronaut_photo()[:, 110:370], scale)


def scaled_photo(photo: np.ndarray, scale: float) -> np.ndarray:
    """A photo scaled by `scale`: averaged over pixel areas when shrunk, Lanczos-interpolated when enlarged."""
    interpolation = cv2.INTER_AREA if scale <= 1 else cv2.INTER_LANCZOS4
    return cv2.resize(photo, None, fx=scale, fy=scale, interpolation=interpolation)


def still_landmarks(photo: np.ndarray) -> np.ndarray:
    """The 68 points dlib's shape predictor fits on a still photo of one face, in the box the HOG detector finds at the
    photo's own size, (68, 2): the truth the landmark tests and benchmarks move with the photo."""
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    boxes = detect_faces(gray, max(photo.shape))
    if len(boxes) != 1:
        raise ValueError(f"the still photo should show one face to the detector, it finds {len(boxes)}.")
    return fit_landmarks(gray, boxes[0])


def points_box(points: np.ndarray) -> np.ndarray:
    """(..., 68, 2) -> (..., 4) bounding boxes, truncated to whole pixels as the processor's landmark boxes are."""
    return np.concatenate([np.floor(points.min(axis=-2)), np.floor(points.max(axis=-2))], axis=-1)


def panned_frames(
    image: np.ndarray, num_frames: int, height: int, width: int, start: int = 0, step: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """A slow pan over a still image: frame k is the `height` x `width` window whose left edge is `start + k * step`
    pixels from the image's left edge (vertically centred), so the content moves left by `step` whole pixels a frame.

    Returns:
        uint8 array (num_frames, height, width, 3), and the window offsets `(x, y)` per frame, shape (num_frames, 2).
    """
    top = (image.shape[0] - height) // 2
    offsets = np.array([[start + index * step, top] for index in range(num_frames)])
    if offsets[-1, 0] + width > image.shape[1] or top < 0:
        raise ValueError(f"a {width}x{height} pan of {num_frames} frames does not fit in a {image.shape[:2]} image.")
    frames = np.stack([image[top : top + height, x : x + width] for x, _ in offsets])
    return frames, offsets
