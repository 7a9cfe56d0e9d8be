"""`python -m training.reproduce` end to end on a demo clip store with the tiny preset: both stages of 2 folds, one
epoch each, the summaries, the summed confusion matrix, the model card's cross-validation results, and resuming."""

import json
import os

from hub_configs.publish import plan_upload
from training.reproduce import main as reproduce_main


os.environ["HF_HUB_OFFLINE"] = "1"


def test_reproduction_trains_both_stages_of_every_fold_and_resumes(demo_store, tmp_path):
    arguments = [
        "--dataset", "demo", "--data_dir", str(demo_store.root), "--config", "tiny", "--protocol", "published",
        "--folds", "0,1", "--output_dir", str(tmp_path), "--num_train_epochs", "1", "--learning_rate", "1e-3",
        "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "16", "--report_to", "none",
        "--dataloader_num_workers", "0", "--seed", "7", "--disable_tqdm", "true", "--save_strategy", "no",
        "--eval_strategy", "no",
    ]  # fmt: skip
    summaries = reproduce_main(arguments)

    assert {stage: summary["modality"] for stage, summary in summaries.items()} == {
        "video": "video", "audio": "audio", "fused": "both"
    }  # fmt: skip
    for stage, summary in summaries.items():
        assert [fold["fold"] for fold in summary["folds"]] == [0, 1]
        written = json.loads((tmp_path / f"fold_1/{stage}/eval_results.json").read_text())
        assert written["metrics"] == summary["folds"][1]["metrics"] and written["training_arguments"]["num_train_epochs"] == 1
    fused_config = json.loads((tmp_path / "fold_0/fused/config.json").read_text())
    assert fused_config["modality"] == "both"
    table = (tmp_path / "reproduction.md").read_text()
    assert table.count("mean ± std") == 3 and table.index(", both") < table.index(", video") < table.index(", audio")
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 0
    cross_validation = json.loads((tmp_path / "fold_0/fused/cross_validation.json").read_text())
    assert sum(map(sum, cross_validation["confusion_matrix"])) == 31 + 32  # fold 0 lost the clip the store skipped
    card = str(plan_upload(tmp_path / "fold_0" / "fused", "someone/tacfn-demo").card)
    assert "Cross-validation on" in card and "2 folds" in card

    # a stage killed before it wrote its report is trained again; the finished stages are not
    (tmp_path / "fold_1/fused/eval_results.json").unlink()
    models = {path: path.stat().st_mtime_ns for path in tmp_path.glob("fold_*/*/model.safetensors")}
    resumed = reproduce_main(arguments)
    changed = [path for path, stamp in models.items() if path.stat().st_mtime_ns != stamp]
    assert changed == [tmp_path / "fold_1/fused/model.safetensors"]
    assert resumed["video"] == summaries["video"] and resumed["audio"] == summaries["audio"]
