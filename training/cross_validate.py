"""Run every fold of a protocol and summarise: per-fold and mean ± std metrics as markdown and json.

    python -m training.cross_validate --dataset ravdess --data_dir RAVDESS --config ravdess --output_dir runs/cv

Takes the arguments of `training/train.py`, plus `--folds 0,2` to run a subset. Each fold trains into
`OUTPUT_DIR/fold_K`; `OUTPUT_DIR/cross_validation.json` and `OUTPUT_DIR/cross_validation.md` hold the summary.
"""

import copy
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from transformers import TrainingArguments

from training.splits import num_folds
from training.train import DataArguments, ModelArguments, parse_arguments, run


SUMMARY_METRICS = ("accuracy", "unweighted_accuracy", "macro_f1")


@dataclass
class CrossValidationArguments:
    folds: str | None = field(default=None, metadata={"help": "Comma-separated fold indices; default: every fold."})


def summarise_folds(reports: list[dict]) -> dict:
    """Per-fold metrics plus the mean and (population) standard deviation of the scalar metrics over folds."""
    first = reports[0]
    scalar_names = [name for name in SUMMARY_METRICS if name in first["metrics"]]
    values = {name: np.array([report["metrics"][name] for report in reports], dtype=float) for name in scalar_names}
    return {
        "dataset": first["dataset"],
        "protocol": first["protocol"],
        "preset": first["preset"],
        "modality": first["modality"],
        "label_names": first["label_names"],
        "folds": [{"fold": report["fold"], "metrics": report["metrics"]} for report in reports],
        "mean": {name: float(series.mean()) for name, series in values.items()},
        "std": {name: float(series.std()) for name, series in values.items()},
    }


def summary_markdown(summary: dict) -> str:
    """The summary as a markdown table: one row per fold, then mean ± std."""
    names = list(summary["mean"])
    lines = [
        f"# Cross-validation: {summary['dataset']}, {summary['protocol']} protocol, {summary['modality']}",
        "",
        "| fold | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for fold in summary["folds"]:
        lines.append(f"| {fold['fold']} | " + " | ".join(f"{fold['metrics'][name]:.4f}" for name in names) + " |")
    lines.append(
        "| mean ± std | "
        + " | ".join(f"{summary['mean'][name]:.4f} ± {summary['std'][name]:.4f}" for name in names)
        + " |"
    )
    return "\n".join(lines) + "\n"


def cross_validate(
    model_args: ModelArguments, data_args: DataArguments, training_args: TrainingArguments, folds: list[int]
) -> dict:
    """Trains and tests each fold into its own sub-folder and writes the summary files; returns the summary."""
    root = Path(training_args.output_dir)
    reports = []
    for fold in folds:
        fold_data = dataclasses.replace(data_args, fold=fold)
        fold_training = copy.deepcopy(training_args)
        fold_training.output_dir = str(root / f"fold_{fold}")
        reports.append(run(model_args, fold_data, fold_training))
    summary = summarise_folds(reports)
    if training_args.process_index == 0:
        (root / "cross_validation.json").write_text(json.dumps(summary, indent=2))
        (root / "cross_validation.md").write_text(summary_markdown(summary))
    return summary


def chosen_folds(cv_args: CrossValidationArguments, dataset: str) -> list[int]:
    """The folds `--folds` names, or every fold of the data set."""
    return [int(fold) for fold in cv_args.folds.split(",")] if cv_args.folds else list(range(num_folds(dataset)))


def main(argv: list[str] | None = None) -> dict:
    model_args, data_args, training_args, cv_args = parse_arguments(argv, (CrossValidationArguments,))
    summary = cross_validate(model_args, data_args, training_args, chosen_folds(cv_args, data_args.dataset))
    print(summary_markdown(summary))
    return summary


if __name__ == "__main__":
    main()
