"""Publishing: the exact folder that would be uploaded (checked offline), the dry run that touches no network, folders
that cannot be published, and (with `-m network`, `TACFN_TEST_NETWORK=1` and a token) a real upload."""

import ast
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from huggingface_hub.errors import OfflineModeIsEnabled

from hub_configs.build import HUB_CONFIGS_DIR
from hub_configs.publish import main, plan_upload, publish
from modeling_tacfn import TACFNForAudioVisualClassification
from tests.hub.conftest import UPLOADED, write_repository
from tests.isolation import REPO_ROOT, run_isolated
from hub_configs.presets import model_config, processor_for


REPO_ID = "someone/tacfn-ravdess"
# sockets refuse to connect in the process that runs this prelude
NO_NETWORK_PRELUDE = """
import socket
def _refuse(*args, **kwargs):
    raise OSError("network access attempted during a dry run")
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path -> content digest)."""
    return {str(path.relative_to(folder)): digest(path) for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_commit_uploads_model_processor_code_results_pictures_in_place_and_the_card(trained_folder, tmp_path):
    plan = plan_upload(trained_folder, REPO_ID)
    assert plan.files == UPLOADED
    assert plan.left_out == ["checkpoint-2/", "training_args.bin"]

    operations = plan.operations()
    assert [operation.path_in_repo for operation in operations] == ["README.md", *UPLOADED]
    # no staging copy: every file is uploaded from the output folder itself
    for operation in operations[1:]:
        assert Path(operation.path_or_fileobj) == trained_folder / operation.path_in_repo
    repository = write_repository(plan, tmp_path / "upload")
    for name in UPLOADED:
        assert digest(repository / name) == digest(trained_folder / name), name
    card = ModelCard.load(repository / "README.md")
    assert str(card) == str(plan.card)
    report = json.loads((trained_folder / "eval_results.json").read_text())
    assert card.data.eval_results[0].metric_value == report["metrics"]["accuracy"]
    assert f'from_pretrained("{REPO_ID}", trust_remote_code=True)' in card.text


def test_a_folder_with_its_pipeline_uploads_the_pipeline_code_and_the_card_shows_it_working(trained_copy, clip):
    from processing import save_pipeline

    save_pipeline(trained_copy)
    plan = plan_upload(trained_copy, "tacfn-ravdess")
    assert sorted(set(plan.files) - set(UPLOADED)) == ["fast_inference_tacfn.py", "pipeline_tacfn.py"]
    pipeline_code = re.findall(r"```python\n(.*?)```", plan.card.text, flags=re.DOTALL)[1]
    assert 'pipeline("video-classification", model="tacfn-ravdess", trust_remote_code=True)' in pipeline_code
    repository = write_repository(plan, trained_copy.parent / "upload" / "tacfn-ravdess")
    os.symlink(clip.path, repository.parent / "clip.mp4")
    result = run_isolated(pipeline_code, cwd=repository.parent)
    predictions = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert len(predictions) == 5  # the pipeline's default top_k
    assert {prediction["label"] for prediction in predictions} <= set(model_config("tiny").id2label.values())
    scores = [prediction["score"] for prediction in predictions]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1 + 1e-6


def test_sharded_weights_are_uploaded_with_their_index(tmp_path):
    config = model_config("tiny")
    folder = tmp_path / "sharded"
    TACFNForAudioVisualClassification(config).save_pretrained(folder, max_shard_size="300KB")
    processor_for(config).save_pretrained(folder)
    plan = plan_upload(folder, REPO_ID)
    shards = sorted(path.name for path in folder.glob("model-*-of-*.safetensors"))
    assert len(shards) > 1
    assert [name for name in plan.files if name.endswith((".safetensors", ".index.json"))] == [
        *shards,
        "model.safetensors.index.json",
    ]


def test_custom_pipeline_code_named_by_the_config_is_uploaded(trained_copy):
    config = json.loads((trained_copy / "config.json").read_text())
    config["custom_pipelines"] = {
        "video-classification": {"impl": "pipeline_tacfn.TACFNPipeline", "pt": ["AutoModelForVideoClassification"]}
    }
    (trained_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="lacks the code files pipeline_tacfn.py"):
        plan_upload(trained_copy, REPO_ID)
    (trained_copy / "pipeline_tacfn.py").write_text("from .pipeline_helpers_tacfn import TACFNPipeline\n")
    with pytest.raises(ValueError, match="lacks the code files pipeline_helpers_tacfn.py that its code files import"):
        plan_upload(trained_copy, REPO_ID)
    (trained_copy / "pipeline_helpers_tacfn.py").write_text("TACFNPipeline = object\n")
    plan = plan_upload(trained_copy, REPO_ID)
    assert {"pipeline_tacfn.py", "pipeline_helpers_tacfn.py"} <= set(plan.files)


def test_dry_run_prints_the_exact_files_and_card_without_network_or_writing(trained_folder):
    before = listing(trained_folder)
    command = NO_NETWORK_PRELUDE + (
        "import runpy, sys\n"
        f"sys.argv = ['publish', {str(trained_folder)!r}, {REPO_ID!r}, '--dry-run', '--private', '--create-pr']\n"
        "runpy.run_module('hub_configs.publish', run_name='__main__')\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "0", "HF_TOKEN": "hf_not_a_token"}
    result = subprocess.run(
        [sys.executable, "-c", command], env=environment, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout
    header, _, card_text = output.partition("----- README.md -----\n")
    listed = [line.split()[0] for line in header.splitlines() if line.startswith("  ")]
    assert listed == ["README.md", *UPLOADED]
    assert f"{len(UPLOADED) + 1} files from {trained_folder} for {REPO_ID}:" in header
    assert "not uploaded: checkpoint-2/, training_args.bin" in header
    assert card_text.strip() == str(plan_upload(trained_folder, REPO_ID).card).strip()
    assert listing(trained_folder) == before


def test_dry_run_names_the_namespace_a_bare_name_goes_to(trained_folder, capsys):
    assert publish(trained_folder, "tacfn-ravdess", dry_run=True) is None
    assert "(a real upload goes to <token owner>/tacfn-ravdess" in capsys.readouterr().out


def test_train_py_repo_id_default_is_the_folder_name(trained_folder, capsys):
    publish(trained_folder, None, dry_run=True)
    assert f"from {trained_folder} for tacfn-ravdess:" in capsys.readouterr().out


def test_publishing_offline_fails_before_touching_anything(trained_folder):
    before = listing(trained_folder)
    with pytest.raises(OfflineModeIsEnabled, match="--dry-run shows what would be uploaded"):
        publish(trained_folder, REPO_ID)
    assert listing(trained_folder) == before


def remove(name: str):
    def change(folder: Path) -> None:
        (folder / name).unlink()

    return change


def rename_weights_to_pickle(folder: Path) -> None:
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")


@pytest.mark.parametrize(
    "change, message",
    [
        (remove("model.safetensors"), "has no model.safetensors: it is not a trained model folder"),
        (rename_weights_to_pickle, "holds pickled weights only"),
        (remove("processor_config.json"), "processor_config.json is missing"),
        (remove("config.json"), "config.json is missing"),
        (remove("media_io_tacfn.py"), "lacks the code files media_io_tacfn.py that its code files import"),
        (remove("modeling_tacfn.py"), "lacks the code files modeling_tacfn.py that its configuration names"),
    ],
)
def test_incomplete_model_folders_are_refused(trained_copy, change, message):
    change(trained_copy)
    with pytest.raises(ValueError, match=message):
        plan_upload(trained_copy, REPO_ID)


def test_configuration_folders_and_bad_arguments_are_refused(trained_folder, tmp_path, capsys):
    with pytest.raises(ValueError, match="not a trained model folder"):
        plan_upload(HUB_CONFIGS_DIR / "tacfn-ravdess", REPO_ID)
    with pytest.raises(ValueError, match="is not a folder"):
        plan_upload(tmp_path / "missing", REPO_ID)
    with pytest.raises(ValueError, match="invalid repository id 'a/b/c'"):
        plan_upload(trained_folder, "a/b/c")

    assert main([str(tmp_path / "missing"), REPO_ID, "--dry-run"]) == 1
    assert "is not a folder" in capsys.readouterr().err


NETWORK_ROUND_TRIP = """
import hashlib, json, sys
from pathlib import Path
from huggingface_hub import HfApi, snapshot_download
from hub_configs.publish import publish

folder, repo_name, download_dir = sys.argv[1:]
api = HfApi()
repo_id = api.whoami()["name"] + "/" + repo_name
publish(folder, repo_id, private=True)
try:
    download = Path(snapshot_download(repo_id, local_dir=download_dir))
    files = {
        str(path.relative_to(download)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(download.rglob("*"))
        if path.is_file() and ".cache" not in path.parts and path.name != ".gitattributes"
    }
finally:
    api.delete_repo(repo_id)
print(json.dumps({"repo_id": repo_id, "files": files}))
"""


@pytest.mark.network
def test_real_upload_round_trip(trained_folder, tmp_path):
    """Publishes to a new private repository of the token's owner, downloads it, compares it with the files of the
    plan's commit, and deletes the repository."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "0"}
    repo_name = f"tacfn-test-{uuid.uuid4().hex[:8]}"
    arguments = [str(trained_folder), repo_name, str(tmp_path / "download")]
    result = subprocess.run(
        [sys.executable, "-c", NETWORK_ROUND_TRIP, *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    uploaded = json.loads(result.stdout.strip().splitlines()[-1])
    expected = write_repository(plan_upload(trained_folder, uploaded["repo_id"]), tmp_path / "expected")
    assert uploaded["files"] == listing(expected)


def test_a_sharded_index_with_a_missing_shard_is_refused(tmp_path):
    config = model_config("tiny")
    folder = tmp_path / "sharded"
    TACFNForAudioVisualClassification(config).save_pretrained(folder, max_shard_size="300KB")
    processor_for(config).save_pretrained(folder)
    shard = sorted(folder.glob("model-*-of-*.safetensors"))[-1]
    shard.unlink()
    with pytest.raises(ValueError, match=f"names shards that are missing: {shard.name}"):
        plan_upload(folder, REPO_ID)
