"""The training recipe on a small generated RAVDESS-format demo tree: a real Trainer run with everything it writes, a
real 2-process DDP run, unimodal runs feeding the second stage, resuming, and cross-validation."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoProcessor

from modeling_tacfn import TACFNForAudioVisualClassification, TACFNModel
from tests.isolation import run_isolated
from training.cross_validate import main as cross_validate_main
from training.data.demo import write_demo_ravdess
from training.train import main as train_main


REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    write_demo_ravdess(root, actors=12, clips_per_emotion=1, seed=0)
    return root


def train_arguments(demo_root: Path, output_dir: Path, *extra: str) -> list[str]:
    return [
        "--dataset", "demo", "--data_dir", str(demo_root), "--config", "tiny", "--output_dir", str(output_dir),
        "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "8", "--learning_rate", "1e-3",
        "--report_to", "none", "--dataloader_num_workers", "0", "--seed", "7", "--disable_tqdm", "true",
        "--save_strategy", "no", "--eval_strategy", "no", *extra,
    ]  # fmt: skip


def test_two_step_run_writes_a_loadable_model_processor_and_report(demo_root, tmp_path):
    arguments = ("--max_steps", "2", "--protocol", "clean", "--fold", "1", "--modality_dropout", "0.5")
    report = train_main(train_arguments(demo_root, tmp_path, *arguments))

    files = {path.name for path in tmp_path.iterdir()}
    assert {"model.safetensors", "config.json", "processor_config.json", "eval_results.json", "confusion_matrix.png"} <= files
    written = json.loads((tmp_path / "eval_results.json").read_text())
    assert written == json.loads(json.dumps(report))
    assert (written["dataset"], written["protocol"], written["fold"]) == ("demo", "clean", 1)
    assert written["preset"] == "tiny"  # recorded where the model is made, for the model card
    metrics = written["metrics"]
    confusion = torch.tensor(metrics["confusion_matrix"])
    assert confusion.shape == (8, 8) and confusion.sum().item() == written["num_test_examples"] > 0
    assert metrics["accuracy"] == pytest.approx(confusion.diagonal().sum().item() / confusion.sum().item())
    # the fused model is also tested with each modality removed from every test clip
    assert written["modality_dropout"] == 0.5
    assert set(written["metrics_without"]) == {"audio", "video"}
    for without in written["metrics_without"].values():
        assert sum(map(sum, without["confusion_matrix"])) == written["num_test_examples"]

    model = AutoModel.from_pretrained(tmp_path)
    processor = AutoProcessor.from_pretrained(tmp_path)
    assert type(model) is TACFNModel
    assert processor.video_processor.num_frames == model.config.num_frames == 8
    trained = load_file(tmp_path / "model.safetensors")
    fresh = TACFNForAudioVisualClassification(model.config).state_dict()
    assert any(not torch.equal(trained[name], fresh[name]) for name in trained if name.startswith("classifier"))
    assert model.config.modality_dropout == 0.5
    assert any(trained[name].any() for name in trained if name.startswith("tacfn.stand_ins."))
    # remote code answers an audio-only clip as the installed package does
    features = torch.randn(1, 13, 212, generator=torch.Generator().manual_seed(0))
    classifier = TACFNForAudioVisualClassification.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        expected = classifier(input_features=features).logits
    save_file({"input_features": features, "expected": expected}, tmp_path.parent / "audio_only.safetensors")
    run_isolated(
        f"""
        import torch
        from safetensors.torch import load_file, save_file
        from transformers import AutoModelForVideoClassification

        tensors = load_file("audio_only.safetensors")
        model = AutoModelForVideoClassification.from_pretrained({str(tmp_path)!r}, trust_remote_code=True).eval()
        assert model.config.modality_dropout == 0.5
        with torch.no_grad():
            logits = model(input_features=tensors["input_features"]).logits
        torch.testing.assert_close(logits, tensors["expected"], atol=1e-5, rtol=0)
        """,
        cwd=tmp_path.parent,
    )


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_run(demo_root, tmp_path):
    common = ("--max_steps", "4", "--save_strategy", "steps", "--save_steps", "2")
    train_main(train_arguments(demo_root, tmp_path / "straight", *common))
    resumed_dir = tmp_path / "resumed"
    train_main(
        train_arguments(
            demo_root, resumed_dir, *common, "--resume_from_checkpoint", str(tmp_path / "straight" / "checkpoint-2")
        )
    )
    straight = load_file(tmp_path / "straight" / "model.safetensors")
    resumed = load_file(resumed_dir / "model.safetensors")
    assert straight.keys() == resumed.keys()
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], msg=name)


def test_unimodal_encoders_start_the_fused_model(demo_root, tmp_path):
    train_main(train_arguments(demo_root, tmp_path / "video", "--max_steps", "1", "--modality", "video"))
    train_main(train_arguments(demo_root, tmp_path / "audio", "--max_steps", "1", "--modality", "audio"))
    from training.train import ModelArguments, build_model

    model = build_model(
        ModelArguments(config="tiny", init_video_from=str(tmp_path / "video"), init_audio_from=str(tmp_path / "audio")),
        [f"class{index}" for index in range(8)],
    )
    video_only = load_file(tmp_path / "video" / "model.safetensors")
    audio_only = load_file(tmp_path / "audio" / "model.safetensors")
    for name, value in model.state_dict().items():
        if name.startswith(("tacfn.video_encoder.", "tacfn.audio_encoder.")):
            source = video_only if ".video_encoder." in name else audio_only
            assert torch.equal(value, source[name]), name
    with pytest.raises(ValueError, match="has no audio encoder"):
        build_model(ModelArguments(config="tiny", init_audio_from=str(tmp_path / "video")), ["a", "b"])


def test_two_process_ddp_run(demo_root, tmp_path):
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        str(REPO_ROOT / "training" / "train.py"),
        *train_arguments(demo_root, tmp_path, "--max_steps", "2"),
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    report = json.loads((tmp_path / "eval_results.json").read_text())
    assert report["world_size"] == 2
    assert "model.safetensors" in {path.name for path in tmp_path.iterdir()}


def test_cross_validation_summarises_every_fold(demo_root, tmp_path):
    summary = cross_validate_main(train_arguments(demo_root, tmp_path, "--max_steps", "1", "--folds", "0,1"))
    assert [fold["fold"] for fold in summary["folds"]] == [0, 1]
    assert summary["preset"] == "tiny"
    accuracies = torch.tensor([fold["metrics"]["accuracy"] for fold in summary["folds"]], dtype=torch.float64)
    assert summary["mean"]["accuracy"] == pytest.approx(accuracies.mean().item())
    assert summary["std"]["accuracy"] == pytest.approx(accuracies.std(unbiased=False).item())
    assert json.loads((tmp_path / "cross_validation.json").read_text()) == json.loads(json.dumps(summary))
    table = (tmp_path / "cross_validation.md").read_text()
    assert "| 1 |" in table and "mean ± std" in table
    assert (tmp_path / "fold_0" / "eval_results.json").is_file() and (tmp_path / "fold_1" / "eval_results.json").is_file()
