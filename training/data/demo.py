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

The faces and voices come from `training.data.talking_faces` (the web demo's sample clips too); this module chooses
them per emotion and actor and writes the tree with `processing.media_writing`. Each clip is a function of (seed, its
name) alone, so a tree is the same whatever order or subset it is written in.
"""

import argparse
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from processing.media_writing import write_clip, write_openface_csv

from .ravdess import NUM_ACTORS, RAVDESS_EMOTIONS, RavdessName
from .talking_faces import RELAXED, Actor, ClipFormat, Expression, Voice, draw_clip, face_track, synthesise_voice


DEMO_FORMAT = ClipFormat()
FPS, NUM_FRAMES, SAMPLE_RATE = DEMO_FORMAT.fps, DEMO_FORMAT.num_frames, DEMO_FORMAT.sample_rate
MAX_CLIPS_PER_EMOTION = 4


# indexed by emotion // 2: (neutral, calm), (happy, sad), (angry, fearful), (disgust, surprised)
EXPRESSIONS = (
    RELAXED,
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


def write_demo_clip(
    path: Path,
    name: RavdessName,
    actor: Actor,
    seed: int,
    clip_format: ClipFormat = DEMO_FORMAT,
    with_landmarks: bool = True,
) -> Path:
    """Draw, voice and write one demo clip and, `with_landmarks`, its landmark CSV (`path.with_suffix(".csv")`).

    Args:
        path: The mp4 to write.
        name: The clip's RAVDESS name (emotion, intensity, statement, repetition, actor).
        actor: The clip's actor.
        seed: The tree's seed.
        clip_format: Frame size, timing and face zoom; the demo tree's by default.
        with_landmarks: Whether to write the landmark CSV.

    Returns:
        `path`.
    """
    rng = np.random.default_rng([seed, name.actor, name.emotion, name.intensity, name.statement, name.repetition, 1])
    # strong intensity exaggerates the expression; not the voice: neutral is never strong, so a voice that showed
    # intensity would tell neutral from angry (same voice) by ear
    strength = (1.0 if name.intensity == 0 else 1.35) * rng.uniform(0.85, 1.1)
    expression = scaled_expression(EXPRESSIONS[name.emotion // 2], strength)
    landmarks, motion = face_track(expression, actor, clip_format, rng)
    frames = draw_clip(landmarks, actor, clip_format, rng)
    audio = synthesise_voice(VOICES[name.emotion % 4], actor, name.statement, clip_format, rng)
    write_clip(path, frames, clip_format.fps, audio, clip_format.sample_rate)
    if with_landmarks:
        columns = {**openface_columns(expression, motion, clip_format), **eye_landmark_columns(landmarks)}
        write_openface_csv(path.with_suffix(".csv"), landmarks, clip_format.fps, columns)
    return path


def scaled_expression(expression: Expression, strength: float) -> Expression:
    """`expression` with its departure from the relaxed face multiplied by `strength`."""
    values = {
        field: getattr(RELAXED, field) + strength * (getattr(expression, field) - getattr(RELAXED, field))
        for field in expression.__dataclass_fields__
    }
    return Expression(**values)


def openface_columns(expression: Expression, motion: dict, clip_format: ClipFormat) -> dict:
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
            "pose_Tx": motion["centre_x"] - clip_format.frame_width / 2,
            "pose_Ty": motion["centre_y"] - clip_format.frame_height / 2,
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
