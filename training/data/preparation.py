"""What the RAVDESS and IEMOCAP preparations share: the report they return beside their `datasets.Dataset` (what was
kept, counted by class and speaker group; what was skipped and why; what was kept with a warning; what the chosen
subset left out), speaker-independent fold splits, and the output step of their command lines."""

import argparse
import json
import os
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict


# how many skipped files and warnings `PreparationReport.summary` prints; the json holds them all
MAX_LISTED = 20
REPORT_FILE_NAME = "preparation_report.json"


@dataclass
class PreparationReport:
    """
    What a preparation found under a data set root.

    Args:
        dataset: The data set's name (`"ravdess"`, `"iemocap"`).
        root: The root folder that was read.
        num_kept: Number of examples kept.
        counts: Per field (e.g. `"emotion"`, `"actor"`), how many kept examples have each value, in the order the
            values were declared or first seen.
        skipped: One `{"path", "reason"}` per file or example left out because it is unusable.
        warnings: One `{"path", "message"}` per example kept despite a problem (e.g. no landmark CSV).
        excluded: Per reason, how many files or examples the chosen subset leaves out on purpose (another modality,
            a label outside the class set, ...); these are not errors.
    """

    dataset: str
    root: str
    num_kept: int = 0
    counts: dict[str, Counter] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    excluded: Counter = field(default_factory=Counter)

    def declare(self, name: str, values: Sequence) -> None:
        """Count field `name` in the order of `values`, each starting at 0, so that values never seen show as 0."""
        self.counts[name] = Counter({str(value): 0 for value in values})

    def count(self, **values) -> None:
        """Count one kept example under each of its field values, e.g. `count(emotion="sad", actor=3)`."""
        self.num_kept += 1
        for name, value in values.items():
            self.counts.setdefault(name, Counter())[str(value)] += 1

    def skip(self, path: str | os.PathLike, reason: str) -> None:
        """Record that `path` is left out, and why (a reason starting `"<path>: "` loses that prefix)."""
        self.skipped.append({"path": str(path), "reason": _without_path(reason, path)})

    def warn(self, path: str | os.PathLike, message: str) -> None:
        """Record that `path` is kept despite a problem (a message starting `"<path>: "` loses that prefix)."""
        self.warnings.append({"path": str(path), "message": _without_path(message, path)})

    def exclude(self, reason: str) -> None:
        """Count one file or example that the chosen subset leaves out on purpose."""
        self.excluded[reason] += 1

    def to_dict(self) -> dict:
        """The report as plain json-ready data."""
        return {
            "dataset": self.dataset,
            "root": self.root,
            "num_kept": self.num_kept,
            "counts": {name: dict(counter) for name, counter in self.counts.items()},
            "num_skipped": len(self.skipped),
            "skipped": self.skipped,
            "num_warnings": len(self.warnings),
            "warnings": self.warnings,
            "excluded": dict(sorted(self.excluded.items())),
        }

    def write_json(self, path: str | os.PathLike) -> Path:
        """Write `to_dict()` as indented json and return the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    def summary(self) -> str:
        """A human-readable summary: counts per field, then skipped files, warnings and exclusions."""
        lines = [f"{self.dataset}: kept {self.num_kept} examples from {self.root}"]
        for name, counter in self.counts.items():
            cells = ", ".join(f"{value}: {number}" for value, number in counter.items())
            lines.append(f"  per {name}: {cells}")
        lines += _listing("skipped", [f"{self._short(item['path'])}: {item['reason']}" for item in self.skipped])
        lines += _listing(
            "kept with a warning", [f"{self._short(item['path'])}: {item['message']}" for item in self.warnings]
        )
        excluded = ", ".join(f"{reason}: {number}" for reason, number in sorted(self.excluded.items()))
        lines.append(f"  left out by the chosen subset: {excluded or 'nothing'}")
        return "\n".join(lines)

    def _short(self, path: str) -> str:
        """`path` relative to the root when it lies inside it."""
        return os.path.relpath(path, self.root) if path.startswith(self.root + os.sep) else path


def _without_path(text: str, path: str | os.PathLike) -> str:
    """`text` without a leading `"<path>: "`."""
    return text.removeprefix(f"{os.fspath(path)}: ")


def _listing(title: str, entries: list[str]) -> list[str]:
    """`title (count):`, then at most `MAX_LISTED` indented entries and a line saying how many more there are."""
    lines = [f"  {title} ({len(entries)}){':' if entries else ''}"]
    lines += [f"    {entry}" for entry in entries[:MAX_LISTED]]
    if len(entries) > MAX_LISTED:
        lines.append(f"    ... and {len(entries) - MAX_LISTED} more (see the json report)")
    return lines


def split_by_group(
    dataset: Dataset, column: str, test_groups: Collection[int], validation_groups: Collection[int], fold_name: str
) -> DatasetDict:
    """Train / validation / test splits by the value of a grouping column (actor, session), so that no group is in
    both training and evaluation.

    Args:
        dataset: The prepared data set.
        column: The integer grouping column (`"actor"`, `"session"`).
        test_groups: Groups of the test split.
        validation_groups: Groups of the validation split; they may equal `test_groups` (the published protocols).
        fold_name: How to name the fold in errors, e.g. `"RAVDESS published fold 2"`.

    Returns:
        A `DatasetDict` with `train` (every other group), `validation` and `test`. Raises `ValueError` when a split
        comes out empty because the data set lacks its groups.
    """
    if column not in dataset.column_names:
        raise ValueError(f"{fold_name}: the data set has no {column!r} column (columns: {dataset.column_names}).")
    groups = np.asarray(dataset[column])
    evaluation = set(test_groups) | set(validation_groups)
    members = {
        "train": np.flatnonzero(~np.isin(groups, list(evaluation))),
        "validation": np.flatnonzero(np.isin(groups, list(validation_groups))),
        "test": np.flatnonzero(np.isin(groups, list(test_groups))),
    }
    for split, indices in members.items():
        if len(indices) == 0:
            present = sorted(set(groups.tolist()))
            raise ValueError(
                f"{fold_name}: the {split} split is empty; the data set holds {column}s {present}, the fold tests "
                f"{sorted(test_groups)} and validates on {sorted(validation_groups)}."
            )
    return DatasetDict({split: dataset.select(indices) for split, indices in members.items()})


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the output options that every preparation command line shares: `--output`, `--push-to-hub`, `--private`
    and `--no-progress`."""
    parser.add_argument("--output", required=True, type=Path, help="folder to save the data set to (save_to_disk)")
    parser.add_argument(
        "--push-to-hub",
        metavar="REPO",
        help="also push the data set (its rows: labels and local media paths) to the Hub",
    )
    parser.add_argument("--private", action="store_true", help="make the pushed repository private")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def save_prepared(dataset: Dataset, report: PreparationReport, args: argparse.Namespace) -> None:
    """Print the report's summary, save the data set to `args.output` with the report beside it as
    `preparation_report.json`, and push the data set to `args.push_to_hub` when given (the rows only: the media paths
    in them are local to this machine, the media are not uploaded)."""
    print(report.summary())
    dataset.save_to_disk(str(args.output))
    report_path = report.write_json(args.output / REPORT_FILE_NAME)
    print(f"saved {len(dataset)} examples to {args.output} (report: {report_path})")
    if args.push_to_hub:
        dataset.push_to_hub(args.push_to_hub, private=args.private)
        print(f"pushed to the Hub: {args.push_to_hub}")
