"""TACFN model: published shapes and size, per-sample fusion, the fusion math, losses, training machinery, dtypes."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification, TACFNModel
from modeling_tacfn.modeling_tacfn import TACFNAdaptiveFusion, TACFNVideoBottleneck, sinusoidal_positions


PUBLISHED_PARAMETERS = 26_301_417


def random_inputs(config: TACFNConfig, batch_size: int, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    video_shape = (batch_size, config.num_frames, config.num_channels, config.image_size, config.image_size)
    return {
        "pixel_values_videos": torch.randn(video_shape, generator=generator),
        "input_features": torch.randn((batch_size, config.num_mfcc, config.num_audio_frames), generator=generator),
    }


@pytest.fixture(scope="module")
def published_model():
    torch.manual_seed(0)
    return TACFNForAudioVisualClassification(TACFNConfig()).eval()


@pytest.fixture(scope="module")
def published_forward(published_model):
    inputs = random_inputs(published_model.config, batch_size=1)
    with torch.no_grad():
        outputs = published_model.tacfn(**inputs, output_attentions=True, output_hidden_states=True)
        logits = published_model(**inputs).logits
    return inputs, outputs, logits


def test_published_model_has_the_papers_parameter_count(published_model):
    # the published network, plus the missing-modality stand-ins: audio summary 64, audio features 64 * 26, video 2048
    stand_ins = sum(parameter.numel() for parameter in published_model.tacfn.stand_ins.parameters())
    assert stand_ins == 64 + 64 * 26 + 2048
    assert sum(parameter.numel() for parameter in published_model.parameters()) - stand_ins == PUBLISHED_PARAMETERS


def test_published_shapes_at_every_stage(published_forward):
    _, outputs, logits = published_forward
    video_stages = [tuple(state.shape) for state in outputs.video_hidden_states]
    assert video_stages == [
        (1, 64, 15, 56, 56),  # stem: 7x7x7 conv stride (1, 2, 2) then 3x3x3 max pool stride 2
        (1, 256, 15, 56, 56),
        (1, 512, 8, 28, 28),
        (1, 1024, 4, 14, 14),
        (1, 2048, 2, 7, 7),
    ]
    assert [tuple(state.shape) for state in outputs.audio_hidden_states] == [(1, 32, 210), (1, 32, 26), (1, 64, 26)]
    assert tuple(outputs.last_hidden_state.shape) == (1, 2048, 2, 7, 7)
    assert tuple(outputs.attentions.shape) == (1, 2, 7, 7)
    assert tuple(outputs.video_embeds.shape) == (1, 2048)
    assert tuple(outputs.audio_embeds.shape) == (1, 1664)
    assert tuple(outputs.pooler_output.shape) == (1, 3712)
    assert tuple(logits.shape) == (1, 8)


def test_clip_representation_is_video_then_channel_major_audio(published_forward):
    _, outputs, _ = published_forward
    audio_sequence = outputs.audio_hidden_states[-1][0]  # (64, 26)
    assert torch.equal(outputs.pooler_output[0, :2048], outputs.video_embeds[0])
    assert torch.equal(outputs.pooler_output[0, 2048 + 3 * 26 + 5], audio_sequence[3, 5])
    torch.testing.assert_close(outputs.video_embeds[0], outputs.last_hidden_state[0].mean(dim=(1, 2, 3)))


def test_published_model_output_does_not_depend_on_batch_mates(published_model, published_forward):
    inputs, alone, logits_alone = published_forward
    other = random_inputs(published_model.config, batch_size=1, seed=7)
    batch = {name: torch.cat([inputs[name], other[name]]) for name in inputs}
    with torch.no_grad():
        together = published_model.tacfn(**batch, output_attentions=True)
        logits_together = published_model(**batch).logits
    torch.testing.assert_close(together.pooler_output[:1], alone.pooler_output, atol=1e-5, rtol=0)
    torch.testing.assert_close(together.attentions[:1], alone.attentions, atol=1e-5, rtol=0)
    torch.testing.assert_close(logits_together[:1], logits_alone, atol=1e-5, rtol=0)


def test_tiny_model_outputs_per_clip_whatever_the_batch(tiny_config):
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    clips = random_inputs(tiny_config, batch_size=5, seed=1)
    with torch.no_grad():
        batched = model(**clips, output_attentions=True)
        for index in range(5):
            alone = model(**{name: value[index : index + 1] for name, value in clips.items()}, output_attentions=True)
            torch.testing.assert_close(batched.logits[index : index + 1], alone.logits, atol=1e-5, rtol=0)
            torch.testing.assert_close(batched.attentions[index : index + 1], alone.attentions, atol=1e-5, rtol=0)
        shuffled = model(**{name: value.flip(0) for name, value in clips.items()})
    torch.testing.assert_close(shuffled.logits.flip(0), batched.logits, atol=1e-5, rtol=0)


def reference_selection_summary(selection, audio_sequence):
    """The published selection Transformer written out step by step (pre-norm, causal, positions from 1, sin | cos
    halves, input scaled by sqrt(d)), to check that the torch.nn layers reproduce it."""
    batch, steps, dim = audio_sequence.shape
    half = dim // 2
    frequencies = torch.tensor([math.exp(-i * math.log(10000) / (half - 1)) for i in range(half)])
    angles = torch.arange(1, steps + 1, dtype=torch.float32)[:, None] * frequencies
    hidden = math.sqrt(dim) * audio_sequence + torch.cat([angles.sin(), angles.cos()], dim=1)
    causal = torch.ones(steps, steps).triu(1).bool()
    for layer in selection.layers:
        attention = layer.self_attn
        heads = attention.num_heads
        normed = F.layer_norm(hidden, (dim,), layer.norm1.weight, layer.norm1.bias, layer.norm1.eps)
        query, key, value = F.linear(normed, attention.in_proj_weight, attention.in_proj_bias).chunk(3, dim=-1)
        query, key, value = (t.view(batch, steps, heads, dim // heads).transpose(1, 2) for t in (query, key, value))
        scores = (query @ key.transpose(-1, -2)) / math.sqrt(dim // heads)
        mixed = scores.masked_fill(causal, float("-inf")).softmax(-1) @ value
        hidden = hidden + attention.out_proj(mixed.transpose(1, 2).reshape(batch, steps, dim))
        normed = F.layer_norm(hidden, (dim,), layer.norm2.weight, layer.norm2.bias, layer.norm2.eps)
        hidden = hidden + layer.linear2(F.relu(layer.linear1(normed)))
    return selection.final_norm(hidden)[:, -1]


@pytest.mark.parametrize("scope", ["space", "spacetime"])
def test_fusion_block_follows_the_published_math(tiny_config, scope):
    config = TACFNConfig(**{**tiny_config.to_diff_dict(), "fusion_softmax": scope})
    torch.manual_seed(0)
    fusion = TACFNAdaptiveFusion(config).eval()
    video_map = torch.randn(3, 64, 2, 3, 3)
    audio_sequence = torch.randn(3, 26, 16)
    with torch.no_grad():
        reinforced, weights = fusion(video_map, audio_sequence)
        summary = reference_selection_summary(fusion.selection, audio_sequence)
        positions = video_map.permute(0, 2, 3, 4, 1)  # (batch, time, height, width, channels)
        hidden = torch.tanh(
            positions @ fusion.video_projection.weight.T
            + fusion.video_projection.bias
            + (summary @ fusion.audio_projection.weight.T)[:, None, None, None]
        )
        scores = (hidden @ fusion.score.weight.T + fusion.score.bias).squeeze(-1)
    expected = scores.flatten(2 if scope == "space" else 1).softmax(-1).view_as(scores)
    torch.testing.assert_close(weights, expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(reinforced, video_map * (1 + expected[:, None]), atol=1e-5, rtol=1e-4)
    totals = weights.sum(dim=(2, 3)) if scope == "space" else weights.sum(dim=(1, 2, 3))
    torch.testing.assert_close(totals, torch.ones_like(totals))


def test_sinusoidal_positions_are_the_published_ones():
    positions = sinusoidal_positions(26, 64, torch.device("cpu"), torch.float32)
    assert positions.shape == (26, 64)
    torch.testing.assert_close(positions[0, 0], torch.tensor(math.sin(1.0)))
    torch.testing.assert_close(positions[0, 32], torch.tensor(math.cos(1.0)))
    torch.testing.assert_close(positions[4, 31], torch.tensor(math.sin(5 * math.exp(-math.log(10000)))))


def test_video_stem_activation_switch_changes_the_stem(tiny_config):
    with_relu = TACFNModel(tiny_config)
    without_relu = TACFNModel(TACFNConfig(**{**tiny_config.to_diff_dict(), "video_stem_activation": False}))
    assert isinstance(with_relu.video_encoder.stem.activation, nn.ReLU)
    assert isinstance(without_relu.video_encoder.stem.activation, nn.Identity)


@pytest.mark.parametrize(
    ("modality", "width", "has_attention"), [("video", 64, False), ("audio", 16 * 26, False), ("both", 64 + 16 * 26, True)]
)
def test_unimodal_and_fused_models(tiny_config, modality, width, has_attention):
    config = TACFNConfig(**{**tiny_config.to_diff_dict(), "modality": modality})
    model = TACFNForAudioVisualClassification(config).eval()
    inputs = random_inputs(config, batch_size=2)
    if modality == "video":
        inputs.pop("input_features")
    if modality == "audio":
        inputs.pop("pixel_values_videos")
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True)
        base = model.tacfn(**inputs)
    assert config.hidden_size == width == base.pooler_output.shape[1]
    assert outputs.logits.shape == (2, 8)
    assert (outputs.attentions is not None) == has_attention


def test_single_label_loss_is_cross_entropy(tiny_config):
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    labels = torch.tensor([3, 0])
    outputs = model(**random_inputs(tiny_config, batch_size=2), labels=labels)
    torch.testing.assert_close(outputs.loss, F.cross_entropy(outputs.logits, labels))
    assert model.config.problem_type == "single_label_classification"


def test_multi_label_loss_is_binary_cross_entropy(tiny_config):
    config = TACFNConfig(**{**tiny_config.to_diff_dict(), "problem_type": "multi_label_classification"})
    model = TACFNForAudioVisualClassification(config).eval()
    labels = torch.zeros(2, 8)
    labels[0, 1] = labels[1, 4] = labels[1, 6] = 1.0
    outputs = model(**random_inputs(config, batch_size=2), labels=labels)
    torch.testing.assert_close(outputs.loss, F.binary_cross_entropy_with_logits(outputs.logits, labels))


def test_regression_loss_is_mean_squared_error(tiny_config):
    config = TACFNConfig(**{**tiny_config.to_diff_dict(), "num_labels": 1})
    model = TACFNForAudioVisualClassification(config).eval()
    labels = torch.tensor([0.5, -1.0, 2.0])
    outputs = model(**random_inputs(config, batch_size=3), labels=labels)
    torch.testing.assert_close(outputs.loss, F.mse_loss(outputs.logits.squeeze(-1), labels))
    assert model.config.problem_type == "regression"


def test_loss_is_normalised_by_the_trainers_item_count(tiny_config):
    # Trainer passes `num_items_in_batch` (the labels of every accumulated batch) so that gradient accumulation and
    # several processes average over all clips: the loss is then the summed cross-entropy over that count
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    labels = torch.tensor([3, 0])
    outputs = model(**random_inputs(tiny_config, batch_size=2), labels=labels, num_items_in_batch=torch.tensor(8))
    torch.testing.assert_close(outputs.loss, F.cross_entropy(outputs.logits, labels, reduction="sum") / 8)


def test_outputs_as_tuples_put_last_hidden_state_first(tiny_config):
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    inputs, labels = random_inputs(tiny_config, batch_size=2), torch.tensor([1, 2])
    with torch.no_grad():
        base = model.tacfn(**inputs)
        base_tuple = model.tacfn(**inputs, return_dict=False)
        head = model(**inputs, labels=labels)
        head_tuple = model(**inputs, labels=labels, return_dict=False)
        model.config.return_dict = False
        from_config = model(**inputs)
    assert list(base.keys())[0] == "last_hidden_state"
    assert isinstance(base_tuple, tuple) and len(base_tuple) == 4  # last_hidden_state, pooler, video, audio
    assert torch.equal(base_tuple[0], base.last_hidden_state) and torch.equal(base_tuple[1], base.pooler_output)
    assert isinstance(head_tuple, tuple) and len(head_tuple) == 2
    assert torch.equal(head_tuple[0], head.loss) and torch.equal(head_tuple[1], head.logits)
    assert isinstance(from_config, tuple) and torch.equal(from_config[0], head.logits)


def test_audio_only_last_hidden_state_is_the_audio_sequence(tiny_config):
    model = TACFNModel(TACFNConfig(**{**tiny_config.to_diff_dict(), "modality": "audio"})).eval()
    with torch.no_grad():
        outputs = model(input_features=torch.randn(2, 13, 212), output_hidden_states=True)
    assert torch.equal(outputs.last_hidden_state, outputs.audio_hidden_states[-1])
    assert tuple(outputs.last_hidden_state.shape) == (2, 16, 26)
    assert outputs.video_embeds is None and outputs.attentions is None


def test_gradient_reaches_every_parameter(tiny_config):
    torch.manual_seed(0)
    model = TACFNForAudioVisualClassification(tiny_config).train()
    assert model.config.video_feature_shape == (2, 3, 3)
    outputs = model(**random_inputs(tiny_config, batch_size=4), labels=torch.tensor([0, 1, 2, 3]))
    outputs.loss.backward()
    # the score's bias shifts every position's score alike, and the softmax cancels it: its gradient is zero by design;
    # the missing-modality stand-ins get gradient only from incomplete clips (tests/modeling/test_missing_modality.py)
    stand_ins = {f"tacfn.stand_ins.{name}" for name, _ in model.tacfn.stand_ins.named_parameters()}
    no_gradient_by_design = {"tacfn.fusion.score.bias"} | stand_ins
    without_gradient = [
        name
        for name, parameter in model.named_parameters()
        if name not in no_gradient_by_design and (parameter.grad is None or not parameter.grad.abs().gt(0).any())
    ]
    assert without_gradient == []


def test_gradient_checkpointing_gives_the_same_gradients(tiny_config):
    config = TACFNConfig(
        **{**tiny_config.to_diff_dict(), "audio_dropouts": [0.0, 0.0], "fusion_embed_dropout": 0.0, "fusion_dropout": 0.0}
    )
    torch.manual_seed(0)
    plain = TACFNForAudioVisualClassification(config).train()
    checkpointed = TACFNForAudioVisualClassification(config).train()
    checkpointed.load_state_dict(plain.state_dict())
    checkpointed.gradient_checkpointing_enable()
    blocks = [module for module in checkpointed.modules() if isinstance(module, TACFNVideoBottleneck)]
    assert blocks and all(block.gradient_checkpointing for block in blocks)
    inputs, labels = random_inputs(config, batch_size=2), torch.tensor([1, 5])
    for model in (plain, checkpointed):
        model(**inputs, labels=labels).loss.backward()
    for (name, expected), (_, actual) in zip(plain.named_parameters(), checkpointed.named_parameters()):
        torch.testing.assert_close(actual.grad, expected.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_torch_compile_runs_the_tiny_model(tiny_config):
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    inputs = random_inputs(tiny_config, batch_size=2)
    compiled = torch.compile(model)
    with torch.no_grad():
        expected = model(**inputs).logits
        actual = compiled(**inputs).logits
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=1e-4)


def test_bfloat16_loading_runs_in_bfloat16(tiny_config, tmp_path):
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    model.save_pretrained(tmp_path)
    half = TACFNForAudioVisualClassification.from_pretrained(tmp_path, dtype=torch.bfloat16).eval()
    assert {parameter.dtype for parameter in half.parameters()} == {torch.bfloat16}
    inputs = random_inputs(tiny_config, batch_size=2)
    with torch.no_grad():
        logits = half(**inputs).logits
        expected = model(**inputs).logits
    assert logits.dtype == torch.bfloat16
    torch.testing.assert_close(logits.float(), expected, atol=0.15, rtol=0.1)


@pytest.mark.gpu
def test_runs_on_cuda(tiny_config):
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    inputs = random_inputs(tiny_config, batch_size=2)
    with torch.no_grad():
        expected = model(**inputs).logits
        actual = model.to("cuda")(**{name: value.to("cuda") for name, value in inputs.items()}).logits
    torch.testing.assert_close(actual.cpu(), expected, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({}, "needs `pixel_values_videos` or `input_features`"),
        ({"input_features": torch.zeros(1, 13, 212), "audio_mask": torch.tensor([1])}, "must be a bool tensor of shape (1,)"),
        ({"input_features": torch.zeros(2, 13, 212), "audio_mask": torch.tensor([True])}, "must be a bool tensor of shape (2,)"),
        ({"input_features": torch.zeros(1, 13, 212), "video_mask": torch.tensor([True])}, "no `pixel_values_videos` were given"),
        ({"pixel_values_videos": torch.zeros(1, 3, 32, 32), "input_features": torch.zeros(1, 13, 212)}, "must have shape"),
        ({"pixel_values_videos": torch.zeros(1, 8, 1, 32, 32), "input_features": torch.zeros(1, 13, 212)}, "must have shape"),
        ({"pixel_values_videos": torch.zeros(1, 8, 3, 32, 32), "input_features": torch.zeros(1, 13, 100)}, "13, 212"),
        ({"pixel_values_videos": torch.zeros(2, 8, 3, 32, 32), "input_features": torch.zeros(1, 13, 212)}, "holds 2 clips"),
    ],
)
def test_bad_inputs_are_named(tiny_config, inputs, message):
    model = TACFNForAudioVisualClassification(tiny_config).eval()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        model(**inputs)
