"""Auto classes and Hub-style loading: registration on import, safetensors, and remote-code loading in a fresh process
where this project's packages cannot be imported."""

import json

import torch
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification

from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification, TACFNModel
from tests.isolation import run_isolated


def test_importing_the_package_registers_the_auto_classes(tiny_config):
    assert isinstance(AutoConfig.for_model("tacfn", num_frames=12), TACFNConfig)
    assert type(AutoModel.from_config(tiny_config)) is TACFNModel
    assert type(AutoModelForVideoClassification.from_config(tiny_config)) is TACFNForAudioVisualClassification


def test_save_pretrained_writes_safetensors_code_and_a_complete_auto_map(tiny_config, tmp_path):
    TACFNForAudioVisualClassification(tiny_config).save_pretrained(tmp_path)
    files = {path.name for path in tmp_path.iterdir()}
    assert {"config.json", "model.safetensors", "configuration_tacfn.py", "modeling_tacfn.py"} <= files
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in files)
    auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
    assert auto_map == {
        "AutoConfig": "configuration_tacfn.TACFNConfig",
        "AutoModel": "modeling_tacfn.TACFNModel",
        "AutoModelForVideoClassification": "modeling_tacfn.TACFNForAudioVisualClassification",
    }


def test_auto_classes_load_the_folder_with_the_package_installed(tiny_config, tmp_path):
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    model.save_pretrained(tmp_path)
    loaded = AutoModelForVideoClassification.from_pretrained(tmp_path).eval()
    assert type(loaded) is TACFNForAudioVisualClassification
    for (name, expected), (_, actual) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(actual, expected), name


def test_remote_code_loading_in_a_fresh_process_gives_the_same_outputs(tiny_config, tmp_path):
    model_dir = tmp_path / "tacfn-tiny"
    torch.manual_seed(0)
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    model.save_pretrained(model_dir)
    generator = torch.Generator().manual_seed(3)
    inputs = {
        "pixel_values_videos": torch.randn(2, 12, 3, 48, 48, generator=generator),
        "input_features": torch.randn(2, 13, 212, generator=generator),
    }
    with torch.no_grad():
        expected = {
            "logits": model(**inputs).logits,
            "pooler_output": model.tacfn(**inputs).pooler_output,
        }
    save_file(inputs, tmp_path / "inputs.safetensors")
    save_file(expected, tmp_path / "expected.safetensors")

    run_isolated(
        """
        import torch
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification

        inputs, expected = load_file("inputs.safetensors"), load_file("expected.safetensors")
        config = AutoConfig.from_pretrained("tacfn-tiny", trust_remote_code=True)
        assert type(config).__module__.startswith("transformers_modules"), type(config).__module__
        classifier = AutoModelForVideoClassification.from_pretrained("tacfn-tiny", trust_remote_code=True).eval()
        base = AutoModel.from_pretrained("tacfn-tiny", trust_remote_code=True).eval()
        assert type(classifier).__name__ == "TACFNForAudioVisualClassification", type(classifier)
        assert type(base).__name__ == "TACFNModel", type(base)
        with torch.no_grad():
            torch.testing.assert_close(classifier(**inputs).logits, expected["logits"], atol=1e-5, rtol=0)
            torch.testing.assert_close(base(**inputs).pooler_output, expected["pooler_output"], atol=1e-5, rtol=0)
        print("remote code loaded")
        """,
        cwd=tmp_path,
    )
