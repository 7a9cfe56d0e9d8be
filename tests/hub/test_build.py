"""The generated configuration folders `hub_configs/tacfn-ravdess/`, `hub_configs/tacfn-iemocap/` and
`hub_configs/tacfn-ravdess-wav2vec2-videomae/`: up to date with the code, loadable with the Auto classes, and carrying a
card without results."""

import json
import shutil

import pytest
import torch
from huggingface_hub import ModelCard
from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification, AutoProcessor

from hub_configs.build import HUB_CONFIGS, HUB_CONFIGS_DIR, main, stale_files
from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification, TACFNModel
from processing import TACFNProcessor
from hub_configs.presets import model_config


# the published model has 26,301,417 parameters, to which the fused model adds 3,776 missing-modality stand-ins; its
# classifier has 3712 inputs, so 3713 parameters per class
EXPECTED_PARAMETERS = {"tacfn-ravdess": 26_301_417 + 3_776, "tacfn-iemocap": 26_301_417 + 3_776 - 4 * 3713}
EXPECTED_LABELS = {
    "tacfn-ravdess": ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"],
    "tacfn-iemocap": ["neutral", "happy", "angry", "sad"],
}


# the folders of the published settings (the others are over pretrained encoders)
PUBLISHED_FOLDERS = sorted(EXPECTED_LABELS)


def test_committed_folders_are_what_the_code_generates():
    stale = [path for name in HUB_CONFIGS for path in stale_files(name, HUB_CONFIGS_DIR)]
    assert not stale, f"out of date: {stale}; run `python -m hub_configs.build`"
    for name in HUB_CONFIGS:
        assert sorted(path.name for path in (HUB_CONFIGS_DIR / name).iterdir()) == [
            "README.md",
            "config.json",
            "processor_config.json",
        ]


def test_check_fails_on_a_stale_folder_and_build_repairs_it(tmp_path, capsys):
    for name in HUB_CONFIGS:
        shutil.copytree(HUB_CONFIGS_DIR / name, tmp_path / name)
    # a different library version alone is not staleness
    config_path = tmp_path / "tacfn-ravdess" / "config.json"
    config = json.loads(config_path.read_text())
    config["transformers_version"] = "0.0.1"
    config_path.write_text(json.dumps(config, indent=2))
    assert main(["--check", "--output-dir", str(tmp_path)]) == 0

    config["num_frames"] = 16
    config_path.write_text(json.dumps(config, indent=2))
    (tmp_path / "tacfn-iemocap" / "README.md").unlink()
    capsys.readouterr()
    assert main(["--check", "--output-dir", str(tmp_path)]) == 1
    output = capsys.readouterr().out
    assert f"out of date: {config_path}" in output
    assert f"out of date: {tmp_path / 'tacfn-iemocap' / 'README.md'}" in output
    assert "tacfn-iemocap/config.json" not in output

    assert main(["--output-dir", str(tmp_path)]) == 0
    assert main(["--check", "--output-dir", str(tmp_path)]) == 0
    assert json.loads(config_path.read_text())["num_frames"] == 30


@pytest.mark.parametrize("name", PUBLISHED_FOLDERS)
def test_folder_loads_with_the_auto_classes_and_instantiates_the_model(name, clip):
    folder = HUB_CONFIGS_DIR / name
    config = AutoConfig.from_pretrained(folder)
    assert type(config) is TACFNConfig
    assert [config.id2label[index] for index in range(config.num_labels)] == EXPECTED_LABELS[name]
    saved_only = {"auto_map", "_name_or_path"}
    preset = {key: value for key, value in model_config(HUB_CONFIGS[name]).to_dict().items() if key not in saved_only}
    assert {key: value for key, value in config.to_dict().items() if key not in saved_only} == preset
    assert set(config.auto_map) == {"AutoConfig", "AutoModel", "AutoModelForVideoClassification"}

    processor = AutoProcessor.from_pretrained(folder)
    assert type(processor) is TACFNProcessor
    assert processor.video_processor.num_frames == config.num_frames == 30
    assert (processor.video_processor.size.height, processor.video_processor.size.width) == (224, 224)
    assert processor.feature_extractor.num_audio_frames == config.num_audio_frames == 212
    inputs = processor(videos=str(clip.path), landmarks=str(clip.landmarks))
    assert inputs["pixel_values_videos"].shape == (1, 30, 3, 224, 224)
    assert inputs["input_features"].shape == (1, 13, 212)

    torch.manual_seed(0)
    model = AutoModelForVideoClassification.from_config(config).eval()
    assert type(model) is TACFNForAudioVisualClassification
    assert sum(parameter.numel() for parameter in model.parameters()) == EXPECTED_PARAMETERS[name]
    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.shape == (1, len(EXPECTED_LABELS[name]))
    assert torch.isfinite(logits).all()
    assert type(AutoModel.from_config(config)) is TACFNModel


@pytest.mark.parametrize("name", PUBLISHED_FOLDERS)
def test_folder_card_has_the_metadata_and_no_model_index(name):
    card = ModelCard.load(HUB_CONFIGS_DIR / name / "README.md")
    dataset = HUB_CONFIGS[name]
    assert card.data.library_name == "transformers"
    assert card.data.pipeline_tag == "video-classification"
    assert card.data.license == "apache-2.0"
    assert card.data.tags == ["emotion-recognition", "audio-visual", "multimodal", "tacfn", dataset]
    assert card.data.datasets == [dataset]
    assert card.data.metrics == ["accuracy", "recall", "f1"]
    assert card.data.eval_results is None
    assert "model-index" not in card.data.to_dict()
    assert "No evaluation results come with this folder." in card.text
    assert f'AutoProcessor.from_pretrained("{name}", trust_remote_code=True)' in card.text
    assert "without weights" in card.text
    assert f"--config {dataset} " in card.text
    assert "@article{liu2023tacfn," in card.text
    assert ", ".join(EXPECTED_LABELS[name]) in card.text
    licence = {"ravdess": "CC BY-NC-SA 4.0", "iemocap": "research use only"}[dataset]
    assert licence in card.text
    parameters = EXPECTED_PARAMETERS[name]
    assert f"Parameters: {parameters:,} ({parameters / 1e6:.2f} M)" in card.text


def test_the_wav2vec2_videomae_folder_loads_and_its_processor_makes_the_encoders_inputs(clip):
    folder = HUB_CONFIGS_DIR / "tacfn-ravdess-wav2vec2-videomae"
    config = AutoConfig.from_pretrained(folder)
    assert (config.audio_config.model_type, config.video_config.model_type) == ("wav2vec2", "videomae")
    assert (config.audio_config.hidden_size, config.video_config.hidden_size, config.video_feature_shape) == (
        768, 768, (8, 14, 14)
    )
    processor = AutoProcessor.from_pretrained(folder)
    inputs = processor(videos=str(clip.path), landmarks=str(clip.landmarks))
    assert inputs["pixel_values_videos"].shape == (1, 16, 3, 224, 224)
    assert inputs["input_values"].shape == (1, 48000)
    with torch.device("meta"):
        model = AutoModelForVideoClassification.from_config(config)
    assert type(model) is TACFNForAudioVisualClassification
    assert model.config.hidden_size == 768 + 256
    card = ModelCard.load(folder / "README.md")
    assert card.data.base_model == ["facebook/wav2vec2-base", "MCG-NJU/videomae-base"]
    assert card.data.datasets == ["ravdess"]
    assert "--audio_encoder facebook/wav2vec2-base" in card.text and "--video_encoder MCG-NJU/videomae-base" in card.text
