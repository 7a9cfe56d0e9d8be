"""Small talking-face clips for the web demo, drawn and voiced here so that the demo needs no download: a cartoon face
whose mouth moves with a synthetic voice, encoded as H.264 + AAC mp4 with PyAV. Each clip has its own expression and
voice, so that a model shows different answers (and attention pictures) for them."""

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from processing.media_writing import write_clip


FRAME_SIZE = 256
FPS = 25
DURATION = 3.0
SAMPLE_RATE = 44100
SKIN = (224, 172, 140)
FEATURES = (50, 35, 30)


@dataclass(frozen=True)
class ClipStyle:
    """
    How a demo clip looks and sounds.

    Attributes:
        smile: Mouth corners up (positive) or down (negative), as a fraction of the face height.
        brow_lift: Eyebrows raised (positive) or lowered toward the eyes (negative), as a fraction of the face height.
        pitch: Mean pitch of the voice in Hz.
        pitch_swing: How far the pitch moves around its mean, in Hz.
        syllables_per_second: Speaking rate; the mouth opens once per syllable.
        loudness: Peak amplitude of the voice, in (0, 1].
    """

    smile: float
    brow_lift: float
    pitch: float
    pitch_swing: float
    syllables_per_second: float
    loudness: float


DEMO_STYLES = {
    "smiling_bright_voice": ClipStyle(0.06, 0.02, 230.0, 60.0, 4.5, 0.7),
    "frowning_low_voice": ClipStyle(-0.05, -0.04, 105.0, 10.0, 2.5, 0.4),
    "surprised_rising_voice": ClipStyle(0.0, 0.08, 260.0, 90.0, 3.0, 0.8),
}


def write_demo_clips(folder) -> list[Path]:
    """
    Write the demo clips that are not in `folder` yet and return the paths of all of them.

    Args:
        folder (`str` or `os.PathLike`): Where the clips go; created when missing.

    Returns:
        `list[Path]`, one mp4 per entry of `DEMO_STYLES`, in that order.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, style in DEMO_STYLES.items():
        path = folder / f"{name}.mp4"
        if not path.is_file():
            syllables = syllable_envelope(style, int(DURATION * FPS), FPS)
            frames, voice = draw_face(style, syllables), synthesise_voice(style, DURATION, SAMPLE_RATE)
            write_clip(path, frames, FPS, voice, SAMPLE_RATE)
        paths.append(path)
    return paths


def syllable_envelope(style: ClipStyle, length: int, rate: float) -> np.ndarray:
    """How open the mouth is (0 to 1) at `length` instants `1 / rate` seconds apart: one opening per syllable."""
    time = np.arange(length) / rate
    return np.clip(np.sin(2 * np.pi * style.syllables_per_second * time), 0, None) ** 2


def draw_face(style: ClipStyle, mouth_opening: np.ndarray) -> np.ndarray:
    """
    Frames of a frontal cartoon face on a plain background, its mouth opened by `mouth_opening`.

    Args:
        style (`ClipStyle`): The expression.
        mouth_opening (`np.ndarray` of shape `(frames,)`): Mouth opening of every frame, 0 to 1.

    Returns:
        `np.ndarray` of uint8 with shape `(frames, FRAME_SIZE, FRAME_SIZE, 3)`, RGB.
    """
    size = FRAME_SIZE
    centre_x, centre_y = size // 2, size // 2
    face_width, face_height = int(size * 0.30), int(size * 0.38)
    background = np.linspace(70, 150, size, dtype=np.float32)[None, :, None] * np.array([0.7, 0.85, 1.0], np.float32)
    frames = np.empty((len(mouth_opening), size, size, 3), dtype=np.uint8)
    for index, opening in enumerate(mouth_opening):
        image = np.ascontiguousarray(np.broadcast_to(background, (size, size, 3)).astype(np.uint8))
        cv2.ellipse(image, (centre_x, centre_y), (face_width, face_height), 0, 0, 360, SKIN, -1)
        eye_y = centre_y - int(0.25 * face_height)
        brow_y = eye_y - int((0.18 + style.brow_lift) * face_height)
        for side in (-1, 1):
            eye_x = centre_x + side * int(0.4 * face_width)
            cv2.ellipse(
                image, (eye_x, eye_y), (int(0.22 * face_width), int(0.1 * face_height)), 0, 0, 360, (245, 245, 245), -1
            )
            cv2.circle(image, (eye_x, eye_y), int(0.07 * face_height), FEATURES, -1)
            inner, outer = eye_x - side * int(0.2 * face_width), eye_x + side * int(0.25 * face_width)
            cv2.line(image, (inner, brow_y), (outer, brow_y - int(0.03 * face_height)), FEATURES, 4)
        cv2.line(image, (centre_x, eye_y + 10), (centre_x - 6, centre_y + int(0.2 * face_height)), (170, 120, 100), 3)
        _draw_mouth(image, centre_x, centre_y + int(0.5 * face_height), face_width, face_height, style, opening)
        frames[index] = image
    return frames


def _draw_mouth(image, centre_x, centre_y, face_width, face_height, style: ClipStyle, opening: float) -> None:
    """Lips as a curve whose corners follow `style.smile`, opened vertically by `opening`, drawn in place."""
    half_width = int(0.4 * face_width)
    xs = np.linspace(-half_width, half_width, 21)
    corner_lift = style.smile * face_height
    # image y grows downwards: a smile puts the middle of the lips below the corners
    middle = corner_lift * (1 - (xs / half_width) ** 2)
    gap = (0.02 + 0.12 * opening) * face_height * (1 - (xs / half_width) ** 2)
    upper = np.stack([centre_x + xs, centre_y + middle - gap / 2], axis=1)
    lower = np.stack([centre_x + xs, centre_y + middle + gap / 2], axis=1)[::-1]
    outline = np.round(np.concatenate([upper, lower])).astype(np.int32)
    cv2.fillPoly(image, [outline], (60, 20, 20))
    cv2.polylines(image, [outline], True, (150, 60, 60), 3)


def synthesise_voice(style: ClipStyle, duration: float, sample_rate: int) -> np.ndarray:
    """
    A voice-like sound: harmonics of a gliding pitch shaped by three formants, in syllables, with some breath noise.

    Args:
        style (`ClipStyle`): Pitch, rate and loudness.
        duration (`float`): Seconds.
        sample_rate (`int`): Samples per second.

    Returns:
        `np.ndarray` of float32 with shape `(samples,)`, peak `style.loudness`.
    """
    time = np.arange(int(round(duration * sample_rate))) / sample_rate
    pitch = style.pitch + style.pitch_swing * np.sin(2 * np.pi * 0.8 * time)
    phase = 2 * np.pi * np.cumsum(pitch) / sample_rate
    voiced = np.zeros_like(time)
    for harmonic in range(1, 30):
        frequency = harmonic * pitch
        gain = sum(
            weight / (1 + ((frequency - centre) / 150) ** 2)
            for centre, weight in ((700, 1.0), (1200, 0.6), (2600, 0.3))
        )
        voiced += gain / harmonic**0.5 * np.sin(harmonic * phase) * (frequency < sample_rate / 2)
    noise = np.random.default_rng(0).standard_normal(len(time))
    signal = voiced * syllable_envelope(style, len(time), sample_rate) + 0.02 * noise
    return (style.loudness * signal / np.abs(signal).max()).astype(np.float32)
