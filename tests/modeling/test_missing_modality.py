"""A fused model with a modality missing: per-clip masks, the learned stand-ins (what they replace, where their
gradient comes from), complete clips computed exactly as before, errors, and saving / remote-code loading."""

import pytest
import torch
from safetensors.torch import load_file, save_file

from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification, TACFNModel
from tests.isolation import run_isolated
from tests.modeling.test_modeling import random_inputs


def with_random_stand_ins(model: TACFNForAudioVisualClassification, seed: int = 5):
    """Gives the (zero-initialised) stand-ins distinct values, as training with modality dropout would."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for stand_in in model.tacfn.stand_ins.parameters():
            stand_in.copy_(torch.randn(stand_in.shape, generator=generator))
    return model


@pytest.fixture
def fused(tiny_config):
    torch.manual_seed(0)
    return with_random_stand_ins(TACFNForAudioVisualClassification(tiny_config)).eval()


def logits_by_hand(model: TACFNForAudioVisualClassification, pixel_values_videos, input_features) -> torch.Tensor:
    """The fused model's forward before missing modalities existed, module by module: encoders, fusion of the audio
    sequence into the video map, pooled video next to the flattened audio, classifier."""
    tacfn = model.tacfn
    audio_sequence = tacfn.audio_encoder(input_features)[-1]  # (batch, channels, steps)
    video_map = tacfn.video_encoder(pixel_values_videos)[-1]
    reinforced, _ = tacfn.fusion(video_map, audio_sequence.transpose(1, 2))
    pooled = torch.cat([reinforced.mean(dim=(2, 3, 4)), audio_sequence.flatten(1)], dim=1)
    return model.classifier(pooled)


def test_complete_clips_are_bit_identical_with_the_stand_ins_present_but_unused(fused, tiny_config):
    inputs = random_inputs(tiny_config, batch_size=3)
    every_clip = torch.ones(3, dtype=torch.bool)
    with torch.no_grad():
        expected = logits_by_hand(fused, **inputs)
        plain = fused(**inputs).logits
        masked = fused(**inputs, video_mask=every_clip, audio_mask=every_clip, output_attentions=True)
        with_stand_ins_changed = with_random_stand_ins(fused, seed=9)(**inputs).logits
    assert torch.equal(plain, expected)
    assert torch.equal(masked.logits, expected)
    assert torch.equal(with_stand_ins_changed, expected)


def test_a_batch_mixing_complete_and_incomplete_clips_gives_each_clip_its_answer_alone(fused, tiny_config):
    inputs = random_inputs(tiny_config, batch_size=4, seed=1)
    video_mask = torch.tensor([True, True, False, True])
    audio_mask = torch.tensor([True, False, True, True])
    with torch.no_grad():
        together = fused(**inputs, video_mask=video_mask, audio_mask=audio_mask, output_attentions=True)
        alone = [
            fused(**{name: value[0:1] for name, value in inputs.items()}).logits,
            fused(pixel_values_videos=inputs["pixel_values_videos"][1:2]).logits,  # no audio
            fused(input_features=inputs["input_features"][2:3]).logits,  # no video
            fused(**{name: value[3:4] for name, value in inputs.items()}).logits,
        ]
        # the masked rows of the tensors are ignored: other values there change nothing
        scrambled = {name: value.clone() for name, value in inputs.items()}
        scrambled["input_features"][1].normal_()
        scrambled["pixel_values_videos"][2].normal_()
        rescrambled = fused(**scrambled, video_mask=video_mask, audio_mask=audio_mask).logits
        # a clip's answer does not depend on its batch-mates' masks
        other_masks = fused(**inputs, video_mask=torch.tensor([True, True, False, False]), audio_mask=audio_mask)
    for index, expected in enumerate(alone):
        torch.testing.assert_close(together.logits[index : index + 1], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(rescrambled, together.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(other_masks.logits[:3], together.logits[:3], atol=1e-5, rtol=0)
    assert not torch.allclose(other_masks.logits[3], together.logits[3])
    # the clip without video has no fusion weights; the clip without audio is fused with the audio-summary stand-in
    assert not together.attentions[2].any()
    assert torch.allclose(together.attentions[1].sum(), torch.tensor(1.0))


def test_each_stand_in_replaces_what_it_stands_for(fused, tiny_config):
    inputs = random_inputs(tiny_config, batch_size=2, seed=2)
    stand_ins = fused.tacfn.stand_ins
    with torch.no_grad():
        without_audio = fused.tacfn(pixel_values_videos=inputs["pixel_values_videos"], output_attentions=True)
        without_video = fused.tacfn(input_features=inputs["input_features"], output_hidden_states=True)
        video_map = fused.tacfn.video_encoder(inputs["pixel_values_videos"])[-1]
        summary = stand_ins.audio_summary.expand(2, -1)
        reinforced, weights = fused.tacfn.fusion.reinforce(video_map, summary)
    assert torch.equal(without_audio.audio_embeds, stand_ins.audio_embeds.expand(2, -1))
    torch.testing.assert_close(without_audio.attentions, weights)
    torch.testing.assert_close(without_audio.video_embeds, reinforced.mean(dim=(2, 3, 4)))
    assert torch.equal(without_video.video_embeds, stand_ins.video_embeds.expand(2, -1))
    assert without_video.attentions is None and without_video.video_hidden_states is None
    assert torch.equal(without_video.last_hidden_state, without_video.audio_hidden_states[-1])
    assert tuple(without_video.pooler_output.shape) == (2, tiny_config.hidden_size)


def test_stand_ins_get_gradient_only_from_incomplete_clips(fused, tiny_config):
    inputs = random_inputs(tiny_config, batch_size=3, seed=3)
    weights = torch.randn(3, tiny_config.num_labels, generator=torch.Generator().manual_seed(4))

    def stand_in_gradients(**model_inputs) -> dict[str, torch.Tensor]:
        fused.zero_grad()
        logits = fused(**model_inputs).logits
        (logits * weights[: len(logits)]).sum().backward()
        stand_ins = fused.tacfn.stand_ins.named_parameters()
        return {name: torch.zeros_like(value) if value.grad is None else value.grad for name, value in stand_ins}

    every_clip = torch.ones(3, dtype=torch.bool)
    masked = stand_in_gradients(**inputs, video_mask=every_clip, audio_mask=every_clip)
    for complete in (stand_in_gradients(**inputs), masked):
        assert all(not gradient.any() for gradient in complete.values())
    # clip 0 complete, clip 1 without audio, clip 2 without video
    mixed = stand_in_gradients(
        **inputs, video_mask=torch.tensor([True, True, False]), audio_mask=torch.tensor([True, False, True])
    )
    assert all(gradient.abs().gt(0).any() for gradient in mixed.values())
    # exactly the gradient of the incomplete clips alone (the weights of the summed logits follow the clips)
    weights = weights[[1, 2]]
    only_incomplete = stand_in_gradients(
        **{name: value[1:] for name, value in inputs.items()},
        video_mask=torch.tensor([True, False]),
        audio_mask=torch.tensor([False, True]),
    )
    for name, gradient in mixed.items():
        torch.testing.assert_close(gradient, only_incomplete[name], atol=1e-6, rtol=1e-5, msg=name)


def test_a_clip_with_neither_modality_is_refused(fused, tiny_config):
    inputs = random_inputs(tiny_config, batch_size=3)
    with pytest.raises(ValueError, match=r"clips \[1\] have neither video nor audio"):
        fused(**inputs, video_mask=torch.tensor([True, False, True]), audio_mask=torch.tensor([False, False, True]))
    with pytest.raises(ValueError, match=r"clips \[0\] have neither video nor audio"):
        fused(input_features=inputs["input_features"][:1], audio_mask=torch.tensor([False]))
    with pytest.raises(ValueError, match="needs `pixel_values_videos` or `input_features`"):
        fused(video_mask=torch.tensor([False]))


@pytest.mark.parametrize("modality", ["video", "audio"])
def test_a_unimodal_model_refuses_clips_without_its_modality(tiny_config, modality):
    model = TACFNModel(TACFNConfig(**{**tiny_config.to_diff_dict(), "modality": modality})).eval()
    inputs = random_inputs(tiny_config, batch_size=2)
    assert not any(name.startswith("stand_ins") for name in model.state_dict())
    with pytest.raises(ValueError, match=rf"clips \[1\] have no {modality}, which a '{modality}' TACFN model needs"):
        model(**inputs, **{f"{modality}_mask": torch.tensor([True, False])})
    other = "audio" if modality == "video" else "video"
    with torch.no_grad():  # the other modality's mask concerns it not
        assert model(**inputs, **{f"{other}_mask": torch.tensor([False, False])}).pooler_output.shape[0] == 2


def test_modality_dropout_is_a_probability_for_the_fused_model_only(tiny_config):
    assert TACFNConfig(**{**tiny_config.to_diff_dict(), "modality_dropout": 0.5}).modality_dropout == 0.5
    with pytest.raises(ValueError, match="modality_dropout must be a probability"):
        TACFNConfig(modality_dropout=1.5)
    with pytest.raises(ValueError, match="0 unless modality='both'"):
        TACFNConfig(modality="audio", modality_dropout=0.3)


def test_stand_ins_survive_saving_and_remote_code_loading(fused, tiny_config, tmp_path):
    folder = tmp_path / "fused"
    fused.save_pretrained(folder)
    assert {"model_inputs_tacfn.py", "modeling_outputs_tacfn.py"} <= {path.name for path in folder.iterdir()}
    loaded = TACFNForAudioVisualClassification.from_pretrained(folder).eval()
    inputs = random_inputs(tiny_config, batch_size=2, seed=6)
    inputs["video_mask"], inputs["audio_mask"] = torch.tensor([False, True]), torch.tensor([True, False])
    with torch.no_grad():
        expected = fused(**inputs).logits
        assert torch.equal(loaded(**inputs).logits, expected)
    save_file({**inputs, "expected": expected}, tmp_path / "inputs.safetensors")
    run_isolated(
        """
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModelForVideoClassification

        inputs = load_file("inputs.safetensors")
        expected = inputs.pop("expected")
        model = AutoModelForVideoClassification.from_pretrained("fused", trust_remote_code=True).eval()
        assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
        with torch.no_grad():
            torch.testing.assert_close(model(**inputs).logits, expected, atol=1e-5, rtol=0)
            audio_only = model(input_features=inputs["input_features"][:1]).logits
            torch.testing.assert_close(audio_only, expected[:1], atol=1e-5, rtol=0)
        print("remote code answered incomplete clips")
        """,
        cwd=tmp_path,
    )


def test_a_folder_saved_without_stand_ins_loads_with_zero_stand_ins(tiny_config, tmp_path):
    torch.manual_seed(0)
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    model.save_pretrained(tmp_path)
    weights = load_file(tmp_path / "model.safetensors")
    published_layout = {name: value for name, value in weights.items() if "stand_ins" not in name}
    save_file(published_layout, tmp_path / "model.safetensors")
    loaded = TACFNForAudioVisualClassification.from_pretrained(tmp_path).eval()
    assert all(not stand_in.any() for stand_in in loaded.tacfn.stand_ins.parameters())
    inputs = random_inputs(tiny_config, batch_size=2)
    with torch.no_grad():
        assert torch.equal(loaded(**inputs).logits, model(**inputs).logits)
