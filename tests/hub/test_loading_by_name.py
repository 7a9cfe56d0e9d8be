"""Loading by name in a fresh process with `HF_HUB_OFFLINE=1` and this project blocked from import: `AutoModel`,
`AutoModelForVideoClassification` and `AutoProcessor` `.from_pretrained("tacfn-ravdess", trust_remote_code=True)`
(a) from a local folder of that name written by training or by the converter, and (b) from the Hugging Face cache,
where the folder is placed in the cache layout under a repository id."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hub_configs.cache import main as cache_main
from hub_configs.cache import place_in_cache
from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification
from modeling_tacfn.convert_original_tacfn_checkpoint import MULTIMODAL_LAYOUT, original_key
from processing import TACFNProcessor
from tests.isolation import REPO_ROOT, run_isolated


# Loads each repository id or folder name given on the command line with the Auto classes and remote code, checks that
# the base model holds the classifier's encoder weights, runs the processor (with the JSON settings given) and the
# classifier on the clip, and saves the inputs and logits as `<index>.safetensors`.
LOAD_BY_NAME = """
import json
import sys
import torch
from safetensors.torch import save_file
from transformers import AutoModel, AutoModelForVideoClassification, AutoProcessor

clip, landmarks, settings, *names = sys.argv[1:]
for index, name in enumerate(names):
    processor = AutoProcessor.from_pretrained(name, trust_remote_code=True)
    classifier = AutoModelForVideoClassification.from_pretrained(name, trust_remote_code=True).eval()
    base = AutoModel.from_pretrained(name, trust_remote_code=True).eval()
    for loaded in (processor, classifier, base):
        assert type(loaded).__module__.startswith("transformers_modules"), type(loaded).__module__
    assert (type(classifier).__name__, type(base).__name__) == ("TACFNForAudioVisualClassification", "TACFNModel")
    base_weights = base.state_dict()
    for key, tensor in classifier.tacfn.state_dict().items():
        assert torch.equal(base_weights[key], tensor), key
    inputs = processor(clip, landmarks=landmarks, **json.loads(settings))
    with torch.no_grad():
        logits = classifier(**inputs).logits
    save_file({"logits": logits, **inputs}, f"{index}.safetensors")
    print(name, "loaded from", classifier.config._name_or_path)
"""


def load_by_name_isolated(cwd: Path, clip, *names: str, **settings) -> list[dict[str, torch.Tensor]]:
    """Runs `LOAD_BY_NAME` in a fresh process that cannot import this project and returns its outputs per name;
    `settings` go to the processor call."""
    arguments = ["load", str(clip.path), str(clip.landmarks), json.dumps(settings), *names]
    run_isolated(f"import sys\nsys.argv = {arguments!r}\n" + LOAD_BY_NAME, cwd=cwd)
    return [load_file(cwd / f"{index}.safetensors") for index in range(len(names))]


def expected_outputs(folder: Path, clip, **settings) -> dict[str, torch.Tensor]:
    """What this project's own classes compute for the clip from the folder; `settings` go to the processor call."""
    processor = TACFNProcessor.from_pretrained(folder)
    classifier = TACFNForAudioVisualClassification.from_pretrained(folder).eval()
    inputs = processor(str(clip.path), landmarks=str(clip.landmarks), **settings)
    with torch.no_grad():
        return {"logits": classifier(**inputs).logits, **inputs}


def assert_same_outputs(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for name in ("pixel_values_videos", "input_features"):
        torch.testing.assert_close(actual[name], expected[name], atol=0, rtol=0, msg=name)
    torch.testing.assert_close(actual["logits"], expected["logits"], atol=1e-5, rtol=1e-5)


def test_a_folder_named_tacfn_ravdess_written_by_training_loads_by_its_name(training_run, clip):
    folder = training_run.output_dir
    (loaded,) = load_by_name_isolated(folder.parent, clip, "tacfn-ravdess")
    assert_same_outputs(loaded, expected_outputs(folder, clip))


def write_published_checkpoint(path: Path) -> None:
    """A checkpoint with the published multimodal model's keys and shapes (`fold_1_msaf_ravdess_best.pth` layout),
    random weights, saved with `torch.save` as the original code saved it."""
    torch.manual_seed(1)
    model = TACFNForAudioVisualClassification(TACFNConfig(video_stem_activation=False, fusion_softmax="space"))
    renamed = ((original_key(key, MULTIMODAL_LAYOUT), tensor) for key, tensor in model.state_dict().items())
    state = {key: tensor for key, tensor in renamed if key is not None}  # the stand-ins have no published key
    for buffer in MULTIMODAL_LAYOUT.non_weight_buffers:
        state[buffer] = torch.zeros(1)
    torch.save(state, path)


@pytest.fixture(scope="module")
def converted_folder(tmp_path_factory) -> Path:
    """The converter's output for a published-layout checkpoint, written by its command line to `tacfn-ravdess`."""
    root = tmp_path_factory.mktemp("converted")
    checkpoint = root / "fold_1_msaf_ravdess_best.pth"
    write_published_checkpoint(checkpoint)
    output = root / "tacfn-ravdess"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "modeling_tacfn.convert_original_tacfn_checkpoint"]
    command += ["--checkpoint", str(checkpoint), "--output", str(output)]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    checkpoint.unlink()
    return output


def test_a_converted_folder_named_tacfn_ravdess_loads_by_its_name(converted_folder, clip):
    # the published-size network on 8 frames of 112x112 (it is fully convolutional): the same code path at a tenth of
    # the cost of 30 frames of 224x224
    settings = {"num_frames": 8, "size": {"height": 112, "width": 112}}
    (loaded,) = load_by_name_isolated(converted_folder.parent, clip, "tacfn-ravdess", **settings)
    expected = expected_outputs(converted_folder, clip, **settings)
    assert_same_outputs(loaded, expected)
    assert loaded["logits"].shape == (1, 8)
    assert loaded["pixel_values_videos"].shape == (1, 8, 3, 112, 112)


def test_a_folder_placed_in_the_cache_loads_by_repository_id(trained_folder, clip, tmp_path, monkeypatch):
    cache = tmp_path / "hub-cache"
    snapshot = place_in_cache(trained_folder, "someone/tacfn-ravdess", cache_dir=cache)
    assert cache_main([str(trained_folder), "tacfn-ravdess", "--cache-dir", str(cache)]) == 0
    # the layout a download leaves: refs -> snapshot of links -> blobs
    repo_dir = cache / "models--someone--tacfn-ravdess"
    assert (repo_dir / "refs" / "main").read_text() == snapshot.name
    assert snapshot.parent == repo_dir / "snapshots"
    assert (snapshot / "model.safetensors").is_symlink()
    assert (snapshot / "model.safetensors").resolve().parent == (repo_dir / "blobs").resolve()
    assert not (snapshot / "checkpoint-2").exists()
    # the same folder placed again is the same snapshot
    assert place_in_cache(trained_folder, "someone/tacfn-ravdess", cache_dir=cache) == snapshot

    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    workdir = tmp_path / "elsewhere"  # no folder named like the repository here
    workdir.mkdir()
    outputs = load_by_name_isolated(workdir, clip, "someone/tacfn-ravdess", "tacfn-ravdess")
    expected = expected_outputs(trained_folder, clip)
    for loaded in outputs:
        assert_same_outputs(loaded, expected)


def test_a_repository_missing_from_the_cache_is_not_found_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(AssertionError, match="couldn't find them in the cached files"):
        run_isolated(
            """
            from transformers import AutoModel
            AutoModel.from_pretrained("someone/tacfn-iemocap", trust_remote_code=True)
            """,
            cwd=tmp_path,
        )


def test_placing_refuses_bad_input(trained_folder, tmp_path, capsys):
    with pytest.raises(ValueError, match="is not a folder"):
        place_in_cache(tmp_path / "missing", "someone/x", cache_dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no files"):
        place_in_cache(tmp_path / "empty", "someone/x", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="invalid repository id"):
        place_in_cache(trained_folder, "a/b/c", cache_dir=tmp_path)
    assert cache_main([str(trained_folder), "a/b/c", "--cache-dir", str(tmp_path)]) == 1
    assert "invalid repository id" in capsys.readouterr().err
