"""Model cards: metadata and `model-index` filled from the results training wrote (never typed), the result tables,
the settings of the model described as they are, bad results refused, and the card's usage code run as written."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard

from hub_configs.cards import model_card_for_folder
from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification
from modeling_tacfn.configuration_tacfn import RAVDESS_EMOTIONS
from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor
from tests.hub.conftest import evaluation_report
from tests.isolation import REPO_ROOT, run_isolated
from hub_configs.presets import model_config, processor_for


REPO_ID = "someone/tacfn-ravdess"
SUMMARY_METRICS = ("accuracy", "unweighted_accuracy", "macro_f1")
HUB_METRIC_TYPES = {"accuracy": "accuracy", "unweighted_accuracy": "recall", "macro_f1": "f1"}


def cross_validation_summary(reports: list[dict]) -> dict:
    """`cross_validation.json` as `python -m training.cross_validate` writes it: per-fold metrics, mean and
    (population) standard deviation."""
    values = {name: np.array([report["metrics"][name] for report in reports]) for name in SUMMARY_METRICS}
    return {
        "dataset": reports[0]["dataset"],
        "protocol": reports[0]["protocol"],
        "preset": reports[0]["preset"],
        "modality": reports[0]["modality"],
        "label_names": reports[0]["label_names"],
        "folds": [{"fold": report["fold"], "metrics": report["metrics"]} for report in reports],
        "mean": {name: float(series.mean()) for name, series in values.items()},
        "std": {name: float(series.std()) for name, series in values.items()},
    }


def six_fold_summary(own_report: dict) -> dict:
    """A six-fold summary whose fold 2 is `own_report`."""
    reports = [
        own_report if fold == 2 else evaluation_report(own_report["label_names"], seed=10 + fold, fold=fold)
        for fold in range(6)
    ]
    return cross_validation_summary(reports)


def write_config_folder(folder: Path, config: TACFNConfig, processor: TACFNProcessor) -> Path:
    """A folder with the configuration and processor saved as a model folder has them, and no weights."""
    config.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def reparsed(card: ModelCard) -> ModelCard:
    """The card as the Hub reads it back from README.md text."""
    return ModelCard(str(card))


def table_row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def percent(value: float) -> str:
    return f"{100 * value:.2f}"


def test_model_index_and_tables_come_from_eval_results(trained_folder):
    report = json.loads((trained_folder / "eval_results.json").read_text())
    card = reparsed(model_card_for_folder(trained_folder, REPO_ID))

    assert card.data.model_name == REPO_ID
    assert card.data.tags == ["emotion-recognition", "audio-visual", "multimodal", "tacfn", "ravdess"]
    assert card.data.datasets == ["ravdess"]
    results = card.data.eval_results
    assert [result.metric_type for result in results] == ["accuracy", "recall", "f1"]
    for result, name in zip(results, SUMMARY_METRICS):
        assert result.metric_value == report["metrics"][name]
        assert (result.task_type, result.dataset_type, result.dataset_name) == (
            "video-classification",
            "ravdess",
            "RAVDESS",
        )
        assert result.dataset_split == "test"
        assert result.dataset_args == {"protocol": "clean", "fold": 2}
    assert results[1].metric_args == results[2].metric_args == {"average": "macro"}

    text = card.text
    assert table_row("Accuracy (WA)", percent(report["metrics"]["accuracy"])) in text
    assert table_row("Unweighted accuracy (UA)", percent(report["metrics"]["unweighted_accuracy"])) in text
    assert table_row("Macro F1", percent(report["metrics"]["macro_f1"])) in text
    for label, score in zip(RAVDESS_EMOTIONS, report["metrics"]["per_class_f1"]):
        assert table_row(label, percent(score)) in text
    assert "fold 2 (48 test clips)" in text
    assert "![confusion matrix](confusion_matrix.png)" in text
    assert "trained with this project's `training/train.py`" in text
    assert "--config tiny --modality both" in text
    assert "--protocol clean --fold 2 --output_dir tacfn-ravdess" in text
    assert "fold 2 on 1 process(es)" in text


def test_cross_validation_means_fill_the_model_index_beside_the_fold_figures(trained_copy):
    report = json.loads((trained_copy / "eval_results.json").read_text())
    summary = six_fold_summary(report)
    (trained_copy / "cross_validation.json").write_text(json.dumps(summary))
    card = reparsed(model_card_for_folder(trained_copy, REPO_ID))

    results = card.data.eval_results
    for result, name in zip(results, SUMMARY_METRICS):
        assert result.metric_value == summary["mean"][name]
        assert result.metric_name.endswith(", mean over 6 folds")
        assert result.dataset_args == {"protocol": "clean", "folds": [0, 1, 2, 3, 4, 5]}
    for fold in summary["folds"]:
        cells = [percent(fold["metrics"][name]) for name in SUMMARY_METRICS]
        assert table_row(str(fold["fold"]), *cells) in card.text
    mean_cells = [f"{percent(summary['mean'][name])} ± {percent(summary['std'][name])}" for name in SUMMARY_METRICS]
    assert table_row("mean ± std", *mean_cells) in card.text
    # the model's own fold is still reported
    assert table_row("Accuracy (WA)", percent(report["metrics"]["accuracy"])) in card.text


def test_cross_validation_summary_alone(tmp_path):
    config = model_config("iemocap")
    folder = write_config_folder(tmp_path / "tacfn-iemocap", config, processor_for(config))
    labels = [config.id2label[index] for index in range(4)]
    summary = cross_validation_summary(
        [evaluation_report(labels, seed=fold, dataset="iemocap", fold=fold, preset="iemocap") for fold in range(5)]
    )
    (folder / "cross_validation.json").write_text(json.dumps(summary))
    card = reparsed(model_card_for_folder(folder, "someone/tacfn-iemocap"))
    assert [result.metric_value for result in card.data.eval_results] == [
        summary["mean"][name] for name in SUMMARY_METRICS
    ]
    assert {result.dataset_type for result in card.data.eval_results} == {"iemocap"}
    assert card.data.tags[-1] == "iemocap"
    assert "--config iemocap --modality both" in card.text
    assert "--protocol clean --fold K" in card.text
    assert "research use only" in card.text


def test_converted_weights_without_results_get_no_model_index_and_their_settings_described(tmp_path):
    config = TACFNConfig(video_stem_activation=False, fusion_softmax="space")
    processor = TACFNProcessor(
        TACFNFeatureExtractor(),
        TACFNVideoProcessor(channel_order="bgr", pre_crop_size={"height": 224, "width": 224}),
    )
    folder = write_config_folder(tmp_path / "converted", config, processor)
    (folder / "model.safetensors").write_bytes(b"")  # only its presence matters to the card
    card = reparsed(model_card_for_folder(folder, REPO_ID))
    assert card.data.eval_results is None
    assert "model-index" not in card.data.to_dict()
    assert card.data.datasets == ["ravdess"]  # told from the classes
    assert "These weights come without evaluation results" in card.text
    assert "ReLU after the video stem off, as in the published multimodal code" in card.text
    assert 'fusion weights normalised per time slice (`fusion_softmax="space"`' in card.text
    assert "frames in BGR" in card.text
    assert "channels in BGR order" in card.text
    assert "Frames are first scaled to 224x224 while decoding" in card.text
    assert f"--config {REPO_ID} --modality both" in card.text  # no run recorded a preset: train from this config


def test_training_arguments_of_the_run_are_tabulated(trained_copy):
    report = json.loads((trained_copy / "eval_results.json").read_text())
    report["training_arguments"] = {"learning_rate": 0.001, "num_train_epochs": 30, "lr_scheduler_type": "cosine"}
    (trained_copy / "eval_results.json").write_text(json.dumps(report))
    text = model_card_for_folder(trained_copy, REPO_ID).text
    assert "Hyperparameters of the run:" in text
    for name, value in report["training_arguments"].items():
        assert table_row(f"`{name}`", f"`{value}`") in text


def test_a_model_whose_data_set_cannot_be_told_is_refused(tmp_path):
    config = model_config("tiny", id2label={0: "calm", 1: "excited"})
    folder = write_config_folder(tmp_path / "custom", config, processor_for(config))
    with pytest.raises(ValueError, match=r"cannot tell which data set .*calm, excited"):
        model_card_for_folder(folder, REPO_ID)


def edit_report(change):
    def edit(folder: Path) -> None:
        path = folder / "eval_results.json"
        report = json.loads(path.read_text())
        change(report)
        path.write_text(json.dumps(report))

    return edit


def test_the_training_command_names_the_preset_that_training_recorded_not_a_guess(trained_copy):
    # the tiny preset's architecture, but built from a saved folder (`--config FOLDER`): training recorded no preset
    edit_report(lambda report: report.update(preset=None))(trained_copy)
    text = model_card_for_folder(trained_copy, REPO_ID).text
    assert f"--config {REPO_ID} --modality both" in text
    assert "--config tiny" not in text


def write_text(name: str, text: str):
    def edit(folder: Path) -> None:
        (folder / name).write_text(text)

    return edit


def write_disagreeing_summary(change):
    def edit(folder: Path) -> None:
        summary = six_fold_summary(json.loads((folder / "eval_results.json").read_text()))
        change(summary)
        (folder / "cross_validation.json").write_text(json.dumps(summary))

    return edit


@pytest.mark.parametrize(
    "edit, file_name, message",
    [
        (write_text("eval_results.json", "{not json"), "eval_results.json", "is not valid JSON"),
        (write_text("eval_results.json", "[1, 2]"), "eval_results.json", "must hold a JSON object"),
        (edit_report(lambda report: report.pop("metrics")), "eval_results.json", "lacks metrics"),
        (
            edit_report(lambda report: report.update(metrics={"loss": 0.3})),
            "eval_results.json",
            "has none of",
        ),
        (
            edit_report(lambda report: report["metrics"].update(accuracy=81.2)),
            "eval_results.json",
            "'accuracy' must be a number in",
        ),
        (
            edit_report(lambda report: report["metrics"].update(macro_f1="high")),
            "eval_results.json",
            "'macro_f1' must be a number in",
        ),
        (edit_report(lambda report: report.update(dataset="voxceleb")), "eval_results.json", "unknown dataset"),
        (edit_report(lambda report: report.update(label_names=[])), "eval_results.json", "label_names"),
        (
            write_disagreeing_summary(lambda summary: summary.update(protocol="published")),
            "",
            "disagree on protocol",
        ),
        (
            write_disagreeing_summary(lambda summary: summary.update(folds=summary["folds"][:2])),
            "",
            "fold 2 is not among the cross-validated folds",
        ),
        (
            write_disagreeing_summary(lambda summary: summary["folds"][0].pop("metrics")),
            "cross_validation.json",
            "folds\\[0\\] must be an object",
        ),
    ],
)
def test_bad_results_are_refused_naming_the_file(trained_copy, edit, file_name, message):
    edit(trained_copy)
    with pytest.raises(ValueError, match=re.escape(str(trained_copy / file_name)) + ".*" + message):
        model_card_for_folder(trained_copy, REPO_ID)


def test_results_for_other_classes_are_refused(trained_copy):
    edit_report(lambda report: report.update(label_names=["neutral", "happy", "angry", "sad"]))(trained_copy)
    with pytest.raises(ValueError, match="the results are for the classes .* but the model of .* predicts neutral"):
        model_card_for_folder(trained_copy, REPO_ID)


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_usage_code_of_the_card_runs_as_written(trained_folder, clip, tmp_path):
    card = model_card_for_folder(trained_folder, "tacfn-ravdess")
    remote_code, installed_package = python_blocks(card.text)
    os.symlink(trained_folder, tmp_path / "tacfn-ravdess")
    os.symlink(clip.path, tmp_path / "clip.mp4")
    config = model_config("tiny")

    result = run_isolated(remote_code, cwd=tmp_path)
    label, shape = result.stdout.strip().splitlines()[-2:]
    assert label in RAVDESS_EMOTIONS
    assert shape == str(torch.Size([1, *config.video_feature_shape]))

    check = "\nprint(type(processor).__module__, type(model).__module__)\n"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    completed = subprocess.run(
        [sys.executable, "-c", installed_package + check],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["processing.processing_tacfn", "modeling_tacfn.modeling_tacfn"]


def test_model_card_counts_the_parameters_of_the_folder_model(trained_folder):
    config = TACFNConfig.from_pretrained(trained_folder)
    expected = sum(parameter.numel() for parameter in TACFNForAudioVisualClassification(config).parameters())
    assert f"Parameters: {expected:,} " in model_card_for_folder(trained_folder, REPO_ID).text


def test_a_unimodal_model_card_describes_it_and_runs_it_without_fusion_weights(tmp_path):
    config = model_config("tiny", modality="audio")
    folder = write_config_folder(tmp_path / "audio-only", config, processor_for(config))
    card = model_card_for_folder(folder, REPO_ID)
    assert "This is the audio-only model of the paper's first training stage" in card.text
    remote_code = python_blocks(card.text)[0]
    assert "attentions" not in remote_code
    compile(remote_code, "card usage code", "exec")


def test_model_card_shows_the_test_figures_with_each_modality_missing(trained_copy):
    report = json.loads((trained_copy / "eval_results.json").read_text())
    report["modality_dropout"] = 0.5
    report["metrics_without"] = {"audio": {"accuracy": 0.4375}, "video": {"accuracy": 0.3125}}
    (trained_copy / "eval_results.json").write_text(json.dumps(report))
    text = model_card_for_folder(trained_copy, REPO_ID).text
    assert "trained with modality dropout 0.5" in text
    complete = "%.2f" % (100 * report["metrics"]["accuracy"])
    assert f"| complete | {complete} |\n| audio missing | 43.75 |\n| video missing | 31.25 |" in text
