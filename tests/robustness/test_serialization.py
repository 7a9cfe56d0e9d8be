"""Models are saved as safetensors only, and pickles are loaded only on explicit request and with `weights_only=True`:
saved model folders (model + processor + pipeline, converted checkpoints) hold no pickle; a folder with only pickled
weights loads only with `use_safetensors=False`, and even then a pickle that would run code is refused; every
unpickling call in the project's code passes `weights_only=True`."""

import ast
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForVideoClassification

from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification
from tests.robustness.conftest import TINY_MODEL_KWARGS, pickled_files, tiny_processor


REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("modeling_tacfn", "processing", "training", "inference", "hub_configs", "benchmarks")
MFCCNET_KEYS = REPO_ROOT / "tests" / "modeling" / "published_checkpoint_keys" / "published_mfccnet_unimodal_keys.tsv"


def tiny_model(seed: int = 0) -> TACFNForAudioVisualClassification:
    torch.manual_seed(seed)
    return TACFNForAudioVisualClassification(TACFNConfig(**TINY_MODEL_KWARGS)).eval()


def assert_same_weights(model: torch.nn.Module, expected: dict) -> None:
    state = model.state_dict()
    assert state.keys() == expected.keys()
    for name, value in expected.items():
        assert torch.equal(state[name], value), name


class RunsCodeWhenUnpickled:
    """Unpickling this object creates the file `marker` (any code could run the same way)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def pickled_weights_folder(folder: Path, state_dict: dict) -> Path:
    """A model folder whose weights are only `pytorch_model.bin`, a pickle, holding `state_dict`."""
    model = tiny_model()
    model.save_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save(state_dict, folder / "pytorch_model.bin")
    return folder


def test_saved_model_processor_and_pipeline_folder_holds_safetensors_and_no_pickle(tmp_path):
    from processing import save_pipeline

    model = tiny_model()
    model.save_pretrained(tmp_path)
    tiny_processor().save_pretrained(tmp_path)
    save_pipeline(tmp_path)
    assert pickled_files(tmp_path) == []
    assert_same_weights(model, load_file(tmp_path / "model.safetensors"))


def test_converted_checkpoint_folder_holds_safetensors_and_no_pickle(tmp_path):
    from modeling_tacfn.convert_original_tacfn_checkpoint import main as convert

    state_dict = {}
    for line in MFCCNET_KEYS.read_text().splitlines():
        name, shape = line.split("\t")[:2]
        shape = ast.literal_eval(shape)
        if name.endswith("num_batches_tracked"):
            state_dict[name] = torch.tensor(7)
        else:
            state_dict[name] = torch.rand(shape) + 0.5
    original = tmp_path / "fold_1_mfccNet_best.pth"
    torch.save(state_dict, original)
    output = tmp_path / "converted"
    assert convert(["--audio-checkpoint", str(original), "--output", str(output)]) == 0
    assert pickled_files(output) == []
    assert (output / "model.safetensors").is_file()


def test_pickled_weights_load_only_on_explicit_request(tmp_path):
    expected = tiny_model(seed=1).state_dict()
    folder = pickled_weights_folder(tmp_path / "model", expected)
    with pytest.raises(OSError, match="model.safetensors"):
        TACFNForAudioVisualClassification.from_pretrained(folder)
    with pytest.raises(OSError, match="model.safetensors"):
        AutoModelForVideoClassification.from_pretrained(folder)
    assert_same_weights(TACFNForAudioVisualClassification.from_pretrained(folder, use_safetensors=False), expected)


def test_a_pickle_that_would_run_code_is_refused_even_on_request(tmp_path):
    marker = tmp_path / "code_ran"
    state_dict = dict(tiny_model().state_dict())
    state_dict["classifier.weight"] = RunsCodeWhenUnpickled(marker)
    folder = pickled_weights_folder(tmp_path / "model", state_dict)
    # the payload is real: unrestricted unpickling runs it
    torch.load(folder / "pytorch_model.bin", weights_only=False)
    assert marker.exists()
    marker.unlink()

    with pytest.raises(Exception, match="(?i)weights_only|unpickl"):
        TACFNForAudioVisualClassification.from_pretrained(folder, use_safetensors=False)
    assert not marker.exists()


def unsafe_unpickling_calls(source: str) -> list[str]:
    """`torch.load` calls without `weights_only=True`, and any `pickle.load` / `pickle.loads` / `pickle.Unpickler` /
    `numpy.load(allow_pickle=True)` call, in Python source, as `line: code`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        weights_only = keywords.get("weights_only")
        allow_pickle = keywords.get("allow_pickle")
        unsafe = (
            (owner == "torch" and node.func.attr == "load" and not _is_true(weights_only))
            or (owner == "pickle" and node.func.attr in ("load", "loads", "Unpickler"))
            or (owner in ("np", "numpy") and node.func.attr == "load" and _is_true(allow_pickle))
        )
        if unsafe:
            found.append(f"{node.lineno}: {ast.get_source_segment(source, node)}")
    return found


def _is_true(value) -> bool:
    return isinstance(value, ast.Constant) and value.value is True


def test_the_scanner_finds_unsafe_unpickling():
    source = "torch.load(p)\ntorch.load(p, weights_only=True)\npickle.loads(b)\nnp.load(p, allow_pickle=True)\n"
    assert unsafe_unpickling_calls(source) == [
        "1: torch.load(p)",
        "3: pickle.loads(b)",
        "4: np.load(p, allow_pickle=True)",
    ]


def test_every_unpickling_call_in_the_project_passes_weights_only_true():
    sources = sorted(REPO_ROOT.glob("*.py"))
    for package in PROJECT_PACKAGES:
        sources += sorted((REPO_ROOT / package).rglob("*.py"))
    offenders = {}
    for path in sources:
        calls = unsafe_unpickling_calls(path.read_text(encoding="utf-8"))
        if calls:
            offenders[str(path.relative_to(REPO_ROOT))] = calls
    assert len(sources) > 20 and offenders == {}
