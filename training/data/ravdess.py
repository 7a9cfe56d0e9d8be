"""RAVDESS as a `datasets.Dataset` of clip paths, landmark CSV paths and the labels coded in the file names, and its
speaker-independent folds.

RAVDESS names every file `MM-VV-EE-II-SS-RR-AA` (modality, vocal channel, emotion, intensity, statement, repetition,
actor; odd actors are male) and keeps them in `Actor_AA` folders. The published TACFN setting uses the 1,440
audio-video speech clips (modality 01, vocal channel 01); the song clips and the other modalities can be selected too.
Landmarks come from the FacialTracking CSVs (OpenFace, one per clip, same stem as the clip), searched in a landmarks
folder (recursively) or else beside the clip.

    python -m training.data.ravdess RAVDESS_ROOT --output ravdess_prepared [--landmarks FacialTracking] \\
        [--vocal-channel speech song] [--modality audio-video] [--push-to-hub REPO --private]

The command prints the number of clips per emotion and per actor and every skipped file with the reason, saves the
data set with `save_to_disk` and writes `preparation_report.json` beside it. A pushed data set holds the same rows as
the saved one, media paths included (local to the machine that prepared it), not the media.

Folds (`ravdess_fold_split`): fold k (0..5) tests actors 4k+1..4k+4.
    - `published`: train on the other 20 actors, and validate on the test actors, as the MSAF / TACFN code does. Any
      model selection on that validation split (e.g. keeping the best epoch) sees the test actors: the figures it gives
      are optimistic. It exists to reproduce the published numbers.
    - `clean`: validate on the next fold's 4 actors (fold 5 validates on actors 1-4), train on the remaining 16.
"""

import argparse
import sys
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from tqdm.auto import tqdm

from hub_configs.datasets import DATASETS
from modeling_tacfn.configuration_tacfn import RAVDESS_EMOTIONS
from processing.frame_boxes_tacfn import read_landmark_csv_header
from processing.media_io_tacfn import probe_media

from .preparation import PreparationReport, add_output_arguments, save_prepared, split_by_group


RECORDING_MODALITIES = ("audio-video", "video-only", "audio-only")
VOCAL_CHANNELS = ("speech", "song")
INTENSITIES = ("normal", "strong")
STATEMENTS = ("Kids are talking by the door", "Dogs are sitting by the door")
GENDERS = ("male", "female")
NUM_ACTORS = 24
NUM_FOLDS = DATASETS["ravdess"].num_folds
ACTORS_PER_FOLD = 4
PROTOCOLS = tuple(DATASETS["ravdess"].protocols)  # published, clean
MEDIA_SUFFIXES = (".mp4", ".wav")

FILE_NAME_PATTERN = re.compile(r"(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)")
ACTOR_FOLDER_PATTERN = re.compile(r"Actor_(\d\d)")

FEATURES = Features(
    {
        "path": Value("string"),
        "landmarks": Value("string"),
        "emotion": ClassLabel(names=list(RAVDESS_EMOTIONS)),
        "actor": Value("int32"),
        "gender": ClassLabel(names=list(GENDERS)),
        "intensity": ClassLabel(names=list(INTENSITIES)),
        "statement": ClassLabel(names=list(STATEMENTS)),
        "repetition": Value("int32"),
        "vocal_channel": ClassLabel(names=list(VOCAL_CHANNELS)),
        "modality": ClassLabel(names=list(RECORDING_MODALITIES)),
    }
)


@dataclass(frozen=True)
class RavdessName:
    """The labels coded in a RAVDESS file name, as 0-based class ids except `repetition` and `actor` (1-based).

    Attributes:
        modality: Index into `RECORDING_MODALITIES`.
        vocal_channel: Index into `VOCAL_CHANNELS`.
        emotion: Index into `RAVDESS_EMOTIONS`.
        intensity: Index into `INTENSITIES`.
        statement: Index into `STATEMENTS`.
        repetition: 1 or 2.
        actor: 1 to 24.
    """

    modality: int
    vocal_channel: int
    emotion: int
    intensity: int
    statement: int
    repetition: int
    actor: int

    @property
    def has_video(self) -> bool:
        """Whether the clip's modality includes video (audio-video, video-only)."""
        return RECORDING_MODALITIES[self.modality] != "audio-only"

    @property
    def has_audio(self) -> bool:
        """Whether the clip's modality includes audio (audio-video, audio-only)."""
        return RECORDING_MODALITIES[self.modality] != "video-only"

    @property
    def gender(self) -> int:
        """Index into `GENDERS`: odd actors are male, even actors female."""
        return 0 if self.actor % 2 == 1 else 1

    @property
    def stem(self) -> str:
        """The file name without extension, `MM-VV-EE-II-SS-RR-AA`."""
        codes = (self.modality + 1, self.vocal_channel + 1, self.emotion + 1, self.intensity + 1, self.statement + 1)
        return "-".join(f"{code:02d}" for code in (*codes, self.repetition, self.actor))


def parse_ravdess_name(stem: str) -> RavdessName:
    """The labels coded in a RAVDESS file name.

    Args:
        stem: The file name without extension, e.g. `"01-01-06-01-02-01-12"`.

    Returns:
        A `RavdessName`. Raises `ValueError` saying which part is wrong when `stem` is not a RAVDESS name.
    """
    match = FILE_NAME_PATTERN.fullmatch(stem)
    if match is None:
        raise ValueError(f"{stem!r} is not a RAVDESS file name (MM-VV-EE-II-SS-RR-AA, two digits each).")
    codes = [int(code) for code in match.groups()]
    limits = (
        ("modality", len(RECORDING_MODALITIES)),
        ("vocal channel", len(VOCAL_CHANNELS)),
        ("emotion", len(RAVDESS_EMOTIONS)),
        ("intensity", len(INTENSITIES)),
        ("statement", len(STATEMENTS)),
        ("repetition", 2),
        ("actor", NUM_ACTORS),
    )
    for code, (part, limit) in zip(codes, limits):
        if not 1 <= code <= limit:
            raise ValueError(f"{stem!r}: {part} code {code:02d} is outside 01..{limit:02d}.")
    modality, vocal_channel, emotion, intensity, statement, repetition, actor = codes
    return RavdessName(modality - 1, vocal_channel - 1, emotion - 1, intensity - 1, statement - 1, repetition, actor)


def prepare_ravdess(
    root: str | Path,
    landmarks_dir: str | Path | None = None,
    vocal_channels: Sequence[str] = ("speech",),
    modalities: Sequence[str] = ("audio-video",),
    progress: bool = True,
) -> tuple[Dataset, PreparationReport]:
    """Find, check and label every RAVDESS clip under `root`.

    A clip is kept when its container opens and holds the streams of its modality (video and audio for audio-video,
    video for video-only, audio for audio-only) with data up to its stated end. Unusable files (damaged, truncated,
    missing a stream, a name that is not a RAVDESS name or disagrees with its `Actor_AA` folder, a second copy of a
    clip) are skipped and reported with the reason. A clip with video but no usable landmark CSV is kept with
    `landmarks=None` and a warning: the processor then finds the face with its detector.

    Args:
        root: Folder holding the `Actor_01` ... `Actor_24` folders (searched recursively for `.mp4` and `.wav` files).
        landmarks_dir: Folder searched recursively for `<clip stem>.csv` landmark files (RAVDESS FacialTracking);
            `None` looks beside each clip.
        vocal_channels: Vocal channels to keep, from `VOCAL_CHANNELS`.
        modalities: Modalities to keep, from `RECORDING_MODALITIES`.
        progress: Whether to show a progress bar while the files are checked.

    Returns:
        `(dataset, report)`: a `Dataset` with the columns of `FEATURES`, one row per kept clip in path order, and the
        `PreparationReport` (counts per emotion and per actor, skipped files, warnings, files of other subsets).
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise ValueError(f"RAVDESS root {root} is not a folder.")
    wanted_channels = _indices_of(vocal_channels, VOCAL_CHANNELS, "vocal channel")
    wanted_modalities = _indices_of(modalities, RECORDING_MODALITIES, "modality")
    media_files = sorted(path for path in root.rglob("*") if path.suffix.lower() in MEDIA_SUFFIXES and path.is_file())
    if not media_files:
        raise ValueError(f"no RAVDESS clips (.mp4 or .wav files) under {root}.")
    landmark_index = _index_landmark_csvs(Path(landmarks_dir).resolve()) if landmarks_dir is not None else None

    report = PreparationReport("ravdess", str(root))
    report.declare("emotion", RAVDESS_EMOTIONS)
    rows, seen = [], {}
    for path in tqdm(media_files, desc="checking RAVDESS clips", unit="file", disable=not progress):
        name = _checked_name(path, report)
        if name is None:
            continue
        if name.vocal_channel not in wanted_channels or name.modality not in wanted_modalities:
            report.exclude(f"{RECORDING_MODALITIES[name.modality]} {VOCAL_CHANNELS[name.vocal_channel]}")
            continue
        if name.stem in seen:
            report.skip(path, f"a second copy of {seen[name.stem]}")
            continue
        try:
            probe_media(path, require_video=name.has_video, require_audio=name.has_audio)
        except ValueError as error:
            report.skip(path, str(error))
            continue
        seen[name.stem] = path
        landmarks = _landmark_csv(path, name, landmark_index, report) if name.has_video else None
        rows.append(_row(path, name, landmarks))
        report.count(emotion=RAVDESS_EMOTIONS[name.emotion], actor=name.actor)
    if not rows:
        raise ValueError(f"no usable RAVDESS clips of the chosen subset under {root}.\n{report.summary()}")
    return Dataset.from_list(rows, features=FEATURES), report


def _indices_of(chosen: Sequence[str], names: Sequence[str], what: str) -> set[int]:
    """Positions in `names` of the chosen values, with a `ValueError` for unknown ones."""
    if not chosen:
        raise ValueError(f"choose at least one {what} from {list(names)}.")
    unknown = [value for value in chosen if value not in names]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; choose from {list(names)}.")
    return {names.index(value) for value in chosen}


def _checked_name(path: Path, report: PreparationReport) -> RavdessName | None:
    """The parsed name of a media file, or `None` (the file skipped and reported) when the name is not a RAVDESS name,
    its path is not UTF-8 or it names another actor than its `Actor_AA` folder."""
    try:
        name = parse_ravdess_name(path.stem)
    except ValueError as error:
        report.skip(path, str(error))
        return None
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        report.skip(path, "its path is not valid UTF-8 (a data set stores paths as UTF-8 text); rename it")
        return None
    folder = ACTOR_FOLDER_PATTERN.fullmatch(path.parent.name)
    if folder is not None and int(folder.group(1)) != name.actor:
        report.skip(path, f"its name says actor {name.actor} but it is in {path.parent.name}")
        return None
    return name


def _index_landmark_csvs(landmarks_dir: Path) -> dict[str, Path]:
    """Every `.csv` under `landmarks_dir` by stem; the first in path order wins when a stem occurs twice."""
    if not landmarks_dir.is_dir():
        raise ValueError(f"landmarks folder {landmarks_dir} is not a folder.")
    index = {}
    for path in sorted(landmarks_dir.rglob("*.csv")):
        index.setdefault(path.stem, path)
    return index


def _landmark_csv(
    clip: Path, name: RavdessName, index: dict[str, Path] | None, report: PreparationReport
) -> str | None:
    """The path of a clip's usable landmark CSV, or `None` with a warning in the report."""
    csv = index.get(name.stem) if index is not None else clip.with_suffix(".csv")
    if csv is None or not csv.is_file():
        where = "in the landmarks folder" if index is not None else "beside it"
        report.warn(clip, f"no landmark CSV {name.stem}.csv {where}; the processor will detect the face instead")
        return None
    try:
        read_landmark_csv_header(csv)
    except ValueError as error:
        report.warn(clip, f"{error} The processor will detect the face instead.")
        return None
    return str(csv)


def _row(path: Path, name: RavdessName, landmarks: str | None) -> dict:
    """One data set row of a kept clip."""
    return {
        "path": str(path),
        "landmarks": landmarks,
        "emotion": name.emotion,
        "actor": name.actor,
        "gender": name.gender,
        "intensity": name.intensity,
        "statement": name.statement,
        "repetition": name.repetition,
        "vocal_channel": name.vocal_channel,
        "modality": name.modality,
    }


def fold_actors(fold: int) -> list[int]:
    """The 4 consecutive actors fold `fold` (0..5) tests: 4·fold + 1 .. 4·fold + 4."""
    if not 0 <= fold < NUM_FOLDS:
        raise ValueError(f"RAVDESS fold {fold!r} does not exist; folds are 0..{NUM_FOLDS - 1}.")
    return list(range(ACTORS_PER_FOLD * fold + 1, ACTORS_PER_FOLD * fold + ACTORS_PER_FOLD + 1))


def ravdess_fold_split(dataset: Dataset, protocol: str = "published", fold: int = 0) -> DatasetDict:
    """The actor-independent train / validation / test splits of one fold.

    Args:
        dataset: A data set from `prepare_ravdess` (any data set with an integer `actor` column).
        protocol: `"published"`: validation = test = actors 4k+1..4k+4 and train = the other 20 actors, as the
            published code (whose model selection therefore sees the test actors); `"clean"`: test = the same 4
            actors, validation = the next fold's 4 actors (cyclic), train = the other 16.
        fold: The fold k, 0..5.

    Returns:
        A `DatasetDict` with `train`, `validation` and `test`. Raises `ValueError` for an unknown protocol or fold,
        and when the data set lacks the actors of a split.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown RAVDESS protocol {protocol!r}; use one of {PROTOCOLS}.")
    test_actors = fold_actors(fold)
    validation_actors = test_actors if protocol == "published" else fold_actors((fold + 1) % NUM_FOLDS)
    return split_by_group(dataset, "actor", test_actors, validation_actors, f"RAVDESS {protocol} fold {fold}")


def main(argv: list[str] | None = None) -> Dataset:
    # file names that are not valid UTF-8 (kept by Python as surrogates) are printed escaped instead of crashing
    sys.stdout.reconfigure(errors="backslashreplace")
    sys.stderr.reconfigure(errors="backslashreplace")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="RAVDESS root, holding the Actor_01 .. Actor_24 folders")
    parser.add_argument("--landmarks", type=Path, help="landmark CSV folder (default: CSVs beside the clips)")
    parser.add_argument(
        "--vocal-channel", nargs="+", default=["speech"], choices=VOCAL_CHANNELS, help="vocal channels to keep"
    )
    parser.add_argument(
        "--modality", nargs="+", default=["audio-video"], choices=RECORDING_MODALITIES, help="modalities to keep"
    )
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    dataset, report = prepare_ravdess(
        args.root, args.landmarks, args.vocal_channel, args.modality, progress=not args.no_progress
    )
    save_prepared(dataset, report, args)
    return dataset


if __name__ == "__main__":
    main()
