"""TACFN fusion over pretrained Transformers encoders (wav2vec2 / HuBERT / WavLM audio, VideoMAE / ViViT video), built
from tiny random configurations: the composite config, shapes, batch independence, padding, missing modalities,
`from_encoders`, and save / load / remote-code round trips."""

import json

import pytest
import torch
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModel, HubertModel, VivitModel, Wav2Vec2Model

from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification
from tests.encoder_configs import AUDIO_ENCODERS, VIDEO_ENCODERS, encoder_config
from tests.isolation import run_isolated


def clip_inputs(batch_size: int, seed: int = 0, samples: int = 4000) -> dict:
    generator = torch.Generator().manual_seed(seed)
    return {
        "pixel_values_videos": torch.randn(batch_size, 4, 3, 32, 32, generator=generator),
        "input_values": torch.randn(batch_size, samples, generator=generator),
    }


def model_for(audio="wav2vec2", video="videomae", **kwargs) -> TACFNForAudioVisualClassification:
    torch.manual_seed(0)
    return TACFNForAudioVisualClassification(encoder_config(audio, video, **kwargs)).eval()


def test_the_composite_config_round_trips_through_config_json(tmp_path):
    config = encoder_config("hubert", "vivit")
    assert (config.hidden_size, config.fusion_hidden_size, config.video_feature_shape) == (32 + 16, 16, (2, 4, 4))
    assert (config.num_frames, config.image_size, config.audio_input_name) == (4, 32, "input_values")
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert (saved["audio_config"]["model_type"], saved["video_config"]["model_type"]) == ("hubert", "vivit")
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert type(loaded.audio_config).__name__ == "HubertConfig" and type(loaded.video_config).__name__ == "VivitConfig"
    assert loaded.to_json_string(use_diff=True) == config.to_json_string(use_diff=True)
    # the built-in encoders stay the default
    assert TACFNConfig().audio_config is None and TACFNConfig().hidden_size == 3712


def test_configs_that_cannot_work_are_refused():
    with pytest.raises(ValueError, match="not a raw-waveform speech encoder"):
        TACFNConfig(audio_config=VIDEO_ENCODERS["videomae"]())
    with pytest.raises(ValueError, match="not a video Transformer with tubelet patches"):
        TACFNConfig(video_config=AUDIO_ENCODERS["wav2vec2"]())
    with pytest.raises(ValueError, match="'audio' model has no video encoder"):
        TACFNConfig(modality="audio", video_config=VIDEO_ENCODERS["videomae"]())
    with pytest.raises(ValueError, match="model_type"):
        TACFNConfig(audio_config={"hidden_size": 32})


@pytest.mark.parametrize(("audio", "video"), [("wav2vec2", "videomae"), ("hubert", "vivit"), ("wavlm", None)])
def test_shapes_and_batch_independence(audio, video):
    model = model_for(audio, video)
    inputs = clip_inputs(3)
    if video is None:  # the built-in 3D ResNeXt beside a pretrained audio encoder
        model = model_for(audio, None, num_frames=8, image_size=32, video_layers=[1], video_hidden_sizes=[32],
                          video_cardinality=4, video_stem_channels=8)  # fmt: skip
        inputs["pixel_values_videos"] = torch.randn(3, 8, 3, 32, 32)
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True, output_hidden_states=True)
        alone = model(**{name: value[1:2] for name, value in inputs.items()})
        mates = model(**{name: torch.cat([value[1:2], value[1:2].flip(-1)]) for name, value in inputs.items()})
    time, height, width = model.config.video_feature_shape
    assert outputs.logits.shape == (3, 8)
    assert outputs.attentions.shape == (3, time, height, width)
    torch.testing.assert_close(outputs.attentions.sum(dim=(1, 2, 3)), torch.ones(3))
    # frames of the projected sequence: (4000 - 10) // 5 + 1 = 799 after the first convolution, (799 - 8) // 4 + 1
    assert outputs.audio_hidden_states[-1].shape == (3, 198, 16)
    torch.testing.assert_close(alone.logits[0], outputs.logits[1], atol=1e-5, rtol=0)
    torch.testing.assert_close(mates.logits[0], outputs.logits[1], atol=1e-5, rtol=0)


def test_padded_audio_is_ignored_by_the_selection_and_the_audio_pooling():
    # a layer-norm feature encoder (wav2vec2-large style) computes each frame from its own samples only
    config = encoder_config(None, "videomae")
    config = TACFNConfig(
        audio_config=AUDIO_ENCODERS["wav2vec2"](feat_extract_norm="layer", do_stable_layer_norm=True),
        video_config=config.video_config,
        audio_projection_size=16, fusion_num_heads=2, fusion_num_layers=1,
    )  # fmt: skip
    torch.manual_seed(0)
    model = TACFNForAudioVisualClassification(config).eval()
    inputs = clip_inputs(2, samples=4000)
    short = inputs["input_values"][0, :2500]
    padded = {**inputs, "input_values": inputs["input_values"].clone(), "attention_mask": torch.ones(2, 4000, dtype=torch.long)}
    padded["input_values"][0, 2500:] = 0.0
    padded["attention_mask"][0, 2500:] = 0
    with torch.no_grad():
        batch = model(**padded)
        alone = model(pixel_values_videos=inputs["pixel_values_videos"][:1], input_values=short[None])
        unpadded_mean = model(pixel_values_videos=inputs["pixel_values_videos"][:1], input_values=inputs["input_values"][:1])
    torch.testing.assert_close(batch.logits[0], alone.logits[0], atol=1e-5, rtol=0)
    assert (batch.logits[0] - unpadded_mean.logits[0]).abs().max() > 1e-4


def test_a_missing_modality_uses_the_learned_stand_ins():
    model = model_for()
    inputs = clip_inputs(3)
    with torch.no_grad():
        model.tacfn.stand_ins.audio_embeds.normal_()
        model.tacfn.stand_ins.video_embeds.normal_()
        full = model(**inputs).logits
        masked = model(**inputs, audio_mask=torch.tensor([True, False, True]), video_mask=torch.tensor([True, True, False]))
        video_only = model(pixel_values_videos=inputs["pixel_values_videos"][1:2]).logits
        audio_only = model(input_values=inputs["input_values"][2:3]).logits
    torch.testing.assert_close(masked.logits[0], full[0])
    torch.testing.assert_close(masked.logits[1], video_only[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(masked.logits[2], audio_only[0], atol=1e-5, rtol=0)
    assert (masked.logits[1] - full[1]).abs().max() > 1e-4


def test_inputs_in_the_wrong_form_are_value_errors():
    model = model_for()
    with pytest.raises(ValueError, match="`input_features` was given, but this model's audio encoder takes input_values"):
        model(pixel_values_videos=torch.randn(1, 4, 3, 32, 32), input_features=torch.randn(1, 13, 212))
    with pytest.raises(ValueError, match=r"must have shape \(batch, 4, 3, 32, 32\) for this model's videomae"):
        model(pixel_values_videos=torch.randn(1, 6, 3, 32, 32), input_values=torch.randn(1, 4000))
    with pytest.raises(ValueError, match="`input_values` must have shape"):
        model(input_values=torch.randn(1, 2, 4000))


def test_from_encoders_loads_the_encoders_weights(tmp_path):
    torch.manual_seed(1)
    speech, video = HubertModel(AUDIO_ENCODERS["hubert"]()), VivitModel(VIDEO_ENCODERS["vivit"]())
    speech.save_pretrained(tmp_path / "speech")
    video.save_pretrained(tmp_path / "video")
    model = TACFNForAudioVisualClassification.from_encoders(
        audio=str(tmp_path / "speech"), video=str(tmp_path / "video"), id2label={0: "calm", 1: "angry"}, **{
            "audio_projection_size": 16, "fusion_num_heads": 2, "fusion_num_layers": 1}
    )  # fmt: skip
    assert model.config.num_labels == 2 and model.config.audio_config.model_type == "hubert"
    for encoder, pretrained in ((model.tacfn.audio_encoder.model, speech), (model.tacfn.video_encoder.model, video)):
        for name, value in pretrained.state_dict().items():
            assert torch.equal(encoder.state_dict()[name], value), name
    with pytest.raises(ValueError, match="needs an `audio` or a `video` encoder"):
        TACFNForAudioVisualClassification.from_encoders()


def test_save_from_pretrained_and_remote_code_in_a_fresh_process(tmp_path):
    model = model_for("wavlm", "videomae")
    model_dir = tmp_path / "tacfn-encoders"
    model.save_pretrained(model_dir)
    loaded = TACFNForAudioVisualClassification.from_pretrained(model_dir).eval()
    inputs = clip_inputs(2, seed=5)
    with torch.no_grad():
        expected = model(**inputs).logits
    torch.testing.assert_close(loaded(**inputs).logits, expected, atol=0, rtol=0)
    assert type(AutoModel.from_pretrained(model_dir)).__name__ == "TACFNModel"
    save_file(inputs, tmp_path / "inputs.safetensors")
    save_file({"logits": expected}, tmp_path / "expected.safetensors")
    run_isolated(
        """
        import torch
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModelForVideoClassification

        inputs, expected = load_file("inputs.safetensors"), load_file("expected.safetensors")
        config = AutoConfig.from_pretrained("tacfn-encoders", trust_remote_code=True)
        assert type(config.audio_config).__name__ == "WavLMConfig", type(config.audio_config)
        model = AutoModelForVideoClassification.from_pretrained("tacfn-encoders", trust_remote_code=True).eval()
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        with torch.no_grad():
            torch.testing.assert_close(model(**inputs).logits, expected["logits"], atol=1e-5, rtol=0)
        print("remote code loaded")
        """,
        cwd=tmp_path,
    )


@pytest.mark.network
def test_from_encoders_with_real_pretrained_names_runs_a_clip():
    model = TACFNForAudioVisualClassification.from_encoders(
        audio="facebook/wav2vec2-base", video="MCG-NJU/videomae-base"
    ).eval()
    assert model.config.hidden_size == 768 + 256
    with torch.no_grad():
        outputs = model(
            pixel_values_videos=torch.randn(1, 16, 3, 224, 224), input_values=torch.randn(1, 48000), output_attentions=True
        )
    assert outputs.logits.shape == (1, 8) and outputs.attentions.shape == (1, 8, 14, 14)
