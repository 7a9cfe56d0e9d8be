"""IEMOCAP as a `datasets.Dataset` of labelled utterances (4-class setting), its leave-one-session-out folds, and the
processor arguments that turn a row into model inputs (the speaker's half of the dialog video during the utterance,
and the utterance's wav).

`IEMOCAP_full_release/Session1..5` each hold two actors (one female, one male) in dialogs named like
`Ses01F_impro01` (the letter after the session number says which actor wears the motion-capture markers). Labels are
in `dialog/EmoEvaluation/<dialog>.txt`:

    [6.2901 - 8.2357]	Ses01F_impro01_F000	neu	[2.5000, 2.5000, 2.5000]
    C-E2:	Neutral;	()
    A-E3:	val 3; act 2; dom  2;	()

(one line per utterance: time span in the dialog, utterance name, label, mean valence / arousal / dominance; the
lines after it are the single annotators' votes and are ignored). Utterance audio is
`sentences/wav/<dialog>/<utterance>.wav`, the dialog video `dialog/avi/DivX/<dialog>.avi`, showing the two actors side
by side, one per half of the frame.

The standard 4-class set: neutral (`neu`), happy (`hap` and `exc` merged), angry (`ang`) and sad (`sad`), 5,531
utterances; every other label (`fru`, `sur`, `fea`, `dis`, `oth`, `xxx` (no agreement), anything unrecognised) is
counted in the report and dropped.

Which half shows the speaker: by default the actor who wears the markers is on the left half and the other actor on
the right (`marker_side="left"`), the layout public IEMOCAP video pipelines use; `marker_side="right"` swaps it and
`side_overrides` sets it per dialog.

    python -m training.data.iemocap IEMOCAP_full_release --output iemocap_prepared [--marker-side left] \\
        [--side-override Ses03M_impro01=right] [--push-to-hub REPO --private]

Folds (`iemocap_fold_split`): fold k (0..4) tests session k+1 (both its speakers, so folds are speaker-independent).
    - `published`: train on the other 4 sessions, validate on the test session (model selection sees the test data).
    - `clean`: validate on the next session (session 1 after session 5), train on the remaining 3. The test split stays
      the whole session, as in the published protocol, so the figures are comparable; the price is one training
      session less. (Validating on one speaker of the test session would shrink the test set to a single speaker.)
"""

import argparse
import sys
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from tqdm.auto import tqdm

from hub_configs.datasets import DATASETS, IEMOCAP_EMOTIONS
from processing.media_io_tacfn import WINDOW_END_TOLERANCE, MediaInfo, probe_media

from .preparation import PreparationReport, add_output_arguments, save_prepared, split_by_group


LABEL_CLASSES = {"neu": 0, "hap": 1, "exc": 1, "ang": 2, "sad": 3}
IEMOCAP_LABELS = ("neu", "hap", "exc", "ang", "sad", "fru", "sur", "fea", "dis", "oth", "xxx")
NUM_SESSIONS = DATASETS["iemocap"].num_folds  # leave-one-session-out: one fold per session
PROTOCOLS = tuple(DATASETS["iemocap"].protocols)  # published, clean
SIDES = ("left", "right")
GENDERS = ("male", "female")

TURN_PATTERN = re.compile(
    r"\[\s*(?P<start>\d+(?:\.\d*)?)\s*-\s*(?P<end>\d+(?:\.\d*)?)\s*\]\s+(?P<utterance>\S+)\s+(?P<label>\S+)\s+"
    r"\[\s*(?P<valence>[-\d.]+)\s*,\s*(?P<arousal>[-\d.]+)\s*,\s*(?P<dominance>[-\d.]+)\s*\]\s*"
)
DIALOG_PATTERN = re.compile(r"Ses0\d(?P<marker>[FM])_\w+")
UTTERANCE_PATTERN = re.compile(r"(?P<dialog>Ses0(?P<session>\d)(?P<marker>[FM])_\w+)_(?P<speaker>[FM])\d+")

FEATURES = Features(
    {
        "utterance": Value("string"),
        "audio_path": Value("string"),
        "video_path": Value("string"),
        "start": Value("float64"),
        "end": Value("float64"),
        "emotion": ClassLabel(names=list(IEMOCAP_EMOTIONS)),
        "label": Value("string"),
        "session": Value("int32"),
        "speaker": Value("string"),
        "gender": ClassLabel(names=list(GENDERS)),
        "dialog": Value("string"),
        "speaker_side": ClassLabel(names=list(SIDES)),
        "valence": Value("float32"),
        "arousal": Value("float32"),
        "dominance": Value("float32"),
    }
)


@dataclass(frozen=True)
class Turn:
    """One utterance line of an EmoEvaluation file.

    Attributes:
        utterance: Utterance name, e.g. `Ses01F_impro01_F000`.
        start: Start in the dialog, in seconds.
        end: End in the dialog, in seconds.
        label: The label code as written (`neu`, `exc`, `xxx`, ...).
        valence: Mean valence rating (1..5).
        arousal: Mean arousal (activation) rating (1..5).
        dominance: Mean dominance rating (1..5).
    """

    utterance: str
    start: float
    end: float
    label: str
    valence: float
    arousal: float
    dominance: float


def parse_emo_evaluation(path: str | Path) -> tuple[list[Turn], list[str]]:
    """Read the utterance lines of an EmoEvaluation file, ignoring its comment (`%`) and annotator lines.

    Args:
        path: The `.txt` file.

    Returns:
        `(turns, problems)`: the parsed utterance lines in file order, and a description of every line that starts
        like an utterance line (`[`) but cannot be read.
    """
    turns, problems = [], []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line.startswith("["):
                continue
            match = TURN_PATTERN.fullmatch(line)
            if match is None:
                problems.append(f"line {number} is not an utterance line: {line[:80]!r}")
                continue
            values = match.groupdict()
            ratings = {name: float(values[name]) for name in ("start", "end", "valence", "arousal", "dominance")}
            turns.append(Turn(utterance=values["utterance"], label=values["label"].lower(), **ratings))
    return turns, problems


def speaker_side(
    dialog: str, speaker: str, marker_side: str = "left", side_overrides: Mapping[str, str] | None = None
) -> str:
    """Which half of the dialog video (`"left"` or `"right"`) shows `speaker`.

    Args:
        dialog: Dialog name, e.g. `Ses01F_impro01` (its letter names the actor wearing the markers).
        speaker: The speaking actor's letter, `"F"` or `"M"`.
        marker_side: The half showing the actor who wears the markers.
        side_overrides: Per dialog name, the half showing the actor who wears the markers in that dialog.
    """
    match = DIALOG_PATTERN.fullmatch(dialog)
    if match is None:
        raise ValueError(f"{dialog!r} is not an IEMOCAP dialog name (e.g. Ses01F_impro01).")
    marker = (side_overrides or {}).get(dialog, marker_side)
    if marker not in SIDES:
        raise ValueError(f"side {marker!r} for {dialog} must be one of {SIDES}.")
    return marker if speaker == match.group("marker") else SIDES[1 - SIDES.index(marker)]


def prepare_iemocap(
    root: str | Path,
    marker_side: str = "left",
    side_overrides: Mapping[str, str] | None = None,
    progress: bool = True,
) -> tuple[Dataset, PreparationReport]:
    """Find, check and label the 4-class IEMOCAP utterances under `root`.

    An utterance is kept when its label is one of the four classes, its wav file and its dialog video are readable
    (the video holding data up to its stated end) and its time span lies within the video. Otherwise it is skipped
    and reported with the reason; other labels are counted and dropped.

    Args:
        root: `IEMOCAP_full_release`, holding `Session1` .. `Session5`; missing sessions are reported.
        marker_side: The half of the dialog videos that shows the actor wearing the markers (see the module docstring).
        side_overrides: Per dialog name, the half showing its marker-wearing actor, where it differs.
        progress: Whether to show a progress bar over the dialogs.

    Returns:
        `(dataset, report)`: a `Dataset` with the columns of `FEATURES`, one row per kept utterance (sessions and
        dialogs in order, utterances in file order), and the `PreparationReport` (counts per emotion, session and
        speaker, skipped utterances, unreadable label lines, dropped labels).
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise ValueError(f"IEMOCAP root {root} is not a folder.")
    side_overrides = dict(side_overrides or {})
    _check_sides(marker_side, side_overrides)
    report = PreparationReport("iemocap", str(root))
    report.declare("emotion", IEMOCAP_EMOTIONS)
    report.declare("session", range(1, NUM_SESSIONS + 1))
    label_files = []
    for session in range(1, NUM_SESSIONS + 1):
        evaluation_dir = root / f"Session{session}" / "dialog" / "EmoEvaluation"
        if not evaluation_dir.is_dir():
            report.warn(
                evaluation_dir, f"Session{session} has no dialog/EmoEvaluation folder; the session is left out"
            )
            continue
        label_files += [(session, path) for path in sorted(evaluation_dir.glob("*.txt"))]
    if not label_files:
        raise ValueError(f"no EmoEvaluation label files under {root}/Session1..{NUM_SESSIONS}/dialog/EmoEvaluation.")

    rows = []
    for session, label_file in tqdm(label_files, desc="checking IEMOCAP dialogs", unit="dialog", disable=not progress):
        session_dir = root / f"Session{session}"
        rows += _dialog_rows(session_dir, session, label_file, marker_side, side_overrides, report)
    if not rows:
        raise ValueError(f"no usable 4-class IEMOCAP utterances under {root}.\n{report.summary()}")
    return Dataset.from_list(rows, features=FEATURES), report


def _check_sides(marker_side: str, side_overrides: Mapping[str, str]) -> None:
    """Raise `ValueError` for a side other than left / right, or an override for a name that is not a dialog name, so
    that a typo fails before the scan rather than after it."""
    for side in (marker_side, *side_overrides.values()):
        if side not in SIDES:
            raise ValueError(f"side {side!r} must be one of {SIDES}.")
    for dialog in side_overrides:
        if DIALOG_PATTERN.fullmatch(dialog) is None:
            raise ValueError(f"side override for {dialog!r}: not an IEMOCAP dialog name (e.g. Ses01F_impro01).")


def _dialog_rows(
    session_dir: Path,
    session: int,
    label_file: Path,
    marker_side: str,
    side_overrides: Mapping[str, str],
    report: PreparationReport,
) -> list[dict]:
    """The rows of the kept utterances of one dialog, recording everything else in `report`."""
    dialog = label_file.stem
    turns, problems = parse_emo_evaluation(label_file)
    for problem in problems:
        report.warn(label_file, problem)
    video_path = session_dir / "dialog" / "avi" / "DivX" / f"{dialog}.avi"
    video, video_problem = None, None
    rows = []
    for turn in turns:
        if turn.label not in LABEL_CLASSES:
            known = turn.label in IEMOCAP_LABELS
            report.exclude(f"label {turn.label}" if known else f"unrecognised label {turn.label!r}")
            continue
        name = UTTERANCE_PATTERN.fullmatch(turn.utterance)
        if name is None or name.group("dialog") != dialog or int(name.group("session")) != session:
            report.skip(f"{label_file}:{turn.utterance}", f"not an utterance of dialog {dialog} in Session{session}")
            continue
        if video is None and video_problem is None:
            video, video_problem = _probe_dialog_video(video_path)
        audio_path = session_dir / "sentences" / "wav" / dialog / f"{turn.utterance}.wav"
        problem = video_problem or _utterance_problem(turn, audio_path, video)
        if problem is not None:
            report.skip(turn.utterance, problem)
            continue
        speaker = name.group("speaker")
        side = speaker_side(dialog, speaker, marker_side, side_overrides)
        rows.append(_row(turn, session, dialog, speaker, side, audio_path, video_path))
        report.count(
            emotion=IEMOCAP_EMOTIONS[LABEL_CLASSES[turn.label]], session=session, speaker=f"Ses0{session}{speaker}"
        )
    return rows


def _probe_dialog_video(path: Path) -> tuple[MediaInfo | None, str | None]:
    """`(info, None)` for a usable dialog video, `(None, reason)` otherwise."""
    try:
        return probe_media(path, require_video=True, require_audio=False), None
    except ValueError as error:
        return None, f"dialog video: {error}"


def _utterance_problem(turn: Turn, audio_path: Path, video: MediaInfo) -> str | None:
    """Why an utterance cannot be used (its time span, its wav file, its place in the video), or `None`."""
    if not turn.end > turn.start:
        return f"empty time span [{turn.start} - {turn.end}]"
    if turn.end > video.duration + WINDOW_END_TOLERANCE:
        return f"ends at {turn.end:.2f} s, after the end of its dialog video ({video.duration:.2f} s)"
    try:
        probe_media(audio_path, require_video=False, require_audio=True)
    except ValueError as error:
        return f"utterance audio: {error}"
    return None


def _row(turn: Turn, session: int, dialog: str, speaker: str, side: str, audio_path: Path, video_path: Path) -> dict:
    """One data set row of a kept utterance."""
    return {
        "utterance": turn.utterance,
        "audio_path": str(audio_path),
        "video_path": str(video_path),
        "start": turn.start,
        "end": turn.end,
        "emotion": LABEL_CLASSES[turn.label],
        "label": turn.label,
        "session": session,
        "speaker": f"Ses0{session}{speaker}",
        "gender": GENDERS.index("female" if speaker == "F" else "male"),
        "dialog": dialog,
        "speaker_side": SIDES.index(side),
        "valence": turn.valence,
        "arousal": turn.arousal,
        "dominance": turn.dominance,
    }


def processor_inputs(row: Mapping) -> dict:
    """The `TACFNProcessor` arguments of an utterance: the dialog video with the utterance's time window and the
    speaker's half of the frame, and the utterance's wav, so that `processor(**processor_inputs(row))` gives the
    model inputs training uses.

    Args:
        row: A data set row (needs `video_path`, `audio_path`, `start`, `end` and `speaker_side`, a class id or
            `"left"` / `"right"`).
    """
    side = row["speaker_side"] if isinstance(row["speaker_side"], str) else SIDES[row["speaker_side"]]
    return {
        "videos": row["video_path"],
        "audio": row["audio_path"],
        "video_start": float(row["start"]),
        "video_end": float(row["end"]),
        "frame_region": side,
    }


def iemocap_fold_split(dataset: Dataset, protocol: str = "published", fold: int = 0) -> DatasetDict:
    """The leave-one-session-out train / validation / test splits of one fold.

    Args:
        dataset: A data set from `prepare_iemocap` (any data set with an integer `session` column).
        protocol: `"published"`: test = validation = session fold+1, train = the other four sessions; `"clean"`:
            test = session fold+1, validation = the next session (cyclic), train = the other three.
        fold: The fold k, 0..4.

    Returns:
        A `DatasetDict` with `train`, `validation` and `test`. Raises `ValueError` for an unknown protocol or fold,
        and when the data set lacks the sessions of a split.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown IEMOCAP protocol {protocol!r}; use one of {PROTOCOLS}.")
    if not 0 <= fold < NUM_SESSIONS:
        raise ValueError(f"IEMOCAP fold {fold!r} does not exist; folds are 0..{NUM_SESSIONS - 1}.")
    test_session = fold + 1
    validation_session = test_session if protocol == "published" else (fold + 1) % NUM_SESSIONS + 1
    return split_by_group(dataset, "session", [test_session], [validation_session], f"IEMOCAP {protocol} fold {fold}")


def _side_override(text: str) -> tuple[str, str]:
    """`DIALOG=SIDE` from the command line -> `(dialog, side)`."""
    dialog, separator, side = text.partition("=")
    if not separator:
        raise argparse.ArgumentTypeError(f"{text!r}: expected DIALOG=SIDE, e.g. Ses03M_impro01=right.")
    return dialog, side


def main(argv: list[str] | None = None) -> Dataset:
    # file names that are not valid UTF-8 (kept by Python as surrogates) are printed escaped instead of crashing
    sys.stdout.reconfigure(errors="backslashreplace")
    sys.stderr.reconfigure(errors="backslashreplace")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="IEMOCAP_full_release, holding Session1 .. Session5")
    parser.add_argument("--marker-side", choices=SIDES, default="left", help="half showing the marker-wearing actor")
    parser.add_argument(
        "--side-override", type=_side_override, action="append", default=[], metavar="DIALOG=SIDE",
        help="the marker-wearing actor's half for one dialog (repeatable)",
    )  # fmt: skip
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    dataset, report = prepare_iemocap(
        args.root, args.marker_side, dict(args.side_override), progress=not args.no_progress
    )
    save_prepared(dataset, report, args)
    return dataset


if __name__ == "__main__":
    main()
