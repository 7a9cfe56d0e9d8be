"""Synthetic talking faces: a drawn face that shows an expression, talks and blinks, with its 68 landmarks, and a
synthetic voice. The demo data (`training.data.demo`), the web demo's sample clips and the tests' media are made with
it, so that what the demo model learns is what the web demo shows it.

Faces are built in face units (2 units wide, y down) from an `Expression`, moved into the frame by a random head
motion (`face_track`), and drawn with OpenCV from their pixel landmarks (`draw_face`), so that the landmarks are
exactly where the face is drawn. Voices (`synthesise_voice`) are syllables of harmonics shaped by vowel formants, with
consonant bursts and background noise; a `Voice` sets their pitch, rate, energy contour, brightness and loudness, an
`Actor` the speaker's pitch, vocal tract and timbre. Everything random comes from the generator passed in.
"""

from dataclasses import dataclass

import cv2
import numpy as np


# highest harmonic frequency of the synthetic voice, in Hz
VOICE_BANDWIDTH = 4000.0
# sub-pixel precision of the OpenCV drawing calls: coordinates are passed multiplied by 2**DRAW_SHIFT
DRAW_SHIFT = 4


@dataclass(frozen=True)
class ClipFormat:
    """
    The size and timing of a synthetic clip.

    Attributes:
        frame_height: Frame height in pixels.
        frame_width: Frame width in pixels.
        fps: Frames per second.
        duration: Seconds.
        sample_rate: Audio samples per second.
        zoom: Scales the face and its motion in pixels (1: an actor's face is 22 to 26 pixels per face unit).
    """

    frame_height: int = 120
    frame_width: int = 160
    fps: float = 15
    duration: float = 3.5
    sample_rate: int = 44100
    zoom: float = 1.0

    @property
    def num_frames(self) -> int:
        """Frames in a clip: the whole frames that fit in `duration`."""
        return int(self.duration * self.fps)


@dataclass(frozen=True)
class Expression:
    """
    A drawn facial expression, in face units (the face is 2 units wide).

    Attributes:
        mouth_curve: How far the mouth corners rise (positive, a smile) or drop (negative), in units of 0.16.
        mouth_width: Mouth width relative to a relaxed mouth.
        mouth_open: Opening of the mouth (0 closed, 1 wide) added to the talking movement.
        brow_raise: How far both brows are raised.
        brow_tilt: How far the inner brow ends are pulled down (positive, a scowl) or up (negative), in units of 0.12.
        eye_open: Eye opening relative to relaxed eyes.
    """

    mouth_curve: float
    mouth_width: float
    mouth_open: float
    brow_raise: float
    brow_tilt: float
    eye_open: float


RELAXED = Expression(mouth_curve=0.0, mouth_width=1.0, mouth_open=0.0, brow_raise=0.0, brow_tilt=0.0, eye_open=1.0)


@dataclass(frozen=True)
class Voice:
    """
    A synthetic voice.

    Attributes:
        pitch_factor: Pitch relative to the speaker's own.
        pitch_glide: Relative pitch change from the first to the last syllable.
        syllable_rate: Syllables per second.
        energy_contour: Syllable loudness over the utterance: `"flat"`, `"falling"`, `"rising"` or `"alternating"`
            (strong and weak syllables in turn).
        spectral_tilt: Exponent of the harmonics' 1/k^tilt fall-off: low is bright and tense, high is dark and soft.
        loudness_db: Level relative to the other voices, in dB.
    """

    pitch_factor: float
    pitch_glide: float
    syllable_rate: float
    energy_contour: str
    spectral_tilt: float
    loudness_db: float


# (F1, F2, F3) in Hz of the vowels a, i, u, e, o; each statement is a fixed vowel sequence
VOWEL_FORMANTS = np.array(
    [[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240], [530, 1840, 2480], [570, 840, 2410]]
)
STATEMENT_VOWELS = (
    (0, 1, 3, 4, 0, 2, 1, 3, 0, 4, 2, 1, 3, 0, 4, 1, 2, 0),
    (3, 4, 1, 0, 2, 3, 0, 4, 1, 2, 0, 3, 4, 1, 0, 2, 3, 1),
)
FORMANT_WIDTHS = np.array([90.0, 120.0, 160.0])
FORMANT_GAINS = np.array([4.0, 3.0, 1.5])


@dataclass(frozen=True)
class Actor:
    """
    What stays the same across one synthetic actor's clips.

    Attributes:
        number: RAVDESS actor number, 1..24 (odd: male).
        skin: RGB skin colour.
        hair: RGB hair (and brow) colour.
        pitch: Speaking pitch in Hz.
        formant_scale: Vocal tract scaling of the vowel formants (shorter tract: higher formants).
        tilt_offset: Added to every voice's spectral tilt (the speaker's own timbre).
        face_scale: Face size in pixels per face unit.
    """

    number: int
    skin: tuple
    hair: tuple
    pitch: float
    formant_scale: float
    tilt_offset: float
    face_scale: float


def face_track(
    expression: Expression, actor: Actor, clip_format: ClipFormat, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """The 68 landmarks of every frame in pixels, and the face's motion.

    The face shows `expression` throughout; it has a random position, size and tilt, drifts and sways a little, talks
    (the mouth opens at a random rate of its own) and blinks.

    Returns:
        `(landmarks, motion)`: landmarks of shape (num_frames, 68, 2) and a dict of per-frame arrays (num_frames,):
        `centre_x`, `centre_y` (pixels), `scale` (pixels per face unit), `roll` (radians), `opening`, `blink`.
    """
    times = np.arange(clip_format.num_frames) / clip_format.fps
    zoom = clip_format.zoom
    drift_phase = rng.uniform(0, 2 * np.pi, 3)
    drift_rate = rng.uniform(0.15, 0.5, 3)
    # three slow oscillations, (3, frames): horizontal drift, vertical drift, size and tilt
    sway = np.sin(2 * np.pi * drift_rate[:, None] * times[None] + drift_phase[:, None])
    motion = {
        "centre_x": clip_format.frame_width / 2 + zoom * (rng.uniform(-14, 14) + 3 * sway[0]),
        "centre_y": clip_format.frame_height / 2 + zoom * (2 + rng.uniform(-6, 6) + 2 * sway[1]),
        "scale": zoom * actor.face_scale * rng.uniform(0.9, 1.1) * (1 + 0.03 * sway[2]),
        "roll": np.deg2rad(rng.uniform(-6, 6) + 2 * sway[2]),
        "opening": talking_movement(times, clip_format.duration, rng),
        "blink": blink_track(times, clip_format.duration, rng),
    }
    # (frames, 68, 2) in face units
    unit_points = np.stack(
        [face_shape(expression, opening, blink) for opening, blink in zip(motion["opening"], motion["blink"])]
    )
    return to_pixels(unit_points, motion), motion


def talking_movement(times: np.ndarray, duration: float, rng: np.random.Generator) -> np.ndarray:
    """Mouth opening in [0, 1] per frame: syllable-like opening and closing at a random rate, shape (len(times),)."""
    rate = rng.uniform(2.5, 5.0)
    start, stop = rng.uniform(0.15, 0.45), duration - rng.uniform(0.2, 0.5)
    speaking = (times > start) & (times < stop)
    syllables = np.abs(np.sin(np.pi * rate * (times - start) + rng.uniform(0, 0.5)))
    return 0.45 * speaking * syllables * rng.uniform(0.7, 1.0)


def blink_track(times: np.ndarray, duration: float, rng: np.random.Generator) -> np.ndarray:
    """Eye closure in [0, 1] per frame: blinks of about 0.2 s every 1.5 to 4 s, shape (len(times),)."""
    closure = np.zeros_like(times)
    moment = rng.uniform(0.2, 2.0)
    while moment < duration:
        closure = np.maximum(closure, np.clip(1 - np.abs(times - moment) / 0.1, 0, 1))
        moment += rng.uniform(1.5, 4.0)
    return closure


def face_shape(expression: Expression, opening: float, blink: float) -> np.ndarray:
    """The 68 landmarks of a face in face units: centred, 2 units wide, y pointing down, shape (68, 2).

    The layout is the usual 68-point one: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, outer lips 48-59, inner lips
    60-67 (left and right as seen in the image).
    """
    jaw_angle = np.linspace(0, np.pi, 17)
    jaw = np.stack([-np.cos(jaw_angle), -0.25 + 1.5 * np.sin(jaw_angle)], axis=1)
    return np.concatenate(
        [jaw, brow_points(expression), nose_points(), eye_points(expression, blink), mouth_points(expression, opening)]
    )


def brow_points(expression: Expression) -> np.ndarray:
    """Landmarks 17-26: the left brow from its outer to its inner end, then the right brow from inner to outer."""
    along = np.linspace(0, 1, 5)  # 0 at the outer end, 1 at the inner end
    x = -0.75 + 0.57 * along
    y = -0.5 - expression.brow_raise - 0.06 * np.sin(np.pi * along) + 0.12 * expression.brow_tilt * along
    left = np.stack([x, y], axis=1)
    right = left[::-1] * np.array([-1.0, 1.0])
    return np.concatenate([left, right])


def nose_points() -> np.ndarray:
    """Landmarks 27-35: the nose bridge from top to tip, then the nostrils from left to right."""
    bridge = np.stack([np.zeros(4), np.linspace(-0.38, 0.2, 4)], axis=1)
    nostrils = np.stack([np.linspace(-0.17, 0.17, 5), [0.3, 0.34, 0.36, 0.34, 0.3]], axis=1)
    return np.concatenate([bridge, nostrils])


def eye_points(expression: Expression, blink: float) -> np.ndarray:
    """Landmarks 36-47: each eye from its left corner along the upper lid to its right corner and back along the
    lower lid (36-41 left eye, 42-47 right eye)."""
    height = 0.085 * expression.eye_open * (1 - 0.9 * blink)
    # offsets from the eye centre: left corner, upper lid (2), right corner, lower lid (2)
    offsets = np.array(
        [[-0.2, 0.0], [-0.07, -height], [0.07, -height], [0.2, 0.0], [0.07, 0.8 * height], [-0.07, 0.8 * height]]
    )
    return np.concatenate([offsets + np.array([-0.45, -0.28]), offsets + np.array([0.45, -0.28])])


def mouth_points(expression: Expression, opening: float) -> np.ndarray:
    """Landmarks 48-67: outer lips from the left corner along the upper lip to the right corner and back along the
    lower lip (48-59), then the inner lips likewise (60-67). The mouth bends up (smile) or down with `mouth_curve`."""
    centre_y = 0.65
    half_width = 0.36 * expression.mouth_width
    gap = 0.22 * np.clip(opening + expression.mouth_open, 0, 1)

    def bend(x: np.ndarray) -> np.ndarray:
        return -0.16 * expression.mouth_curve * (x / half_width) ** 2

    def bulge(x: np.ndarray) -> np.ndarray:
        return np.sqrt(np.clip(1 - (x / half_width) ** 2, 0, 1))

    upper_x = half_width * np.array([-1.0, -0.6, -0.25, 0.0, 0.25, 0.6, 1.0])
    lower_x = half_width * np.array([0.6, 0.25, 0.0, -0.25, -0.6])
    inner_upper_x = half_width * np.array([-0.85, -0.4, 0.0, 0.4, 0.85])
    inner_lower_x = half_width * np.array([0.4, 0.0, -0.4])
    upper = centre_y - (gap / 2 + 0.07) * bulge(upper_x) + bend(upper_x)
    lower = centre_y + (gap / 2 + 0.09) * bulge(lower_x) + bend(lower_x)
    inner_upper = centre_y - gap / 2 * bulge(inner_upper_x) + bend(inner_upper_x)
    inner_lower = centre_y + gap / 2 * bulge(inner_lower_x) + bend(inner_lower_x)
    xs = np.concatenate([upper_x, lower_x, inner_upper_x, inner_lower_x])
    ys = np.concatenate([upper, lower, inner_upper, inner_lower])
    return np.stack([xs, ys], axis=1)


def to_pixels(points: np.ndarray, motion: dict) -> np.ndarray:
    """Face-unit points (frames, N, 2) -> pixel points (frames, N, 2): rotated by `roll`, scaled by `scale` and moved
    to (`centre_x`, `centre_y`) frame by frame."""
    cos, sin = np.cos(motion["roll"]), np.sin(motion["roll"])
    # (frames, 2, 2) rotation matrices applied to (frames, N, 2) points
    rotation = np.stack([np.stack([cos, -sin], axis=-1), np.stack([sin, cos], axis=-1)], axis=-2)
    rotated = np.einsum("fij,fnj->fni", rotation, points)
    centre = np.stack([motion["centre_x"], motion["centre_y"]], axis=-1)
    return rotated * motion["scale"][:, None, None] + centre[:, None, :]


def draw_clip(landmarks: np.ndarray, actor: Actor, clip_format: ClipFormat, rng: np.random.Generator) -> np.ndarray:
    """Draw the face of every frame from its landmarks (frames, 68, 2) on a clip background, shape (frames, H, W, 3)
    uint8."""
    background = draw_background(clip_format.frame_height, clip_format.frame_width, rng)
    shirt = tuple(rng.uniform(20, 230, 3).tolist())
    lighting = rng.uniform(0.85, 1.1)
    skin = tuple(np.clip(np.array(actor.skin) * lighting, 0, 255).tolist())
    frames = np.empty((len(landmarks), *background.shape), dtype=np.uint8)
    for index, points in enumerate(landmarks):
        frame = background.copy()
        draw_face(frame, points, skin, actor.hair, shirt)
        frames[index] = frame
    return frames


def draw_background(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A background of shape (H, W, 3) uint8: a vertical blend of two random colours with fixed grain."""
    top, bottom = rng.uniform(30, 230, 3), rng.uniform(30, 230, 3)
    blend = np.linspace(0, 1, height)[:, None, None]
    # (H, 1, 3) colour ramp + (H, W, 1) grain -> (H, W, 3)
    image = top * (1 - blend) + bottom * blend + rng.normal(0, 6, (height, width, 1))
    return np.clip(image, 0, 255).astype(np.uint8)


def draw_face(frame: np.ndarray, points: np.ndarray, skin: tuple, hair: tuple, shirt: tuple) -> None:
    """Draw a face in place from its 68 pixel landmarks (68, 2): shoulders, neck, head, hair, brows, eyes, nose and
    lips. Head outline, hair and shoulders are placed relative to the jaw landmarks."""
    left_temple, right_temple = points[0], points[16]
    across = (right_temple - left_temple) / 2  # half the face width, along the face's x axis
    up = np.array([across[1], -across[0]])  # the face's -y axis, same length
    middle = (left_temple + right_temple) / 2

    def face_point(x: float, y: float) -> np.ndarray:
        """A point given in face units relative to the temples' midpoint (y down)."""
        return middle + x * across - y * up

    crown_angle = np.linspace(0, np.pi, 15)
    crown = np.stack([face_point(np.cos(a), -1.3 * np.sin(a)) for a in crown_angle])
    hair_outline = np.stack([face_point(1.12 * np.cos(a), 0.05 - 1.45 * np.sin(a)) for a in crown_angle])
    hairline = np.stack([face_point(x, -0.75 + 0.15 * x * x) for x in np.linspace(-1.0, 1.0, 9)])
    shoulders = np.stack([face_point(x, y) for x, y in ((-2.6, 3.6), (-1.8, 2.3), (1.8, 2.3), (2.6, 3.6))])
    neck = np.stack([face_point(x, y) for x, y in ((-0.45, 1.0), (0.45, 1.0), (0.5, 2.5), (-0.5, 2.5))])
    darker_skin = tuple(0.8 * channel for channel in skin)

    _fill(frame, shoulders, shirt)
    _fill(frame, neck, darker_skin)
    _fill(frame, np.concatenate([points[0:17], crown]), skin)
    # over the top of the head from right to left, then back along the hairline from left to right
    _fill(frame, np.concatenate([hair_outline, hairline]), hair)
    _line(frame, points[17:22], hair, 2)
    _line(frame, points[22:27], hair, 2)
    _line(frame, points[27:31], darker_skin, 1)
    _line(frame, points[31:36], darker_skin, 1)
    for eye in (points[36:42], points[42:48]):
        _fill(frame, eye, (245, 245, 240))
        iris_radius = min(0.07 * np.linalg.norm(across), max(eye[4, 1] - eye[2, 1], 0.0) / 2)
        if iris_radius > 0.5:
            _circle(frame, eye.mean(axis=0), iris_radius, (50, 40, 30))
        _line(frame, np.concatenate([eye, eye[:1]]), darker_skin, 1)
    _fill(frame, points[48:60], (170, 60, 70))
    _fill(frame, points[60:68], (60, 15, 20))


def _fill(frame: np.ndarray, polygon: np.ndarray, colour: tuple) -> None:
    """Fill a polygon of pixel points (N, 2), anti-aliased, with sub-pixel precision."""
    cv2.fillPoly(frame, [np.round(polygon * 2**DRAW_SHIFT).astype(np.int32)], colour, cv2.LINE_AA, DRAW_SHIFT)


def _line(frame: np.ndarray, points: np.ndarray, colour: tuple, thickness: int) -> None:
    """Draw an open polyline through pixel points (N, 2), anti-aliased, with sub-pixel precision."""
    cv2.polylines(
        frame, [np.round(points * 2**DRAW_SHIFT).astype(np.int32)], False, colour, thickness, cv2.LINE_AA, DRAW_SHIFT
    )


def _circle(frame: np.ndarray, centre: np.ndarray, radius: float, colour: tuple) -> None:
    """Fill a circle, anti-aliased, with sub-pixel precision."""
    centre = tuple(int(value) for value in np.round(centre * 2**DRAW_SHIFT))
    cv2.circle(frame, centre, round(radius * 2**DRAW_SHIFT), colour, -1, cv2.LINE_AA, DRAW_SHIFT)


def synthesise_voice(
    voice: Voice, actor: Actor, statement: int, clip_format: ClipFormat, rng: np.random.Generator
) -> np.ndarray:
    """A voiced utterance of syllables with vowel formants, consonant bursts and background noise.

    Args:
        voice: The emotion's voice.
        actor: The speaker (pitch, formants, timbre).
        statement: 0 or 1, the vowel sequence said.
        clip_format: Duration and sample rate.
        rng: The clip's random generator.

    Returns:
        Mono float32 samples in [-1, 1], shape (duration * sample_rate,).
    """
    duration, sample_rate = clip_format.duration, clip_format.sample_rate
    num_samples = int(duration * sample_rate)
    times = np.arange(num_samples) / sample_rate
    start, stop = rng.uniform(0.2, 0.45), duration - rng.uniform(0.25, 0.5)
    rate = voice.syllable_rate * rng.uniform(0.9, 1.1)
    num_syllables = int((stop - start) * rate)
    onsets = start + (np.arange(num_syllables) + rng.uniform(-0.1, 0.1, num_syllables)) / rate
    progress = np.clip((times - start) / (stop - start), 0, 1)
    pitch = actor.pitch * voice.pitch_factor * rng.uniform(0.95, 1.05)
    pitch_track = pitch * (1 + voice.pitch_glide * progress) * (1 + 0.015 * np.sin(2 * np.pi * 5.5 * times))
    phase = 2 * np.pi * np.cumsum(pitch_track) / sample_rate
    tilt = voice.spectral_tilt + actor.tilt_offset
    vowels = STATEMENT_VOWELS[statement]
    signal = np.zeros(num_samples, dtype=np.float32)
    for index, onset in enumerate(onsets):
        begin, end = int(onset * sample_rate), int((onset + 0.75 / rate) * sample_rate)
        segment = slice(begin, min(end, num_samples))
        length = segment.stop - segment.start
        syllable_pitch = float(pitch_track[segment].mean())
        envelope = np.sin(np.linspace(0, np.pi, length)) ** 0.7
        loudness = syllable_loudness(voice.energy_contour, index, len(onsets)) * rng.uniform(0.85, 1.15)
        formants = VOWEL_FORMANTS[vowels[index % len(vowels)]] * actor.formant_scale
        amplitudes = harmonic_amplitudes(syllable_pitch, formants, tilt, min(VOICE_BANDWIDTH, 0.45 * sample_rate))
        harmonics = np.arange(1, len(amplitudes) + 1, dtype=np.float32)
        # (harmonics, 1) x (1, samples) -> (harmonics, samples) -> (samples,)
        voiced = amplitudes @ np.sin(harmonics[:, None] * phase[None, segment].astype(np.float32))
        # a consonant: a noise burst decaying within about 12 ms
        burst = rng.normal(0, 0.25, length) * np.exp(-np.arange(length) / (0.012 * sample_rate))
        signal[segment] += loudness * (envelope * voiced + burst)
    level = 10 ** ((voice.loudness_db + rng.uniform(-3, 3)) / 20)
    signal *= 0.25 * level / max(float(np.abs(signal).max()), 1e-6)
    signal += rng.normal(0, rng.uniform(0.002, 0.01), num_samples)
    return np.clip(signal, -1, 1).astype(np.float32)


def syllable_loudness(contour: str, index: int, count: int) -> float:
    """Relative loudness of syllable `index` of `count` under an energy contour."""
    position = index / max(count - 1, 1)
    if contour == "falling":
        return 1.3 - 0.8 * position
    if contour == "rising":
        return 0.5 + 0.8 * position
    if contour == "alternating":
        return 1.3 if index % 2 == 0 else 0.5
    return 1.0


def harmonic_amplitudes(pitch: float, formants: np.ndarray, tilt: float, bandwidth: float) -> np.ndarray:
    """Amplitudes of the harmonics of `pitch` up to `bandwidth` Hz: a 1/k^tilt source shaped by three formant
    resonances, normalised to unit energy, float32 of shape (num_harmonics,)."""
    numbers = np.arange(1, int(bandwidth // pitch) + 1)
    frequencies = numbers * pitch
    # (harmonics, 1) against (1, 3) formants -> (harmonics, 3)
    distance = (frequencies[:, None] - formants[None]) / FORMANT_WIDTHS
    # (harmonics, 3) -> (harmonics,)
    resonance = (FORMANT_GAINS * np.exp(-0.5 * distance**2)).sum(axis=1)
    amplitudes = numbers ** (-tilt) * (0.3 + resonance)
    return (amplitudes / np.linalg.norm(amplitudes)).astype(np.float32)


