"""A training process killed with SIGKILL mid-epoch and resumed from its last complete checkpoint ends with the metrics
and the weights of an uninterrupted run with the same seed, modality dropout included (each clip's draw follows the
seed, the epoch and the clip); the trained model folder holds safetensors and no pickle.

Both runs are real `training/train.py` processes on a generated RAVDESS-format demo tree (tiny preset, published fold
0: actor 5 trains, actors 1-4 test), one thread each, started side by side."""

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.robustness.conftest import pickled_files


REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN_SCRIPT = REPO_ROOT / "training" / "train.py"
RUN_TIMEOUT_SECONDS = 200
SAVE_STEPS = 2
# actor 5's 8 clips in batches of 2
STEPS_PER_EPOCH = 4
NUM_EPOCHS = 3
# figures of eval_results.json that measure the machine, not the model
TIMING_METRICS = ("runtime", "samples_per_second", "steps_per_second")


def train_command(data_dir: Path, output_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, str(TRAIN_SCRIPT), "--dataset", "demo", "--data_dir", str(data_dir), "--config", "tiny",
        "--output_dir", str(output_dir), "--per_device_train_batch_size", "2", "--per_device_eval_batch_size", "8",
        "--num_train_epochs", str(NUM_EPOCHS), "--learning_rate", "1e-3", "--save_strategy", "steps",
        "--save_steps", str(SAVE_STEPS), "--eval_strategy", "no", "--report_to", "none", "--seed", "7",
        "--dataloader_num_workers", "0", "--disable_tqdm", "true", "--modality_dropout", "0.5", *extra,
    ]  # fmt: skip


@contextmanager
def training_process(command: list[str], log: Path):
    """Run a training process, offline and on one thread, its output going to `log`; it is killed if it still runs
    when the block ends (a failed test leaves nothing behind)."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    with open(log, "wb") as handle:
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=handle, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def finish(process: subprocess.Popen, log: Path) -> None:
    """Wait for a training process and require that it succeeded."""
    process.wait(timeout=RUN_TIMEOUT_SECONDS)
    assert process.returncode == 0, log.read_text(errors="replace")[-4000:]


def trainer_state(checkpoint: Path) -> dict | None:
    """The checkpoint's trainer state, which the Trainer writes last; `None` while the checkpoint is incomplete."""
    try:
        return json.loads((checkpoint / "trainer_state.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def kill_after_checkpoint(process: subprocess.Popen, checkpoint: Path, log: Path) -> None:
    """SIGKILL the process as soon as `checkpoint` is complete."""
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while trainer_state(checkpoint) is None:
        assert process.poll() is None, "training ended before its first checkpoint:\n" + log.read_text()[-4000:]
        assert time.monotonic() < deadline, f"no {checkpoint.name} after {RUN_TIMEOUT_SECONDS} s"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=RUN_TIMEOUT_SECONDS)
    assert process.returncode == -signal.SIGKILL, "the run finished before it could be killed"


def last_complete_checkpoint(output_dir: Path) -> Path:
    """The highest-step checkpoint whose trainer state was written (a kill can leave a later one unfinished)."""
    complete = [path for path in output_dir.glob("checkpoint-*") if trainer_state(path) is not None]
    return max(complete, key=lambda path: int(path.name.split("-")[1]))


def model_metrics(output_dir: Path) -> dict:
    """The test metrics a run wrote, without its timings."""
    report = json.loads((output_dir / "eval_results.json").read_text())
    without = {f"without_{modality}": metrics for modality, metrics in report["metrics_without"].items()}
    return {
        (group, name): value
        for group, metrics in {"complete": report["metrics"], **without}.items()
        for name, value in metrics.items()
        if name not in TIMING_METRICS
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """An uninterrupted run and a run killed after its first checkpoint, then resumed from its last complete one:
    their output folders, and the step it resumed from."""
    from training.data.demo import write_demo_ravdess

    folder = tmp_path_factory.mktemp("killed_training")
    data_dir = folder / "demo"
    write_demo_ravdess(data_dir, actors=5, clips_per_emotion=1, seed=0)
    straight_dir, killed_dir = folder / "straight", folder / "killed"

    with training_process(train_command(data_dir, straight_dir), folder / "straight.log") as straight:
        with training_process(train_command(data_dir, killed_dir), folder / "killed.log") as killed:
            kill_after_checkpoint(killed, killed_dir / f"checkpoint-{SAVE_STEPS}", folder / "killed.log")
        interrupted_at = last_complete_checkpoint(killed_dir)
        assert not (killed_dir / "eval_results.json").exists() and not (killed_dir / "model.safetensors").exists()

        resume = train_command(data_dir, killed_dir, "--resume_from_checkpoint", str(interrupted_at))
        with training_process(resume, folder / "resumed.log") as resumed:
            finish(straight, folder / "straight.log")
            finish(resumed, folder / "resumed.log")
    return {"straight": straight_dir, "resumed": killed_dir, "resumed_from": trainer_state(interrupted_at)}


def test_killed_run_resumed_mid_epoch_ends_with_the_metrics_and_weights_of_an_uninterrupted_run(runs):
    resumed_from = runs["resumed_from"]
    assert resumed_from["global_step"] % STEPS_PER_EPOCH != 0, "the kill did not land mid-epoch"
    assert model_metrics(runs["resumed"]) == model_metrics(runs["straight"])

    straight = load_file(runs["straight"] / "model.safetensors")
    resumed = load_file(runs["resumed"] / "model.safetensors")
    assert straight.keys() == resumed.keys()
    # modality dropout took place: the stand-ins learned from the clips it stripped
    assert all(straight[name].any() for name in straight if name.startswith("tacfn.stand_ins."))
    for name in straight:
        torch.testing.assert_close(resumed[name], straight[name], msg=name)
    final_state = trainer_state(last_complete_checkpoint(runs["resumed"]))
    assert final_state["global_step"] == NUM_EPOCHS * STEPS_PER_EPOCH


def test_trained_model_folder_holds_safetensors_and_no_pickle(runs):
    output_dir = runs["straight"]
    assert (output_dir / "model.safetensors").is_file()
    top_level_pickles = [name for name in pickled_files(output_dir) if not name.startswith("checkpoint-")]
    assert top_level_pickles == []
