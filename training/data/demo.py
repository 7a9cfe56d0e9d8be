"""A small RAVDESS-format tree of synthetic talking faces, for demos and tests that must run without the real data.

    python -m training.data.demo OUTPUT_DIR [--actors 24] [--clips-per-emotion 2] [--seed 0]

The tree looks like RAVDESS: `OUTPUT_DIR/Actor_AA/01-01-EE-II-SS-RR-AA.mp4` (audio-video speech; H.264 160x120 at 15
fps and AAC mono at 44.1 kHz, 3.5 s) with the clip's OpenFace-style landmark CSV beside it (`<same stem>.csv`, the 68
landmarks of the face exactly where it is drawn), so `prepare_ravdess(OUTPUT_DIR)` and the RAVDESS folds take it as
they are. Odd actors are male (lower voices), as in RAVDESS; neutral has only normal intensity, as in RAVDESS.

The classes are built so that fusion matters. The drawn expression depends only on `emotion // 2` (4 expressions:
mouth curvature and width, brow height and angle, eye opening, mouth opening) and the voice only on `emotion % 4`
(4 voices: pitch level and glide, syllable rate, energy contour, brightness, loudness). Each modality alone therefore
confuses pairs of emotions (at best 50% accuracy: video cannot tell neutral from calm, audio neutral from angry) and
only the two together identify all eight. The mouth moves at a random talking rate of its own, so the video carries no
trace of the voice, and every emotion says the same statements. Strong intensity exaggerates the expression, not the
voice (RAVDESS has no strong neutral: a voice showing intensity would tell neutral from angry). Per actor and per clip
nuisances (face position, size, drift and tilt, skin, hair and clothes colours, background, speaker pitch and timbre,
loudness, background noise, timing) keep it from being trivial while a tiny model still learns it in minutes on a CPU.

Everything is drawn with OpenCV and encoded with PyAV; each clip is a function of (seed, its name) alone, so a tree is
the same whatever order or subset it is written in.
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from processing.media_writing import write_clip, write_openface_csv

from .ravdess import NUM_ACTORS, RAVDESS_EMOTIONS, RavdessName


FRAME_HEIGHT, FRAME_WIDTH = 120, 160
FPS = 15
DURATION = 3.5
NUM_FRAMES = int(DURATION * FPS)
SAMPLE_RATE = 44100
MAX_CLIPS_PER_EMOTION = 4
# highest harmonic frequency of the synthetic voice, in Hz
VOICE_BANDWIDTH = 4000.0
# sub-pixel precision of the OpenCV drawing calls: coordinates are passed multiplied by 2**DRAW_SHIFT
DRAW_SHIFT = 4


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


# indexed by emotion // 2: (neutral, calm), (happy, sad), (angry, fearful), (disgust, surprised)
EXPRESSIONS = (
    Expression(mouth_curve=0.0, mouth_width=1.0, mouth_open=0.0, brow_raise=0.0, brow_tilt=0.0, eye_open=1.0),
    Expression(mouth_curve=1.0, mouth_width=1.2, mouth_open=0.1, brow_raise=0.06, brow_tilt=0.0, eye_open=0.7),
    Expression(mouth_curve=-0.9, mouth_width=0.9, mouth_open=0.0, brow_raise=-0.06, brow_tilt=1.0, eye_open=0.6),
    Expression(mouth_curve=0.0, mouth_width=0.7, mouth_open=0.5, brow_raise=0.2, brow_tilt=-0.6, eye_open=1.5),
)
# indexed by emotion % 4: (neutral, angry), (calm, fearful), (happy, disgust), (sad, surprised)
VOICES = (
    Voice(
        pitch_factor=0.8,
        pitch_glide=-0.15,
        syllable_rate=2.5,
        energy_contour="flat",
        spectral_tilt=1.8,
        loudness_db=-4.0,
    ),
    Voice(
        pitch_factor=1.0,
        pitch_glide=0.0,
        syllable_rate=3.3,
        energy_contour="falling",
        spectral_tilt=1.3,
        loudness_db=0.0,
    ),
    Voice(
        pitch_factor=1.3,
        pitch_glide=0.3,
        syllable_rate=5.0,
        energy_contour="rising",
        spectral_tilt=0.9,
        loudness_db=2.0,
    ),
    Voice(
        pitch_factor=1.6,
        pitch_glide=-0.1,
        syllable_rate=4.2,
        energy_contour="alternating",
        spectral_tilt=0.5,
        loudness_db=4.0,
    ),
)
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


def make_actor(number: int, seed: int) -> Actor:
    """The synthetic actor `number` (1..24) of the tree made with `seed`."""
    rng = np.random.default_rng([seed, number, 0])
    male = number % 2 == 1
    base_skin = np.array([225.0, 180.0, 150.0]) * rng.uniform(0.55, 1.05)
    return Actor(
        number=number,
        skin=tuple(np.clip(base_skin + rng.normal(0, 8, 3), 0, 255).tolist()),
        hair=tuple(rng.uniform(15, 110) * np.array([1.0, rng.uniform(0.6, 0.9), rng.uniform(0.4, 0.7)])),
        pitch=rng.uniform(100, 135) if male else rng.uniform(180, 230),
        formant_scale=(1.0 if male else 1.15) * rng.uniform(0.95, 1.05),
        tilt_offset=rng.uniform(-0.15, 0.15),
        face_scale=rng.uniform(22.0, 26.0),
    )


def demo_clip_names(actors: int, clips_per_emotion: int) -> list[RavdessName]:
    """The RAVDESS names of the clips of a demo tree: audio-video speech, for actors 1..`actors`, each emotion said
    `clips_per_emotion` times as (intensity, statement, repetition) in the order (normal, 1, 1), (strong, 2, 1),
    (strong, 1, 2), (normal, 2, 2); neutral, which has no strong intensity, always at normal intensity. Every emotion
    thus has the same statements, so that the words said carry no trace of the emotion."""
    if not 1 <= actors <= NUM_ACTORS:
        raise ValueError(f"actors must be in 1..{NUM_ACTORS} (RAVDESS actor numbers), got {actors}.")
    if not 1 <= clips_per_emotion <= MAX_CLIPS_PER_EMOTION:
        raise ValueError(f"clips_per_emotion must be in 1..{MAX_CLIPS_PER_EMOTION}, got {clips_per_emotion}.")
    neutral_takes = ((0, 0, 1), (0, 1, 1), (0, 0, 2), (0, 1, 2))
    other_takes = ((0, 0, 1), (1, 1, 1), (1, 0, 2), (0, 1, 2))
    return [
        RavdessName(0, 0, emotion, intensity, statement, repetition, actor)
        for actor in range(1, actors + 1)
        for emotion in range(len(RAVDESS_EMOTIONS))
        for intensity, statement, repetition in (neutral_takes if emotion == 0 else other_takes)[:clips_per_emotion]
    ]


def write_demo_ravdess(
    root: str | Path, actors: int = NUM_ACTORS, clips_per_emotion: int = 2, seed: int = 0, progress: bool = False
) -> list[Path]:
    """Write a demo tree (see the module docstring) and return the paths of its clips.

    Args:
        root: Output folder; `Actor_AA` folders are created in it, existing clips of the same names replaced.
        actors: Number of actors, 1..24 (actors 1..`actors`).
        clips_per_emotion: Clips per actor and emotion, 1..4.
        seed: Seed of every random choice; the same seed writes the same files.
        progress: Whether to show a progress bar.

    Returns:
        The mp4 paths in name order; each clip's landmark CSV is beside it, `path.with_suffix(".csv")`.
    """
    root = Path(root)
    names = demo_clip_names(actors, clips_per_emotion)
    cast = {number: make_actor(number, seed) for number in range(1, actors + 1)}
    paths = []
    for name in tqdm(names, desc="writing demo clips", unit="clip", disable=not progress):
        folder = root / f"Actor_{name.actor:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        paths.append(write_demo_clip(folder / f"{name.stem}.mp4", name, cast[name.actor], seed))
    return paths


def write_demo_clip(path: Path, name: RavdessName, actor: Actor, seed: int) -> Path:
    """Draw, voice and write one demo clip and its landmark CSV (`path.with_suffix(".csv")`).

    Args:
        path: The mp4 to write.
        name: The clip's RAVDESS name (emotion, intensity, statement, repetition, actor).
        actor: The clip's actor.
        seed: The tree's seed.

    Returns:
        `path`.
    """
    rng = np.random.default_rng([seed, name.actor, name.emotion, name.intensity, name.statement, name.repetition, 1])
    # strong intensity exaggerates the expression; not the voice: neutral is never strong, so a voice that showed
    # intensity would tell neutral from angry (same voice) by ear
    strength = (1.0 if name.intensity == 0 else 1.35) * rng.uniform(0.85, 1.1)
    expression = scaled_expression(EXPRESSIONS[name.emotion // 2], strength)
    landmarks, motion = face_track(expression, actor, rng)
    frames = draw_clip(landmarks, actor, rng)
    audio = synthesise_voice(VOICES[name.emotion % 4], actor, name.statement, rng)
    write_clip(path, frames, FPS, audio, SAMPLE_RATE)
    columns = {**openface_columns(expression, motion), **eye_landmark_columns(landmarks)}
    write_openface_csv(path.with_suffix(".csv"), landmarks, FPS, columns)
    return path


def face_track(expression: Expression, actor: Actor, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """The 68 landmarks of every frame in pixels, and the face's motion.

    The face shows `expression` throughout; it has a random position, size and tilt, drifts and sways a little, talks
    (the mouth opens at a random rate of its own) and blinks.

    Returns:
        `(landmarks, motion)`: landmarks of shape (NUM_FRAMES, 68, 2) and a dict of per-frame arrays (NUM_FRAMES,):
        `centre_x`, `centre_y` (pixels), `scale` (pixels per face unit), `roll` (radians), `opening`, `blink`.
    """
    times = np.arange(NUM_FRAMES) / FPS
    drift_phase = rng.uniform(0, 2 * np.pi, 3)
    drift_rate = rng.uniform(0.15, 0.5, 3)
    # three slow oscillations, (3, frames): horizontal drift, vertical drift, size and tilt
    sway = np.sin(2 * np.pi * drift_rate[:, None] * times[None] + drift_phase[:, None])
    motion = {
        "centre_x": FRAME_WIDTH / 2 + rng.uniform(-14, 14) + 3 * sway[0],
        "centre_y": FRAME_HEIGHT / 2 + 2 + rng.uniform(-6, 6) + 2 * sway[1],
        "scale": actor.face_scale * rng.uniform(0.9, 1.1) * (1 + 0.03 * sway[2]),
        "roll": np.deg2rad(rng.uniform(-6, 6) + 2 * sway[2]),
        "opening": talking_movement(times, rng),
        "blink": blink_track(times, rng),
    }
    # (frames, 68, 2) in face units
    unit_points = np.stack(
        [face_shape(expression, opening, blink) for opening, blink in zip(motion["opening"], motion["blink"])]
    )
    return to_pixels(unit_points, motion), motion


def scaled_expression(expression: Expression, strength: float) -> Expression:
    """`expression` with its departure from the relaxed face multiplied by `strength`."""
    relaxed = EXPRESSIONS[0]
    values = {
        field: getattr(relaxed, field) + strength * (getattr(expression, field) - getattr(relaxed, field))
        for field in expression.__dataclass_fields__
    }
    return Expression(**values)


def talking_movement(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mouth opening in [0, 1] per frame: syllable-like opening and closing at a random rate, shape (len(times),)."""
    rate = rng.uniform(2.5, 5.0)
    start, stop = rng.uniform(0.15, 0.45), DURATION - rng.uniform(0.2, 0.5)
    speaking = (times > start) & (times < stop)
    syllables = np.abs(np.sin(np.pi * rate * (times - start) + rng.uniform(0, 0.5)))
    return 0.45 * speaking * syllables * rng.uniform(0.7, 1.0)


def blink_track(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Eye closure in [0, 1] per frame: blinks of about 0.2 s every 1.5 to 4 s, shape (len(times),)."""
    closure = np.zeros_like(times)
    moment = rng.uniform(0.2, 2.0)
    while moment < DURATION:
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


def draw_clip(landmarks: np.ndarray, actor: Actor, rng: np.random.Generator) -> np.ndarray:
    """Draw the face of every frame from its landmarks on a clip background, shape (NUM_FRAMES, H, W, 3) uint8."""
    background = draw_background(rng)
    shirt = tuple(rng.uniform(20, 230, 3).tolist())
    lighting = rng.uniform(0.85, 1.1)
    skin = tuple(np.clip(np.array(actor.skin) * lighting, 0, 255).tolist())
    frames = np.empty((NUM_FRAMES, FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=np.uint8)
    for index, points in enumerate(landmarks):
        frame = background.copy()
        draw_face(frame, points, skin, actor.hair, shirt)
        frames[index] = frame
    return frames


def draw_background(rng: np.random.Generator) -> np.ndarray:
    """A background of shape (H, W, 3) uint8: a vertical blend of two random colours with fixed grain."""
    top, bottom = rng.uniform(30, 230, 3), rng.uniform(30, 230, 3)
    blend = np.linspace(0, 1, FRAME_HEIGHT)[:, None, None]
    # (H, 1, 3) colour ramp + (H, W, 1) grain -> (H, W, 3)
    image = top * (1 - blend) + bottom * blend + rng.normal(0, 6, (FRAME_HEIGHT, FRAME_WIDTH, 1))
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


def synthesise_voice(voice: Voice, actor: Actor, statement: int, rng: np.random.Generator) -> np.ndarray:
    """A voiced utterance of syllables with vowel formants, consonant bursts and background noise.

    Args:
        voice: The emotion's voice.
        actor: The speaker (pitch, formants, timbre).
        statement: 0 or 1, the vowel sequence said.
        rng: The clip's random generator.

    Returns:
        Mono float32 samples in [-1, 1], shape (DURATION * SAMPLE_RATE,).
    """
    num_samples = int(DURATION * SAMPLE_RATE)
    times = np.arange(num_samples) / SAMPLE_RATE
    start, stop = rng.uniform(0.2, 0.45), DURATION - rng.uniform(0.25, 0.5)
    rate = voice.syllable_rate * rng.uniform(0.9, 1.1)
    num_syllables = int((stop - start) * rate)
    onsets = start + (np.arange(num_syllables) + rng.uniform(-0.1, 0.1, num_syllables)) / rate
    progress = np.clip((times - start) / (stop - start), 0, 1)
    pitch = actor.pitch * voice.pitch_factor * rng.uniform(0.95, 1.05)
    pitch_track = pitch * (1 + voice.pitch_glide * progress) * (1 + 0.015 * np.sin(2 * np.pi * 5.5 * times))
    phase = 2 * np.pi * np.cumsum(pitch_track) / SAMPLE_RATE
    tilt = voice.spectral_tilt + actor.tilt_offset
    vowels = STATEMENT_VOWELS[statement]
    signal = np.zeros(num_samples, dtype=np.float32)
    for index, onset in enumerate(onsets):
        begin, end = int(onset * SAMPLE_RATE), int((onset + 0.75 / rate) * SAMPLE_RATE)
        segment = slice(begin, min(end, num_samples))
        length = segment.stop - segment.start
        syllable_pitch = float(pitch_track[segment].mean())
        envelope = np.sin(np.linspace(0, np.pi, length)) ** 0.7
        loudness = syllable_loudness(voice.energy_contour, index, len(onsets)) * rng.uniform(0.85, 1.15)
        formants = VOWEL_FORMANTS[vowels[index % len(vowels)]] * actor.formant_scale
        amplitudes = harmonic_amplitudes(syllable_pitch, formants, tilt)
        harmonics = np.arange(1, len(amplitudes) + 1, dtype=np.float32)
        # (harmonics, 1) x (1, samples) -> (harmonics, samples) -> (samples,)
        voiced = amplitudes @ np.sin(harmonics[:, None] * phase[None, segment].astype(np.float32))
        # a consonant: a noise burst decaying within about 12 ms
        burst = rng.normal(0, 0.25, length) * np.exp(-np.arange(length) / (0.012 * SAMPLE_RATE))
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


def harmonic_amplitudes(pitch: float, formants: np.ndarray, tilt: float) -> np.ndarray:
    """Amplitudes of the harmonics of `pitch` up to `VOICE_BANDWIDTH`: a 1/k^tilt source shaped by three formant
    resonances, normalised to unit energy, float32 of shape (num_harmonics,)."""
    numbers = np.arange(1, int(VOICE_BANDWIDTH // pitch) + 1)
    frequencies = numbers * pitch
    # (harmonics, 1) against (1, 3) formants -> (harmonics, 3)
    distance = (frequencies[:, None] - formants[None]) / FORMANT_WIDTHS
    # (harmonics, 3) -> (harmonics,)
    resonance = (FORMANT_GAINS * np.exp(-0.5 * distance**2)).sum(axis=1)
    amplitudes = numbers ** (-tilt) * (0.3 + resonance)
    return (amplitudes / np.linalg.norm(amplitudes)).astype(np.float32)


def openface_columns(expression: Expression, motion: dict) -> dict:
    """OpenFace columns besides the landmarks that follow from the face: head pose and shape parameters from its
    motion (see `face_track`), and action unit intensities (0..5) from its expression, talking and blinks."""
    action_units = {
        "AU01_r": 10 * max(expression.brow_raise, 0) + 2 * max(-expression.brow_tilt, 0),
        "AU02_r": 10 * max(expression.brow_raise, 0),
        "AU04_r": 2.5 * max(expression.brow_tilt, 0),
        "AU05_r": 4 * max(expression.eye_open - 1, 0),
        "AU06_r": 2 * max(expression.mouth_curve, 0),
        "AU07_r": 4 * max(1 - expression.eye_open, 0),
        "AU12_r": 2.5 * max(expression.mouth_curve, 0),
        "AU15_r": 2.5 * max(-expression.mouth_curve, 0),
        "AU20_r": 5 * max(1 - expression.mouth_width, 0),
        "AU25_r": 2 * expression.mouth_open + 2 * motion["opening"],
        "AU26_r": 3 * motion["opening"],
        "AU45_r": 3 * motion["blink"],
    }
    columns = {name: np.clip(value, 0, 5) for name, value in action_units.items()}
    columns.update({name.replace("_r", "_c"): (value > 1).astype(float) for name, value in columns.items()})
    columns.update(
        {
            "pose_Tx": motion["centre_x"] - FRAME_WIDTH / 2,
            "pose_Ty": motion["centre_y"] - FRAME_HEIGHT / 2,
            "pose_Tz": 500 * 24 / motion["scale"],
            "pose_Rz": motion["roll"],
            "p_scale": motion["scale"] / 24,
            "p_rz": motion["roll"],
            "p_tx": motion["centre_x"],
            "p_ty": motion["centre_y"],
        }
    )
    return columns


def eye_landmark_columns(landmarks: np.ndarray) -> dict:
    """OpenFace's 2-D eye landmarks, 28 per eye (`eye_lmk_x_0` .. `_27` left, `_28` .. `_55` right), spread evenly
    around each drawn eye outline (landmarks 36-41 and 42-47 of `landmarks`, shape (frames, 68, 2))."""
    positions = np.linspace(0, 6, 28, endpoint=False)
    before, fraction = positions.astype(int), (positions % 1)[None, :, None]
    columns = {}
    for first, eye in ((0, landmarks[:, 36:42]), (28, landmarks[:, 42:48])):
        # (frames, 6, 2) closed -> (frames, 7, 2), then 28 points interpolated along it -> (frames, 28, 2)
        closed = np.concatenate([eye, eye[:, :1]], axis=1)
        points = closed[:, before] * (1 - fraction) + closed[:, before + 1] * fraction
        for offset in range(28):
            columns[f"eye_lmk_x_{first + offset}"] = points[:, offset, 0]
            columns[f"eye_lmk_y_{first + offset}"] = points[:, offset, 1]
    return columns


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output_dir", type=Path, help="folder to write the Actor_AA folders into")
    parser.add_argument("--actors", type=int, default=NUM_ACTORS, help="number of actors, 1..24 (default: 24)")
    parser.add_argument(
        "--clips-per-emotion", type=int, default=2, help="clips per actor and emotion, 1..4 (default: 2)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    paths = write_demo_ravdess(args.output_dir, args.actors, args.clips_per_emotion, args.seed, progress=True)
    print(f"wrote {len(paths)} clips with landmark CSVs under {args.output_dir}")
    return paths


if __name__ == "__main__":
    main()
