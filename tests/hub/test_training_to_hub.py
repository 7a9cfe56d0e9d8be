"""`training/train.py --push_to_hub` ends in `hub_configs.publish.publish`, and what a real training run writes is
published as it is: the model, processor, code, results and picture, with a card whose `model-index` is the run's."""

import json

from huggingface_hub import ModelCard
from huggingface_hub.errors import OfflineModeIsEnabled

from hub_configs.publish import plan_upload
from tests.hub.conftest import UPLOADED, write_repository


def test_push_to_hub_ends_in_publish(training_run):
    assert isinstance(training_run.publish_error, OfflineModeIsEnabled)
    message = str(training_run.publish_error)
    assert f"cannot publish {training_run.output_dir} to someone/tacfn-ravdess" in message


def test_a_training_output_folder_is_published_as_it_is(training_run, tmp_path):
    folder = training_run.output_dir
    report = json.loads((folder / "eval_results.json").read_text())
    plan = plan_upload(folder, "someone/tacfn-ravdess")
    assert plan.files == sorted([*UPLOADED, "fast_inference_tacfn.py", "pipeline_tacfn.py"])  # training saves the pipeline with the model
    assert plan.left_out == []

    card = ModelCard.load(write_repository(plan, tmp_path / "upload") / "README.md")
    assert card.data.tags[-1] == "synthetic-data"
    assert card.data.datasets is None
    values = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert values == {
        "accuracy": report["metrics"]["accuracy"],
        "recall": report["metrics"]["unweighted_accuracy"],
        "f1": report["metrics"]["macro_f1"],
    }
    assert {result.dataset_type for result in card.data.eval_results} == {"demo"}
    assert card.data.eval_results[0].dataset_args == {"protocol": "published", "fold": 0}
    assert f"fold 0 ({report['num_test_examples']} test clips)" in card.text
    assert "Trained on synthetic data only" in card.text
    assert "![confusion matrix](confusion_matrix.png)" in card.text
    # the preset is the one the run recorded in eval_results.json
    assert report["preset"] == "tiny"
    assert "--config tiny --modality both" in card.text
