"""The paper's whole training recipe in one command: for every fold, the unimodal first stage (a video-only and an
audio-only model) and the fused second stage initialised from their encoders; then the per-fold and mean ± std
tables, the confusion matrix summed over the folds, and the cross-validation results for the model card.

    python -m training.reproduce --dataset ravdess --data_dir ravdess_store --config ravdess --protocol published \\
        --output_dir runs/reproduce --num_train_epochs 30 --per_device_train_batch_size 8 [--folds 0,1]

Takes the arguments of `training/train.py` (every stage trains with them; `--data_dir` may be a data set root or a
clip store, `training.data.clip_store`) and `--folds`. Stage S of fold K trains into `OUTPUT_DIR/fold_K/S` (`video`,
`audio`, `fused`). Resumable: a stage whose folder holds `eval_results.json` is done and is not run again, and a stage
stopped in the middle continues from its last checkpoint (with `--save_strategy` steps or epoch). `OUTPUT_DIR` then
holds `reproduction.json` and `reproduction.md` (every stage's per-fold metrics and mean ± std) and
`confusion_matrix.png` (the fused models' test confusion matrices summed over the folds); the fused summary is also
written as `cross_validation.json` into `OUTPUT_DIR` and every `fold_K/fused` folder, so that `python -m
hub_configs.publish OUTPUT_DIR/fold_K/fused REPO` puts the cross-validation results into the model card.
"""

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
from transformers import TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from training.cross_validate import CrossValidationArguments, chosen_folds, summarise_folds, summary_markdown
from training.plots import plot_confusion_matrix
from training.train import DataArguments, ModelArguments, parse_arguments, run


STAGES = ("video", "audio", "fused")
REPORT_NAME = "eval_results.json"
SUMMARY_NAME = "cross_validation.json"


def stage_arguments(
    stage: str, fold_dir: Path, model_args: ModelArguments, training_args: TrainingArguments
) -> tuple[ModelArguments, TrainingArguments]:
    """The model and training arguments of one stage of a fold: its modality (the fused stage starts from the fold's
    unimodal models) and its own output folder, resumed from its last checkpoint when one is there."""
    output_dir = fold_dir / stage
    if stage == "fused":
        stage_model = dataclasses.replace(
            model_args, modality="both", init_video_from=str(fold_dir / "video"), init_audio_from=str(fold_dir / "audio")
        )
    else:
        stage_model = dataclasses.replace(model_args, modality=stage, init_video_from=None, init_audio_from=None)
    stage_training = copy.deepcopy(training_args)
    stage_training.output_dir = str(output_dir)
    stage_training.resume_from_checkpoint = get_last_checkpoint(output_dir) if output_dir.is_dir() else None
    return stage_model, stage_training


def run_stage(stage: str, fold_dir: Path, model_args, data_args, training_args) -> dict:
    """The test report of one stage of a fold: read from its folder when the stage is done, else trained."""
    report_path = fold_dir / stage / REPORT_NAME
    if report_path.is_file():
        return json.loads(report_path.read_text())
    stage_model, stage_training = stage_arguments(stage, fold_dir, model_args, training_args)
    return run(stage_model, data_args, stage_training)


def reproduction_markdown(summaries: dict[str, dict]) -> str:
    """Every stage's per-fold and mean ± std table, the fused stage first."""
    sections = [summary_markdown(summaries[stage]) for stage in ("fused", "video", "audio")]
    return "\n".join(sections)


def reproduce(
    model_args: ModelArguments, data_args: DataArguments, training_args: TrainingArguments, folds: list[int]
) -> dict:
    """Runs (or finds done) every stage of every fold and writes the summaries; returns `{stage: summary}`."""
    root = Path(training_args.output_dir)
    reports = {stage: [] for stage in STAGES}
    for fold in folds:
        fold_data = dataclasses.replace(data_args, fold=fold)
        for stage in STAGES:
            reports[stage].append(run_stage(stage, root / f"fold_{fold}", model_args, fold_data, training_args))
    summaries = {stage: summarise_folds(stage_reports) for stage, stage_reports in reports.items()}
    if training_args.process_index == 0:
        write_summaries(root, summaries, reports["fused"], folds)
    return summaries


def write_summaries(root: Path, summaries: dict, fused_reports: list[dict], folds: list[int]) -> None:
    """`reproduction.json` / `.md`, the summed confusion matrix and the fused `cross_validation.json` (also in every
    fold's fused model folder, for its model card)."""
    (root / "reproduction.json").write_text(json.dumps(summaries, indent=2))
    (root / "reproduction.md").write_text(reproduction_markdown(summaries))
    confusion = np.sum([np.array(report["metrics"]["confusion_matrix"]) for report in fused_reports], axis=0)
    plot_confusion_matrix(confusion, summaries["fused"]["label_names"], root / "confusion_matrix.png")
    fused_summary = json.dumps({**summaries["fused"], "confusion_matrix": confusion.tolist()}, indent=2)
    for folder in [root, *(root / f"fold_{fold}" / "fused" for fold in folds)]:
        (folder / SUMMARY_NAME).write_text(fused_summary)


def main(argv: list[str] | None = None) -> dict:
    model_args, data_args, training_args, cv_args = parse_arguments(argv, (CrossValidationArguments,))
    summaries = reproduce(model_args, data_args, training_args, chosen_folds(cv_args, data_args.dataset))
    print(reproduction_markdown(summaries))
    return summaries


if __name__ == "__main__":
    main()
