"""Train and evaluate TACFN on RAVDESS, IEMOCAP or the demo data with the 🤗 Trainer.

Media are decoded on the fly by the processor in the DataLoader workers, or read from a clip store
(`--data_dir STORE`, see `training.data.clip_store`). Runs on one CPU, one GPU or many under
Accelerate:

    python training/train.py --dataset ravdess --data_dir RAVDESS --fold 0 --config ravdess --output_dir runs/fold0
    accelerate launch training/train.py --dataset demo --data_dir demo_data --config tiny --output_dir runs/demo
    accelerate launch --multi_gpu --num_processes 2 training/train.py ...

The output folder holds the model and processor (loadable with `AutoModel.from_pretrained(output_dir)`),
`eval_results.json` (metrics on the test split) and `confusion_matrix.png`.
"""

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import transformers
from datasets import DatasetDict
from transformers import HfArgumentParser, Trainer, TrainingArguments, set_seed
from transformers.trainer import TRAINING_ARGS_NAME

from hub_configs.presets import MODEL_PRESETS, model_config, processor_for
from hub_configs.publish import publish
from modeling_tacfn import TACFNForAudioVisualClassification
from modeling_tacfn.encoder_loading_tacfn import encoder_configs, load_encoder_weights
from processing import save_pipeline
from training.encoder_training import EncoderFreezing, EncoderTrainer
from training.metrics import build_compute_metrics
from training.missing_modality import evaluate_without_each_modality
from training.plots import plot_confusion_matrix
from training.speed_levers import apply_training_levers
from training.splits import AugmentationEpoch, load_splits
from training.store_training import split_without, training_splits


logger = logging.getLogger(__name__)


@dataclass
class ModelArguments:
    config: str = field(
        default="tiny", metadata={"help": "A preset (tiny, ravdess, iemocap) or a saved model folder / config path."}
    )
    modality: str = field(
        default="both", metadata={"help": "both (TACFN), or video / audio alone (the paper's unimodal first stage)."}
    )
    init_video_from: str | None = field(
        default=None, metadata={"help": "A trained video-only model folder whose video encoder starts this model."}
    )
    init_audio_from: str | None = field(
        default=None, metadata={"help": "A trained audio-only model folder whose audio encoder starts this model."}
    )
    channels_last_3d: bool = field(
        default=False, metadata={"help": "Store the 3-D convolution weights channels_last_3d (faster on CPU and GPU)."}
    )
    modality_dropout: float | None = field(
        default=None,
        metadata={"help": "Probability that a training clip loses its audio or its video (fused model only)."},
    )
    audio_encoder: str | None = field(
        default=None, metadata={"help": "A pretrained speech encoder (Hub name or folder: facebook/wav2vec2-base)."}
    )
    video_encoder: str | None = field(
        default=None, metadata={"help": "A pretrained video encoder (Hub name or folder, e.g. MCG-NJU/videomae-base)."}
    )
    encoder_learning_rate: float | None = field(
        default=None, metadata={"help": "Learning rate of the pretrained encoders (default: --learning_rate)."}
    )
    freeze_encoders_steps: int = field(
        default=0, metadata={"help": "Steps the pretrained encoders stay frozen; -1 freezes them for the whole run."}
    )

    @property
    def preset(self) -> str | None:
        """The preset that `--config` names (recorded in eval_results.json for the model card), or None when it names a
        saved model folder or config file."""
        return self.config if self.config in MODEL_PRESETS else None


@dataclass
class DataArguments:
    dataset: str = field(default="demo", metadata={"help": "ravdess, iemocap or demo (RAVDESS-format demo tree)."})
    data_dir: str | None = field(
        default=None,
        metadata={"help": "Data set root (RAVDESS Actor_* folders, IEMOCAP_full_release) or a prepared data set."},
    )
    landmarks_dir: str | None = field(
        default=None, metadata={"help": "RAVDESS FacialTracking landmark CSVs; default: beside the videos."}
    )
    protocol: str = field(
        default="published",
        metadata={"help": "published (test fold also selects the model) or clean (separate validation actors)."},
    )
    fold: int = field(default=0, metadata={"help": "Fold index (RAVDESS 0-5, IEMOCAP 0-4)."})


def build_model(model_args: ModelArguments, label_names: list[str]) -> TACFNForAudioVisualClassification:
    """A fresh model for the preset and modality, its encoders optionally taken from trained unimodal models."""
    overrides = {"modality": model_args.modality, "id2label": dict(enumerate(label_names)), "label2id": None}
    if model_args.modality_dropout is not None:
        overrides["modality_dropout"] = model_args.modality_dropout
    encoders = encoder_configs(model_args.audio_encoder, model_args.video_encoder)
    config = model_config(model_args.config, **overrides, **encoders)
    model = TACFNForAudioVisualClassification(config)
    load_encoder_weights(model, model_args.audio_encoder, model_args.video_encoder)
    for modality, source in (("video", model_args.init_video_from), ("audio", model_args.init_audio_from)):
        if source:
            load_encoder(model, modality, source)
    return model


def load_encoder(model: TACFNForAudioVisualClassification, modality: str, source: str) -> None:
    """Copies the `modality` encoder of the trained model in `source` into `model` (the paper's second stage)."""
    encoder = getattr(model.tacfn, f"{modality}_encoder")
    if encoder is None:
        raise ValueError(f"--init_{modality}_from {source}: this {model.config.modality!r} model has no {modality} encoder.")
    trained = TACFNForAudioVisualClassification.from_pretrained(source)
    trained_encoder = getattr(trained.tacfn, f"{modality}_encoder")
    if trained_encoder is None:
        raise ValueError(f"--init_{modality}_from {source}: that model ({trained.config.modality!r}) has no {modality} encoder.")
    try:
        encoder.load_state_dict(trained_encoder.state_dict())
    except RuntimeError as error:
        raise ValueError(f"--init_{modality}_from {source}: its {modality} encoder does not fit this model: {error}") from None


RECIPE_ARGUMENTS = (
    "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
    "weight_decay", "warmup_steps", "lr_scheduler_type", "seed",
)  # fmt: skip


def recipe_arguments(args: TrainingArguments) -> dict:
    """The training arguments a model card shows (as plain JSON values)."""
    return {name: getattr(args, name) for name in RECIPE_ARGUMENTS}


def write_test_report(
    trainer: Trainer, splits: DatasetDict, label_names: list[str], data_args: DataArguments, preset: str | None, processor
) -> dict:
    """Evaluates on the test split and writes eval_results.json (the run's data, fold, preset and settings, the test
    metrics and, for a fused model, the test metrics with each modality removed) and confusion_matrix.png to the output
    folder."""
    metrics = trainer.evaluate(splits["test"], metric_key_prefix="test")
    without = evaluate_without_each_modality(
        trainer, lambda modality: split_without(splits["test"], processor, data_args.dataset, modality)
    )
    report = {
        "dataset": data_args.dataset,
        "protocol": data_args.protocol,
        "fold": data_args.fold,
        "preset": preset,
        "modality": trainer.model.config.modality,
        "modality_dropout": trainer.model.config.modality_dropout,
        "world_size": trainer.args.world_size,
        "label_names": label_names,
        "num_test_examples": len(splits["test"]),
        "training_arguments": recipe_arguments(trainer.args),
        "metrics": {name.removeprefix("test_"): value for name, value in metrics.items()},
        "metrics_without": without,  # keyed by the modality removed
    }
    if trainer.is_world_process_zero():
        output_dir = Path(trainer.args.output_dir)
        (output_dir / "eval_results.json").write_text(json.dumps(report, indent=2))
        plot_confusion_matrix(
            np.array(report["metrics"]["confusion_matrix"]), label_names, output_dir / "confusion_matrix.png"
        )
    return report


def run(model_args: ModelArguments, data_args: DataArguments, training_args: TrainingArguments) -> dict:
    """Trains, saves the model and processor, and returns the test report."""
    set_seed(training_args.seed)
    splits, label_names = load_splits(data_args)
    model = build_model(model_args, label_names)
    apply_training_levers(model, model_args.channels_last_3d, training_args)
    processor = processor_for(model.config, model_args.audio_encoder, model_args.video_encoder)
    augmentation = AugmentationEpoch(training_args.seed)
    splits, trainer_class = training_splits(
        splits, processor, data_args, augmentation, modality_dropout=model.config.modality_dropout
    )

    training_args.remove_unused_columns = False  # the transforms read the path columns
    push_to_hub, training_args.push_to_hub = training_args.push_to_hub, False  # published once, by hub_configs
    trainer = trainer_class(
        model=model,
        encoder_learning_rate=model_args.encoder_learning_rate,
        args=training_args,
        train_dataset=splits["train"],
        eval_dataset=splits["validation"],
        compute_metrics=build_compute_metrics(label_names),
        callbacks=[augmentation, EncoderFreezing(model, model_args.freeze_encoders_steps)],
    )
    trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint)
    trainer.save_model()
    if trainer.is_world_process_zero():
        # the model folder holds no pickle: the Trainer's training_args.bin goes, the arguments are in eval_results.json
        Path(training_args.output_dir, TRAINING_ARGS_NAME).unlink(missing_ok=True)
        # saved here, not as the Trainer's processing_class: the Trainer expects processors to hold a tokenizer
        processor.save_pretrained(training_args.output_dir)
        save_pipeline(training_args.output_dir)
    report = write_test_report(trainer, splits, label_names, data_args, model_args.preset, processor)
    if push_to_hub and trainer.is_world_process_zero():
        publish(training_args.output_dir, training_args.hub_model_id, private=training_args.hub_private_repo)
    return report


def with_cpu_default(argv: list[str]) -> list[str]:
    """Adds `--use_cpu true` on a machine without an accelerator: Transformers then sets up several processes
    (`accelerate launch --multi_gpu --num_processes N`) as CPU DDP over gloo instead of N independent runs."""
    if torch.accelerator.is_available() or any(argument.startswith("--use_cpu") for argument in argv):
        return argv
    return [*argv, "--use_cpu", "true"]


def parse_arguments(argv: list[str] | None = None, extra_dataclasses: tuple = ()) -> tuple:
    """The dataclasses of `training/train.py` (and `extra_dataclasses`) from the command line."""
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments, *extra_dataclasses))
    return parser.parse_args_into_dataclasses(args=with_cpu_default(sys.argv[1:] if argv is None else list(argv)))


def main(argv: list[str] | None = None) -> dict:
    model_args, data_args, training_args = parse_arguments(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    transformers.utils.logging.set_verbosity(training_args.get_process_log_level())
    report = run(model_args, data_args, training_args)
    logger.info("test metrics: %s", json.dumps(report["metrics"]))
    return report


if __name__ == "__main__":
    main()
