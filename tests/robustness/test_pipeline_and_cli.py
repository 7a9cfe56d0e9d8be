"""The broken-input corpus through the pipeline (one clip at a time, and many files at once with `predict_files`) and
through `tacfn predict` in a process of its own: each broken file gets its clear error, and every other clip of the run
is still predicted, with the scores it gets alone."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import pipeline

from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification
from tests.robustness.conftest import CASE_NAMES, TINY_MODEL_KWARGS, tiny_processor


REPO_ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT_SECONDS = 180
TOP_K = 3
# a fused model answers a clip without audio or without video from the modality it has: these cases, errors for a
# processor that needs both, are predictions here, from the modality named
ONE_MODALITY_CASES = {"audio_only_mp4": ["audio"], "video_only_mp4": ["video"]}


def outcome(case) -> str:
    """What the pipeline and the CLI (of a fused model) must do with a case."""
    return "works" if case.name in ONE_MODALITY_CASES else case.outcome


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny fused model saved with its processor and its pipeline code."""
    from processing import save_pipeline

    folder = tmp_path_factory.mktemp("tiny-model")
    torch.manual_seed(0)
    TACFNForAudioVisualClassification(TACFNConfig(**TINY_MODEL_KWARGS)).eval().save_pretrained(folder)
    tiny_processor().save_pretrained(folder)
    save_pipeline(folder)
    return folder


@pytest.fixture(scope="module")
def classifier(model_dir):
    return pipeline("video-classification", model=str(model_dir), trust_remote_code=True, device="cpu")


def clip_input(case) -> dict:
    """A case as the pipeline's clip dict."""
    return {"video": str(case.video), "audio": case.audio, "sampling_rate": case.sampling_rate}


def scores(predictions: list[dict]) -> dict:
    return {item["label"]: item["score"] for item in predictions}


def interleaved_with_good_clips(corpus) -> list[tuple[str, object]]:
    """`(path, case or None)` for every video-file case, each followed by one of the two good clips (`None`)."""
    entries = []
    for index, case in enumerate(case for case in corpus.cases.values() if case.given_as_one_file):
        entries.append((str(case.video), case))
        entries.append((str(corpus.good if index % 2 == 0 else corpus.other), None))
    return entries


def run_cli(arguments: list[str]) -> subprocess.CompletedProcess:
    """`python -m inference.cli ARGUMENTS` offline, on a strict UTF-8 terminal (as a UTF-8 desktop locale has it: a
    file name that is not UTF-8 cannot be printed as it is), with a timeout."""
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONIOENCODING": "utf-8:strict",
        "PYTHONPATH": str(REPO_ROOT),
        "OMP_NUM_THREADS": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "inference.cli", *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        timeout=CLI_TIMEOUT_SECONDS,
    )


def decoded(output: bytes) -> str:
    """Process output as text, undecodable bytes kept as surrogates (as Python names such files)."""
    return output.decode("utf-8", errors="surrogateescape")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_pipeline_gives_a_clear_error_or_a_prediction_for_each_case(classifier, corpus, name):
    case = corpus.cases[name]
    if outcome(case) == "error":
        with pytest.raises(ValueError, match=case.message) as caught:
            classifier(clip_input(case), top_k=TOP_K)
        assert case.culprit in str(caught.value)
        return
    labels = TACFNConfig().id2label.values()
    if outcome(case) == "fallback":
        with pytest.warns(UserWarning, match=case.message):
            predictions = classifier(clip_input(case), top_k=len(labels))
    else:
        predictions = classifier(clip_input(case), top_k=len(labels))
    assert sorted(item["label"] for item in predictions) == sorted(labels)
    assert sum(item["score"] for item in predictions) == pytest.approx(1.0, abs=1e-5)
    assert predictions[0]["modalities"] == ONE_MODALITY_CASES.get(name, ["video", "audio"])


def test_many_files_lose_only_the_broken_ones(classifier, corpus):
    from inference.batch_prediction import predict_files

    entries = interleaved_with_good_clips(corpus)
    alone = {path: scores(classifier(path, top_k=TOP_K)) for path in (str(corpus.good), str(corpus.other))}
    results = list(predict_files(classifier, [path for path, _ in entries], top_k=TOP_K, batch_size=3, num_workers=2))

    assert [result.path for result in results] == [path for path, _ in entries]
    for (path, case), result in zip(entries, results):
        if case is not None and outcome(case) == "error":
            assert result.predictions is None and re.search(case.message, result.error), (case.name, result.error)
            assert case.culprit in result.error
            continue
        assert result.error is None, (path, result.error)
        assert len(result.predictions) == TOP_K
        if case is None:
            assert scores(result.predictions) == pytest.approx(alone[path], rel=1e-4, abs=1e-6)


def test_cli_table_reports_each_broken_file_and_predicts_every_other_one(model_dir, classifier, corpus):
    entries = interleaved_with_good_clips(corpus)
    result = run_cli(["predict", *[path for path, _ in entries], "--model", str(model_dir), "--quiet"])
    stdout, stderr = decoded(result.stdout), decoded(result.stderr)
    assert result.returncode == 1, stderr[-3000:]

    rows = stdout.strip().splitlines()[2:]
    assert len(rows) == len(entries), stdout + stderr[-3000:]
    good_paths = (str(corpus.good), str(corpus.other))
    good_labels = {path: [item["label"] for item in classifier(path, top_k=TOP_K)] for path in good_paths}
    for (path, case), row in zip(entries, rows):
        if case is not None and outcome(case) == "error":
            assert "FAILED: " in row and re.search(case.message, row), (case.name, row)
            continue
        assert "FAILED" not in row, row
        if case is None:
            assert row.split()[1 : 2 * TOP_K : 2] == good_labels[path], row
            assert row.split()[2 * TOP_K + 1] == "crop:", row
    broken = sum(1 for _, case in entries if case is not None and outcome(case) == "error")
    assert f"{broken} of {len(entries)} clips could not be read; the others were predicted." in stderr


def test_cli_json_lines_with_worker_processes(model_dir, corpus):
    entries = interleaved_with_good_clips(corpus)
    arguments = ["--json", "--batch-size", "3", "--num-workers", "2", "--quiet"]
    result = run_cli(["predict", *[path for path, _ in entries], "--model", str(model_dir), *arguments])
    assert result.returncode == 1, decoded(result.stderr)[-3000:]

    records = [json.loads(line) for line in decoded(result.stdout).strip().splitlines()]
    assert [record["file"] for record in records] == [path for path, _ in entries]
    for (path, case), record in zip(entries, records):
        if case is not None and outcome(case) == "error":
            assert "predictions" not in record and re.search(case.message, record["error"]), (case.name, record)
        else:
            assert "error" not in record and len(record["predictions"]) == TOP_K, record
