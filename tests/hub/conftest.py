"""Shared material for the Hub tests: a real talking-face clip, a real `training/train.py` run, and model folders as
training writes them with chosen results."""

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub.errors import OfflineModeIsEnabled
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

from modeling_tacfn import TACFNForAudioVisualClassification
from tests import media
from training.plots import plot_confusion_matrix
from hub_configs.presets import model_config, processor_for


os.environ["HF_HUB_OFFLINE"] = "1"

FPS = 12
NUM_FRAMES = 36  # 3 s
HEIGHT, WIDTH = 120, 160
SAMPLE_RATE = 48000
FACE_BOX = (44, 16, 116, 104)

# what publishing uploads from a training output folder, beside the generated README.md
CODE_FILES = [
    "audio_resampling_tacfn.py",
    "augmentation_tacfn.py",
    "configuration_tacfn.py",
    "encoder_configs_tacfn.py",
    "encoder_loading_tacfn.py",
    "face_landmarks_tacfn.py",
    "feature_extraction_tacfn.py",
    "frame_boxes_tacfn.py",
    "media_io_tacfn.py",
    "missing_modality_tacfn.py",
    "model_inputs_tacfn.py",
    "modeling_outputs_tacfn.py",
    "modeling_tacfn.py",
    "orientation_tacfn.py",
    "pretrained_encoders_tacfn.py",
    "processing_tacfn.py",
    "timeline_tacfn.py",
    "video_inputs_tacfn.py",
    "video_processing_tacfn.py",
    "waveform_feature_extraction_tacfn.py",
]
UPLOADED = sorted(
    [
        "config.json",
        "confusion_matrix.png",
        "eval_results.json",
        "model.safetensors",
        "processor_config.json",
        *CODE_FILES,
    ]
)


@dataclass(frozen=True)
class TrainingRun:
    """A `training/train.py --push_to_hub` run: its output folder and what publishing raised (offline)."""

    output_dir: Path
    publish_error: Exception | None


@dataclass(frozen=True)
class Clip:
    """An H.264/AAC mp4 of a drawn face speaking, and its OpenFace landmark CSV."""

    path: Path
    landmarks: Path


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Clip:
    folder = tmp_path_factory.mktemp("clip")
    frames = media.face_frames(NUM_FRAMES, HEIGHT, WIDTH, face_box=FACE_BOX)
    audio = media.speech_like_audio(NUM_FRAMES / FPS, SAMPLE_RATE, channels=2, seed=4)
    path = media.write_video(folder / "clip.mp4", frames, FPS, audio=audio, sample_rate=SAMPLE_RATE)
    landmarks = media.write_openface_csv(folder / "clip.csv", media.face_landmarks(NUM_FRAMES, FACE_BOX), FPS)
    return Clip(Path(path), Path(landmarks))


@pytest.fixture(scope="session")
def training_run(tmp_path_factory) -> TrainingRun:
    """One training step of the tiny preset on 8 demo actors (published protocol, fold 0: actors 1-4 are the test
    split), into a folder named `tacfn-ravdess`, with `--push_to_hub`; offline, publishing fails after training has
    written the folder."""
    from training.data.demo import write_demo_ravdess
    from training.train import main as train_main

    root = tmp_path_factory.mktemp("training-run")
    write_demo_ravdess(root / "demo", actors=8, clips_per_emotion=1, seed=0)
    output_dir = root / "tacfn-ravdess"
    arguments = [
        "--dataset", "demo", "--data_dir", str(root / "demo"), "--config", "tiny", "--output_dir", str(output_dir),
        "--protocol", "published", "--fold", "0", "--max_steps", "1", "--per_device_train_batch_size", "8",
        "--per_device_eval_batch_size", "16", "--dataloader_num_workers", "0", "--save_strategy", "no",
        "--eval_strategy", "no", "--dataloader_pin_memory", "false", "--report_to", "none", "--disable_tqdm", "true",
        "--seed", "3",
        "--push_to_hub", "--hub_model_id", "someone/tacfn-ravdess",
    ]  # fmt: skip
    try:
        train_main(arguments)
    except OfflineModeIsEnabled as error:
        return TrainingRun(output_dir, error)
    return TrainingRun(output_dir, None)


def evaluation_report(
    label_names: list[str], seed: int, dataset: str = "ravdess", fold: int = 2, preset: str | None = "tiny"
) -> dict:
    """An `eval_results.json` as `training/train.py` writes it for a model built from `preset`, its metrics computed by
    scikit-learn from random predictions on 48 test clips."""
    rng = np.random.default_rng(seed)
    labels = np.arange(len(label_names))
    truth = rng.integers(0, len(label_names), 48)
    predictions = np.where(rng.random(48) < 0.6, truth, rng.integers(0, len(label_names), 48))
    return {
        "dataset": dataset,
        "protocol": "clean",
        "fold": fold,
        "preset": preset,
        "modality": "both",
        "world_size": 1,
        "label_names": list(label_names),
        "num_test_examples": 48,
        "metrics": {
            "loss": 1.7,
            "accuracy": accuracy_score(truth, predictions),
            "unweighted_accuracy": recall_score(truth, predictions, labels=labels, average="macro", zero_division=0),
            "macro_f1": f1_score(truth, predictions, labels=labels, average="macro", zero_division=0),
            "per_class_f1": f1_score(truth, predictions, labels=labels, average=None, zero_division=0).tolist(),
            "confusion_matrix": confusion_matrix(truth, predictions, labels=labels).tolist(),
            "runtime": 0.8,
        },
    }


def write_trained_folder(folder: Path, preset: str = "tiny", seed: int = 0) -> Path:
    """
    A model folder with everything `training/train.py` leaves in `--output_dir`: the model and processor saved with
    `save_pretrained` (with their code files), `eval_results.json`, `confusion_matrix.png`, `training_args.bin` and a
    checkpoint folder.
    """
    torch.manual_seed(seed)
    config = model_config(preset)
    TACFNForAudioVisualClassification(config).eval().save_pretrained(folder)
    processor_for(config).save_pretrained(folder)
    label_names = [config.id2label[index] for index in range(config.num_labels)]
    report = evaluation_report(label_names, seed, preset=preset)
    (folder / "eval_results.json").write_text(json.dumps(report, indent=2))
    plot_confusion_matrix(
        np.array(report["metrics"]["confusion_matrix"]), label_names, folder / "confusion_matrix.png"
    )
    (folder / "training_args.bin").write_bytes(b"\x80\x04 pickled TrainingArguments")
    (folder / "checkpoint-2").mkdir()
    (folder / "checkpoint-2" / "trainer_state.json").write_text("{}")
    return folder


def write_repository(plan, destination: Path) -> Path:
    """The files of an upload plan's commit (`plan.operations()`), laid out in `destination` as the repository holds
    them after the upload."""
    destination.mkdir(parents=True)
    for operation in plan.operations():
        with operation.as_file() as content:
            (destination / operation.path_in_repo).write_bytes(content.read())
    return destination


@pytest.fixture(scope="session")
def trained_folder(tmp_path_factory) -> Path:
    """A trained-model folder named `tacfn-ravdess` (tiny preset, RAVDESS classes). Read-only: copy it to change it."""
    return write_trained_folder(tmp_path_factory.mktemp("trained") / "tacfn-ravdess")


@pytest.fixture
def trained_copy(trained_folder, tmp_path) -> Path:
    """A copy of `trained_folder` that a test may change."""
    return Path(shutil.copytree(trained_folder, tmp_path / "tacfn-ravdess"))
