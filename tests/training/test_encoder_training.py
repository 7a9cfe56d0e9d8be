"""Training TACFN over pretrained encoders (tiny random wav2vec2 + VideoMAE saved as local "pretrained" folders) on the
demo data: a real Trainer run that lowers the loss, the encoders' own learning rate and freezing, and `train.py`'s
`--audio_encoder` / `--video_encoder` flags."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoProcessor,
    TrainerCallback,
    TrainingArguments,
    VideoMAEImageProcessor,
    VideoMAEModel,
    Wav2Vec2Model,
)

from hub_configs.presets import processor_for
from processing import TACFNWaveformFeatureExtractor
from modeling_tacfn import TACFNForAudioVisualClassification
from tests.encoder_configs import AUDIO_ENCODERS, FUSION_KWARGS, VIDEO_ENCODERS
from training.data.demo import write_demo_ravdess
from training.encoder_training import EncoderFreezing, EncoderTrainer
from training.splits import clip_transform, load_splits
from training.train import DataArguments
from training.train import main as train_main


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def encoder_folders(tmp_path_factory) -> tuple[str, str]:
    """A speech and a video encoder saved with their preprocessing, as on the Hub (the speech preprocessing keeps 0.5 s
    of audio: 400 encoder frames, so that training steps stay fast)."""
    root = tmp_path_factory.mktemp("encoders")
    torch.manual_seed(0)
    Wav2Vec2Model(AUDIO_ENCODERS["wav2vec2"]()).save_pretrained(root / "speech")
    TACFNWaveformFeatureExtractor(audio_duration=0.5, do_normalize=True).save_pretrained(root / "speech")
    VideoMAEModel(VIDEO_ENCODERS["videomae"]()).save_pretrained(root / "video")
    VideoMAEImageProcessor(image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]).save_pretrained(root / "video")
    return str(root / "speech"), str(root / "video")


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    write_demo_ravdess(root, actors=12, clips_per_emotion=1, seed=0)
    return root


def mean_loss(model, batch: dict) -> float:
    model.eval()
    with torch.no_grad():
        return model(**batch).loss.item()


def test_a_trainer_run_lowers_the_loss_and_trains_the_encoders_at_their_rate_after_the_frozen_steps(
    encoder_folders, demo_root, tmp_path
):
    speech, video = encoder_folders
    model = TACFNForAudioVisualClassification.from_encoders(audio=speech, video=video, **FUSION_KWARGS)
    processor = processor_for(model.config, speech, video)
    assert processor.video_processor.image_mean == (0.5, 0.5, 0.5)
    splits, _ = load_splits(DataArguments(dataset="demo", data_dir=str(demo_root)))
    clips = splits["train"].select(range(8))
    clips.set_transform(clip_transform(processor, "demo"))
    batch = clips[:8]  # decoded once: the run trains on these 8 clips, read from memory
    examples = [{name: value[index] for name, value in batch.items()} for index in range(8)]
    before, encoder_start = mean_loss(model, batch), model.tacfn.audio_encoder.model.state_dict()
    encoder_start = {name: value.clone() for name, value in encoder_start.items()}
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=16, per_device_train_batch_size=8, learning_rate=1e-2,
        lr_scheduler_type="constant", report_to="none", save_strategy="no", use_cpu=True, dataloader_num_workers=0,
        disable_tqdm=True, seed=0, logging_steps=4, remove_unused_columns=False,
    )  # fmt: skip
    frozen_weights = {}

    class RecordAtUnfreezing(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 4:
                frozen_weights.update({n: v.clone() for n, v in model.tacfn.audio_encoder.model.state_dict().items()})

    callbacks = [EncoderFreezing(model, steps=4), RecordAtUnfreezing()]
    trainer = EncoderTrainer(model=model, args=args, train_dataset=examples, encoder_learning_rate=1e-3, callbacks=callbacks)
    trainer.train()
    rates = sorted({group["initial_lr"] for group in trainer.optimizer.param_groups})
    assert rates == [1e-3, 1e-2]
    for name, value in encoder_start.items():  # frozen for the first 4 steps
        assert torch.equal(frozen_weights[name], value), name
    final = model.tacfn.audio_encoder.model.state_dict()
    assert any(not torch.equal(final[name], value) for name, value in encoder_start.items() if value.is_floating_point())
    after = mean_loss(model, batch)
    assert after < 0.5 * before, (before, after)


def test_train_py_flags_build_the_model_over_pretrained_encoders(encoder_folders, demo_root, tmp_path):
    speech, video = encoder_folders
    train_main([
        "--dataset", "demo", "--data_dir", str(demo_root), "--config", "tiny", "--output_dir", str(tmp_path),
        "--audio_encoder", speech, "--video_encoder", video, "--encoder_learning_rate", "1e-4",
        "--freeze_encoders_steps", "-1", "--max_steps", "1", "--per_device_train_batch_size", "2",
        "--per_device_eval_batch_size", "4", "--report_to", "none", "--dataloader_num_workers", "0",
        "--save_strategy", "no", "--eval_strategy", "no", "--disable_tqdm", "true",
    ])  # fmt: skip
    loaded = TACFNForAudioVisualClassification.from_pretrained(tmp_path)
    assert (loaded.config.audio_config.model_type, loaded.config.video_config.model_type) == ("wav2vec2", "videomae")
    pretrained = Wav2Vec2Model.from_pretrained(speech)
    for name, value in pretrained.state_dict().items():  # frozen for the whole run
        assert torch.equal(loaded.tacfn.audio_encoder.model.state_dict()[name], value), name
    processor = AutoProcessor.from_pretrained(tmp_path)
    assert processor.feature_extractor.model_input_names[0] == "input_values"


def test_encoders_unfrozen_under_two_process_ddp_train_in_step(encoder_folders, demo_root, tmp_path):
    # DDP wraps the model with every encoder weight trainable, EncoderFreezing freezes them for the first step and then
    # trains them: their gradients must be averaged over the processes from then on, or the copies drift apart
    speech, video = encoder_folders
    model = TACFNForAudioVisualClassification.from_encoders(audio=speech, video=video, **FUSION_KWARGS)
    clips = load_splits(DataArguments(dataset="demo", data_dir=str(demo_root)))[0]["train"].select(range(12))
    clips.set_transform(clip_transform(processor_for(model.config, speech, video), "demo"))
    batch = clips[:12]
    torch.save([{name: value[index] for name, value in batch.items()} for index in range(12)], tmp_path / "examples.pt")
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        str(REPO_ROOT / "tests" / "training" / "ddp_encoder_freezing.py"), speech, video, str(tmp_path / "examples.pt"),
        str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    first, second = (torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1))
    assert first["world_size"] == second["world_size"] == 2
    start = {"audio": model.tacfn.audio_encoder.state_dict(), "video": model.tacfn.video_encoder.state_dict()}
    for encoder in ("audio", "video"):
        for name, value in first[encoder].items():
            assert torch.equal(value, second[encoder][name]), (encoder, name)
        trained = [name for name, value in first[encoder].items() if not torch.equal(value, start[encoder][name])]
        assert trained, f"the {encoder} encoder did not train after its frozen step"
