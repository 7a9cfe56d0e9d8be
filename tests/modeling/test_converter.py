"""The weight converter: checkpoints with exactly the published keys and shapes convert without changing a single
value, the converted model computes what the original code computes with those weights, and checkpoints that do not
fit are refused without writing anything."""

import ast
import copy
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoProcessor

from modeling_tacfn import TACFNForAudioVisualClassification
from modeling_tacfn.configuration_tacfn import RAVDESS_EMOTIONS
from modeling_tacfn.convert_original_tacfn_checkpoint import convert_checkpoint, main
from processing import TACFNFeatureExtractor, TACFNProcessor
from tests.media import speech_like_audio
from tests.modeling.test_missing_modality import logits_by_hand, with_random_stand_ins


REPO_ROOT = Path(__file__).resolve().parents[2]
# the published checkpoints' state-dict keys and shapes (and where each multimodal key comes from), as listed in the
# design's reference folder; kept with the tests so that the converter is tested wherever the suite runs
REFERENCE_DIR = Path(__file__).resolve().parent / "published_checkpoint_keys"
BATCH_NORM_EPS = 1e-5
NON_WEIGHT_BUFFERS = ("msaf.0.audio_attention.version", "msaf.0.audio_attention.embed_positions._float_tensor")
STAND_INS = ("tacfn.stand_ins.audio_summary", "tacfn.stand_ins.audio_embeds", "tacfn.stand_ins.video_embeds")

# ---------------------------------------------------------------------------------------------------------------------
# The published key lists and the expected names in our model (written from the mapping, independently of the
# converter's tables)
# ---------------------------------------------------------------------------------------------------------------------


def read_key_table(name: str) -> list[list]:
    """Rows of a reference tsv whose second column is a shape such as `(64, 3, 7, 7, 7)` or `()`; the shape parsed."""
    rows = []
    for line in (REFERENCE_DIR / name).read_text().splitlines():
        columns = line.split("\t")
        if len(columns) >= 2 and columns[1].startswith("("):
            rows.append([columns[0], tuple(ast.literal_eval(columns[1])), *columns[2:]])
    return rows


def published_shapes(name: str) -> dict[str, tuple[int, ...]]:
    return {row[0]: row[1] for row in read_key_table(name)}


def multimodal_keys_by_unimodal_source() -> dict[str, str]:
    """`"resnext50:layer1.0.conv1.weight"` / `"mfccNet:conv1.weight"` -> the multimodal key that takes it over."""
    sources = {}
    for multimodal_key, _, source in read_key_table("published_key_sources.tsv"):
        if not source.startswith("NEW"):
            sources[source.strip()] = multimodal_key
    return sources


VIDEO_STAGE_BLOCKS = {"3": 0, "4": 1, "5": 2, "6": 3}
AUDIO_BLOCKS = {"0": "conv1", "2": "bn1", "3": "conv2", "6": "bn2", "8": "conv3", "10": "bn3"}
SELECTION_RENAMES = {"fc1": "linear1", "fc2": "linear2", "layer_norms.0": "norm1", "layer_norms.1": "norm2"}


def expected_name(multimodal_key: str) -> str:
    """Where the issue says a published multimodal key lands in `TACFNForAudioVisualClassification`."""
    if match := re.fullmatch(r"video_model_blocks\.0\.0\.weight", multimodal_key):
        return "tacfn.video_encoder.stem.convolution.weight"
    if match := re.fullmatch(r"video_model_blocks\.0\.1\.(\w+)", multimodal_key):
        return f"tacfn.video_encoder.stem.normalization.{match[1]}"
    if match := re.fullmatch(r"video_model_blocks\.0\.([3-6])\.(\d+)\.(.+)", multimodal_key):
        rest = re.sub(r"^downsample\.", "shortcut.", match[3])
        return f"tacfn.video_encoder.stages.{VIDEO_STAGE_BLOCKS[match[1]]}.{match[2]}.{rest}"
    if match := re.fullmatch(r"audio_model_blocks\.0\.(\d+)\.(\w+)", multimodal_key):
        return f"tacfn.audio_encoder.{AUDIO_BLOCKS[match[1]]}.{match[2]}"
    selection_layer = r"msaf\.0\.audio_attention\.layers\.(\d+)"
    if match := re.fullmatch(selection_layer + r"\.(fc1|fc2|layer_norms\.[01])\.(\w+)", multimodal_key):
        return f"tacfn.fusion.selection.layers.{match[1]}.{SELECTION_RENAMES[match[2]]}.{match[3]}"
    if match := re.fullmatch(selection_layer + r"\.self_attn\.(.+)", multimodal_key):
        return f"tacfn.fusion.selection.layers.{match[1]}.self_attn.{match[2]}"
    if match := re.fullmatch(r"msaf\.0\.audio_attention\.layer_norm\.(\w+)", multimodal_key):
        return f"tacfn.fusion.selection.final_norm.{match[1]}"
    fusion_linears = dict(channel_affine="video_projection", y_affine="audio_projection", attn_weight_affine="score")
    if match := re.fullmatch(r"msaf\.0\.(\w+)\.(weight|bias)", multimodal_key):
        return f"tacfn.fusion.{fusion_linears[match[1]]}.{match[2]}"
    if match := re.fullmatch(r"fc\.(weight|bias)", multimodal_key):
        return f"classifier.{match[1]}"
    raise AssertionError(f"the issue's mapping has no place for {multimodal_key}")


def expected_unimodal_name(model_name: str, unimodal_key: str, head: str) -> str:
    """Where a unimodal key lands: through the multimodal key that the published code copies it to, or onto the
    classifier for the unimodal head `head` (`fc.` / `fc1.`)."""
    if unimodal_key.startswith(head):
        return "classifier." + unimodal_key.removeprefix(head)
    return expected_name(multimodal_keys_by_unimodal_source()[f"{model_name}:{unimodal_key}"])


# ---------------------------------------------------------------------------------------------------------------------
# Checkpoints with the published keys and shapes and random values
# ---------------------------------------------------------------------------------------------------------------------


def random_state_dict(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    """Random tensors of the given shapes: int64 batch counters, positive running variances, small weights."""
    generator = torch.Generator().manual_seed(seed)
    state_dict = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state_dict[key] = torch.randint(1, 100_000, shape, generator=generator, dtype=torch.int64)
        elif key.endswith("running_var"):
            state_dict[key] = 0.5 + torch.rand(shape, generator=generator)
        else:
            state_dict[key] = 0.1 * torch.randn(shape, generator=generator)
    return state_dict


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """The three published checkpoint kinds, saved as plain state dicts: kind -> (path, state dict)."""
    folder = tmp_path_factory.mktemp("original_checkpoints")
    tables = {
        "multimodal": "published_multimodal_keys.tsv",
        "resnext50": "published_resnext50_unimodal_keys.tsv",
        "mfccNet": "published_mfccnet_unimodal_keys.tsv",
    }
    saved = {}
    for seed, (kind, table) in enumerate(tables.items()):
        state_dict = random_state_dict(published_shapes(table), seed)
        path = folder / f"fold_1_{kind}_best.pth"
        torch.save(state_dict, path)
        saved[kind] = (path, state_dict)
    return saved


def run_converter(*arguments: str) -> subprocess.CompletedProcess:
    """Runs the converter's command line in a fresh process from the repository root, offline."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "modeling_tacfn.convert_original_tacfn_checkpoint", *map(str, arguments)]
    return subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300)


def convert(tmp_path_factory, *arguments: str) -> tuple[TACFNForAudioVisualClassification, str, Path]:
    """Converts through the command line and loads the result with `from_pretrained`; returns it, the report and the
    output folder."""
    output = tmp_path_factory.mktemp("converted") / "model"
    result = run_converter(*arguments, "--output", output)
    assert result.returncode == 0, f"conversion failed:\n{result.stdout}\n{result.stderr}"
    assert (output / "model.safetensors").is_file()
    return TACFNForAudioVisualClassification.from_pretrained(output), result.stdout, output


@pytest.fixture(scope="module")
def multimodal_conversion(checkpoints, tmp_path_factory):
    return convert(tmp_path_factory, "--checkpoint", checkpoints["multimodal"][0])


@pytest.fixture(scope="module")
def pair_conversion(checkpoints, tmp_path_factory):
    return convert(
        tmp_path_factory,
        "--video-checkpoint",
        checkpoints["resnext50"][0],
        "--audio-checkpoint",
        checkpoints["mfccNet"][0],
    )


@pytest.fixture(scope="module")
def video_conversion(checkpoints, tmp_path_factory):
    return convert(tmp_path_factory, "--video-checkpoint", checkpoints["resnext50"][0])


@pytest.fixture(scope="module")
def audio_conversion(checkpoints, tmp_path_factory):
    return convert(tmp_path_factory, "--audio-checkpoint", checkpoints["mfccNet"][0])


def assert_weights_equal(model: nn.Module, expected: dict[str, torch.Tensor]) -> None:
    """Every expected tensor is in the model's state dict under its name, bit for bit and with its dtype."""
    state = model.state_dict()
    absent = [name for name in expected if name not in state]
    assert not absent, f"{len(absent)} converted weights are not in the model: {absent[:5]}"
    different = [name for name, tensor in expected.items() if not torch.equal(state[name], tensor)]
    assert not different, f"{len(different)} weights differ from their source: {different[:5]}"
    assert all(state[name].dtype == tensor.dtype for name, tensor in expected.items())


# ---------------------------------------------------------------------------------------------------------------------
# The published computations, written out with the original tensors under their original names
# ---------------------------------------------------------------------------------------------------------------------


def batch_norm_by_hand(hidden: torch.Tensor, weights: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    """Inference batch norm over dim 1 with the running statistics stored under `prefix`."""
    view = (1, -1) + (1,) * (hidden.ndim - 2)
    mean, variance = weights[prefix + "running_mean"].view(view), weights[prefix + "running_var"].view(view)
    scale, shift = weights[prefix + "weight"].view(view), weights[prefix + "bias"].view(view)
    return (hidden - mean) / torch.sqrt(variance + BATCH_NORM_EPS) * scale + shift


def video_stem_by_hand(pixels, weights, conv_prefix, bn_prefix, relu):
    """7x7x7 conv stride (1, 2, 2) padding 3, batch norm, optional ReLU, 3x3x3 max pool stride 2 padding 1."""
    hidden = F.conv3d(pixels, weights[conv_prefix + "weight"], stride=(1, 2, 2), padding=3)
    hidden = batch_norm_by_hand(hidden, weights, bn_prefix)
    return F.max_pool3d(F.relu(hidden) if relu else hidden, kernel_size=3, stride=2, padding=1)


def audio_encoder_by_hand(mfcc, weights, names):
    """MFCCNet in evaluation mode: conv-ReLU-BN, conv-ReLU-maxpool(8)-BN, conv-ReLU-BN. `names` maps
    conv1/bn1/.../bn3 to the original key prefixes."""
    hidden = mfcc
    for index in (1, 2, 3):
        conv = names[f"conv{index}"]
        hidden = F.relu(F.conv1d(hidden, weights[conv + "weight"], weights[conv + "bias"], padding=2))
        if index == 2:
            hidden = F.max_pool1d(hidden, 8)
        hidden = batch_norm_by_hand(hidden, weights, names[f"bn{index}"])
    return hidden


def linear_by_hand(hidden, weights, prefix):
    """`hidden @ W.T + b` with the weight (and the bias, when the layer has one) stored under `prefix`."""
    bias = weights.get(prefix + "bias")
    return hidden @ weights[prefix + "weight"].T + (0 if bias is None else bias)


def layer_norm_by_hand(hidden, weights, prefix):
    return F.layer_norm(hidden, hidden.shape[-1:], weights[prefix + "weight"], weights[prefix + "bias"])


def selection_by_hand(sequence, weights, num_layers=5, num_heads=8):
    """The published audio self-attention (MulT TransformerEncoder): input scaled by sqrt(d) plus sinusoidal positions
    from 1 (sines | cosines), pre-norm causal layers with `layer_norms.0` before attention and `layer_norms.1` before
    `fc1`-ReLU-`fc2`, a final `layer_norm`; the last step is the summary."""
    batch, steps, dim = sequence.shape
    half = dim // 2
    frequencies = torch.exp(torch.arange(half) * -(math.log(10000) / (half - 1)))
    angles = torch.arange(1, steps + 1)[:, None] * frequencies[None]
    hidden = math.sqrt(dim) * sequence + torch.cat([angles.sin(), angles.cos()], dim=1)
    future = torch.ones(steps, steps, dtype=torch.bool).triu(1)
    for index in range(num_layers):
        prefix = f"msaf.0.audio_attention.layers.{index}."
        normed = layer_norm_by_hand(hidden, weights, prefix + "layer_norms.0.")
        projected = linear_by_hand(normed, weights, prefix + "self_attn.in_proj_")
        # (batch, steps, 3 * dim) -> 3 x (batch, heads, steps, dim / heads)
        query, key, value = (
            part.reshape(batch, steps, num_heads, dim // num_heads).transpose(1, 2) for part in projected.chunk(3, -1)
        )
        scores = (query @ key.transpose(-1, -2) / math.sqrt(dim // num_heads)).masked_fill(future, float("-inf"))
        mixed = (scores.softmax(-1) @ value).transpose(1, 2).reshape(batch, steps, dim)
        hidden = hidden + linear_by_hand(mixed, weights, prefix + "self_attn.out_proj.")
        normed = layer_norm_by_hand(hidden, weights, prefix + "layer_norms.1.")
        expanded = F.relu(linear_by_hand(normed, weights, prefix + "fc1."))
        hidden = hidden + linear_by_hand(expanded, weights, prefix + "fc2.")
    return layer_norm_by_hand(hidden, weights, "msaf.0.audio_attention.layer_norm.")[:, -1]


MULTIMODAL_AUDIO_NAMES = {name: f"audio_model_blocks.0.{index}." for index, name in AUDIO_BLOCKS.items()}
MFCCNET_NAMES = {name: f"{name}." for name in AUDIO_BLOCKS.values()}


# ---------------------------------------------------------------------------------------------------------------------
# The published multimodal checkpoint
# ---------------------------------------------------------------------------------------------------------------------


def test_multimodal_conversion_keeps_every_weight_exactly(multimodal_conversion, checkpoints):
    model, report, _ = multimodal_conversion
    source = checkpoints["multimodal"][1]
    expected = {expected_name(key): tensor for key, tensor in source.items() if key not in NON_WEIGHT_BUFFERS}
    assert_weights_equal(model, expected)
    # every tensor of the model comes from the checkpoint except the missing-modality stand-ins the published code
    # lacks, which keep their initialisation (zeros)
    assert set(model.state_dict()) - set(expected) == set(STAND_INS)
    assert len(expected) == len(source) - 2 == 408
    assert "Newly initialised: tacfn.stand_ins (3 tensors)" in report
    assert all(not model.state_dict()[name].any() for name in STAND_INS)
    assert all(buffer in report for buffer in NON_WEIGHT_BUFFERS)


def test_multimodal_conversion_sets_the_compat_switches(multimodal_conversion):
    config = multimodal_conversion[0].config
    assert config.modality == "both"
    assert config.video_stem_activation is False
    assert config.fusion_softmax == "space"
    assert [config.id2label[index] for index in range(8)] == list(RAVDESS_EMOTIONS)
    assert config.label2id["surprised"] == 7


def test_conversion_saves_a_processor_with_the_published_preprocessing(multimodal_conversion):
    processor_config = json.loads((multimodal_conversion[2] / "processor_config.json").read_text())
    assert processor_config["processor_class"] == "TACFNProcessor"
    assert processor_config["video_processor"]["channel_order"] == "bgr"
    assert processor_config["video_processor"]["pre_crop_size"] == {"height": 224, "width": 224}
    assert "channel_order='bgr'" in multimodal_conversion[1]
    assert processor_config["feature_extractor"]["resampling"] == "track_swr_s16"
    assert processor_config["feature_extractor"]["pad_mode"] == "reflect"
    assert "resampling='track_swr_s16', pad_mode='reflect'" in multimodal_conversion[1]


def test_converted_folder_loads_a_processor_that_applies_the_published_audio_settings(multimodal_conversion):
    published = TACFNFeatureExtractor(resampling="track_swr_s16", pad_mode="reflect")
    audio = speech_like_audio(duration=3.5, sample_rate=48000, channels=2)
    expected = published(audio, sampling_rate=48000)["input_features"]
    for loader in (TACFNProcessor, AutoProcessor):
        feature_extractor = loader.from_pretrained(multimodal_conversion[2]).feature_extractor
        assert (feature_extractor.resampling, feature_extractor.pad_mode) == ("track_swr_s16", "reflect")
        np.testing.assert_array_equal(feature_extractor(audio, sampling_rate=48000)["input_features"], expected)
    default = TACFNFeatureExtractor()(audio, sampling_rate=48000)["input_features"]
    assert np.abs(default - expected).max() > 1.0


def test_converted_multimodal_model_computes_the_published_pieces(multimodal_conversion, checkpoints):
    model, _, _ = multimodal_conversion
    source = checkpoints["multimodal"][1]
    generator = torch.Generator().manual_seed(0)
    pixels = torch.randn(1, 3, 4, 32, 32, generator=generator)
    mfcc = torch.randn(1, 13, 212, generator=generator)
    video_map = torch.randn(1, 2048, 2, 7, 7, generator=generator)
    clip = torch.randn(1, 3712, generator=generator)
    tolerance = dict(atol=1e-5, rtol=1e-4)
    with torch.no_grad():
        stem = model.tacfn.video_encoder.stem(pixels)
        audio = model.tacfn.audio_encoder(mfcc)[-1]
        reinforced, weights = model.tacfn.fusion(video_map, audio.transpose(1, 2))
        logits = model.classifier(clip)

    # the stem of the multimodal code has no ReLU after its batch norm
    expected_stem = video_stem_by_hand(
        pixels, source, "video_model_blocks.0.0.", "video_model_blocks.0.1.", relu=False
    )
    torch.testing.assert_close(stem, expected_stem, **tolerance)
    assert (stem < 0).any()
    torch.testing.assert_close(audio, audio_encoder_by_hand(mfcc, source, MULTIMODAL_AUDIO_NAMES), **tolerance)

    summary = selection_by_hand(audio.transpose(1, 2), source)
    positions = video_map.permute(0, 2, 3, 4, 1)  # (batch, time, height, width, channels)
    joint = linear_by_hand(positions, source, "msaf.0.channel_affine.")
    joint = joint + linear_by_hand(summary, source, "msaf.0.y_affine.")[:, None, None, None]
    scores = linear_by_hand(torch.tanh(joint), source, "msaf.0.attn_weight_affine.")
    # softmax over the 7 x 7 positions of each time slice
    expected_weights = scores.squeeze(-1).flatten(2).softmax(-1).view(1, 2, 7, 7)
    torch.testing.assert_close(weights, expected_weights, **tolerance)
    torch.testing.assert_close(reinforced, video_map * (1 + expected_weights[:, None]), **tolerance)

    torch.testing.assert_close(logits, linear_by_hand(clip, source, "fc."), **tolerance)


def test_converted_model_answers_complete_clips_bit_identically_whatever_its_stand_ins(multimodal_conversion):
    model = copy.deepcopy(multimodal_conversion[0]).eval()  # its stand-ins are changed below
    generator = torch.Generator().manual_seed(3)
    inputs = {"pixel_values_videos": torch.randn(2, 4, 3, 32, 32, generator=generator)}
    inputs["input_features"] = torch.randn(2, 13, 212, generator=generator)
    every_clip = torch.ones(2, dtype=torch.bool)
    with torch.no_grad():
        expected = logits_by_hand(model, **inputs)
        assert torch.equal(model(**inputs).logits, expected)
        with_random_stand_ins(model)
        assert torch.equal(model(**inputs, video_mask=every_clip, audio_mask=every_clip).logits, expected)
        audio_only = model(input_features=inputs["input_features"]).logits
    assert torch.isfinite(audio_only).all() and not torch.allclose(audio_only, expected)


# ---------------------------------------------------------------------------------------------------------------------
# Unimodal checkpoints, alone and as a pair
# ---------------------------------------------------------------------------------------------------------------------


def unimodal_expectations(checkpoints, model_name, head, with_head=True):
    """Our name -> tensor for a unimodal checkpoint; with `with_head=False` its classifier `head` is left out."""
    source = checkpoints[model_name][1]
    return {
        expected_unimodal_name(model_name, key, head): tensor
        for key, tensor in source.items()
        if with_head or not key.startswith(head)
    }


def test_unimodal_pair_gives_fused_model_with_new_fusion_and_classifier(pair_conversion, checkpoints):
    model, report, _ = pair_conversion
    expected = unimodal_expectations(checkpoints, "resnext50", "fc.", with_head=False)
    expected.update(unimodal_expectations(checkpoints, "mfccNet", "fc1.", with_head=False))
    assert_weights_equal(model, expected)
    new = set(model.state_dict()) - set(expected)
    new_modules = ("tacfn.fusion.", "tacfn.stand_ins.", "classifier.")
    assert new == {name for name in model.state_dict() if name.startswith(new_modules)}
    assert model.classifier.weight.shape == (8, 3712)
    assert re.search(r"Newly initialised: .*tacfn\.fusion.*classifier", report)
    assert "fc.weight, fc.bias" in report and "fc1.weight, fc1.bias" in report
    assert model.config.modality == "both"
    assert model.config.video_stem_activation is False
    assert model.config.fusion_softmax == "space"


def test_unimodal_video_checkpoint_alone_keeps_the_stem_relu(video_conversion, checkpoints):
    model, report, _ = video_conversion
    expected = unimodal_expectations(checkpoints, "resnext50", "fc.")
    assert_weights_equal(model, expected)
    assert set(model.state_dict()) == set(expected)
    assert model.config.modality == "video"
    assert model.config.video_stem_activation is True
    assert "Newly initialised: nothing" in report

    source = checkpoints["resnext50"][1]
    pixels = torch.randn(1, 4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        stem = model.tacfn(pixel_values_videos=pixels, output_hidden_states=True).video_hidden_states[0]
    expected_stem = video_stem_by_hand(pixels.transpose(1, 2), source, "conv1.", "bn1.", relu=True)
    torch.testing.assert_close(stem, expected_stem, atol=1e-5, rtol=1e-4)


def test_unimodal_audio_checkpoint_alone_gives_the_published_logits(audio_conversion, checkpoints):
    model, _, _ = audio_conversion
    expected = unimodal_expectations(checkpoints, "mfccNet", "fc1.")
    assert_weights_equal(model, expected)
    assert set(model.state_dict()) == set(expected)
    assert model.config.modality == "audio"

    source = checkpoints["mfccNet"][1]
    mfcc = torch.randn(3, 13, 212, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        logits = model(input_features=mfcc).logits
    features = audio_encoder_by_hand(mfcc, source, MFCCNET_NAMES).flatten(1)  # (3, 64, 26) -> (3, 1664)
    torch.testing.assert_close(logits, linear_by_hand(features, source, "fc1."), atol=1e-5, rtol=1e-4)


def test_training_container_with_data_parallel_prefix_and_custom_labels(checkpoints, tmp_path, tmp_path_factory):
    source = checkpoints["mfccNet"][1]
    data_parallel_state = {f"module.{key}": value for key, value in source.items()}
    container = {"epoch": 17, "best_accuracy": 0.5, "state_dict": data_parallel_state}
    path = tmp_path / "fold_1_mfccNet_best.pth"
    torch.save(container, path)
    labels = [f"emotion_{index}" for index in range(8)]
    model, _, _ = convert(tmp_path_factory, "--audio-checkpoint", path, "--labels", ",".join(labels))
    assert_weights_equal(model, unimodal_expectations(checkpoints, "mfccNet", "fc1."))
    assert [model.config.id2label[index] for index in range(8)] == labels


# ---------------------------------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------------------------------


def save_variant(checkpoints, kind, folder, change):
    """Saves a copy of a published checkpoint changed by `change(state_dict)`; returns its path."""
    state_dict = dict(checkpoints[kind][1])
    change(state_dict)
    path = folder / f"changed_{kind}.pth"
    torch.save(state_dict, path)
    return path


def transpose_channel_affine(state_dict):
    state_dict["msaf.0.channel_affine.weight"] = state_dict["msaf.0.channel_affine.weight"].T.contiguous()


def drop_running_variances(state_dict):
    for key in [key for key in state_dict if key.endswith("running_var")]:
        del state_dict[key]


def add_stray_tensors(state_dict):
    state_dict["conv4.weight"] = torch.zeros(64, 64, 3)
    state_dict["bn4.weight"] = torch.zeros(64)


def drop_the_audio_projection(state_dict):
    del state_dict["msaf.0.y_affine.weight"]


def drop_a_batch_counter(state_dict):
    del state_dict["bn2.num_batches_tracked"]


def add_tensor_inside_a_known_block(state_dict):
    # `bn1.` is in the layout, so this renames onto the model, which has no such tensor
    state_dict["bn1.scale"] = torch.ones(32)


REFUSALS = {
    "wrong shape": (
        "multimodal",
        "--checkpoint",
        transpose_channel_affine,
        ["1 wrongly shaped", "msaf.0.channel_affine.weight is (2048, 64), expected (64, 2048)"],
    ),
    "missing keys": (
        "mfccNet",
        "--audio-checkpoint",
        drop_running_variances,
        ["3 missing", "bn1.running_var", "bn2.running_var", "bn3.running_var"],
    ),
    # the stand-ins the published code lacks may be absent, nothing else of the fused model may
    "missing multimodal key": (
        "multimodal",
        "--checkpoint",
        drop_the_audio_projection,
        ["1 missing: msaf.0.y_affine.weight"],
    ),
    "unexpected keys": (
        "mfccNet",
        "--audio-checkpoint",
        add_stray_tensors,
        ["2 unexpected", "conv4.weight", "bn4.weight"],
    ),
    # torch's BatchNorm fills in a missing counter for state dicts of old PyTorch versions; the converter does not
    "missing batch counter": ("mfccNet", "--audio-checkpoint", drop_a_batch_counter, ["1 missing: bn2.num_batches_tracked"]),
    "unexpected key in a known block": (
        "mfccNet",
        "--audio-checkpoint",
        add_tensor_inside_a_known_block,
        ["1 unexpected: bn1.scale"],
    ),
}


@pytest.mark.parametrize("problem", REFUSALS)
def test_checkpoint_that_does_not_fit_is_refused_and_nothing_written(problem, checkpoints, tmp_path, capsys):
    kind, flag, change, messages = REFUSALS[problem]
    path = save_variant(checkpoints, kind, tmp_path, change)
    output = tmp_path / "converted"
    assert main([flag, str(path), "--output", str(output)]) == 1
    error = capsys.readouterr().err
    assert f"checkpoint {path} does not fit" in error
    assert all(message in error for message in messages), error
    assert not output.exists()


def test_many_offending_keys_are_counted_not_all_listed(checkpoints, tmp_path, capsys):
    path = save_variant(checkpoints, "resnext50", tmp_path, lambda state_dict: state_dict.pop("fc.weight"))
    # the ResNeXt keys are all unexpected in the multimodal layout: the first few are shown, then a count
    assert main(["--checkpoint", str(path), "--output", str(tmp_path / "converted")]) == 1
    error = capsys.readouterr().err
    assert re.search(r"\d{3} unexpected: conv1\.weight, bn1\.weight, .*, \.\.\. and \d{3} more", error), error
    # the missing keys are named as in a published multimodal checkpoint
    assert "407 missing: video_model_blocks.0.0.weight, video_model_blocks.0.1.weight," in error
    assert not (tmp_path / "converted").exists()


def test_checkpoint_of_another_kind_gets_a_hint(checkpoints, tmp_path, capsys):
    assert main(["--video-checkpoint", str(checkpoints["mfccNet"][0]), "--output", str(tmp_path / "out")]) == 1
    assert "look like a unimodal MFCCNet checkpoint: pass it with --audio-checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_pickled_module_is_refused_by_weights_only_loading(tmp_path):
    path = tmp_path / "whole_model.pth"
    torch.save(nn.Sequential(nn.Conv1d(13, 32, 7), nn.ReLU()), path)
    output = tmp_path / "converted"
    result = run_converter("--audio-checkpoint", path, "--output", output)
    assert result.returncode == 1
    assert f"checkpoint {path} holds Python objects other than tensors" in result.stderr
    assert "weights_only=True" in result.stderr and "torch.save(model.state_dict(), path)" in result.stderr
    assert "torch.nn.modules.container.Sequential" in result.stderr
    assert "Traceback" not in result.stderr
    assert not output.exists()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (
            ["--audio-checkpoint", "{mfccNet}", "--labels", "happy,sad,angry"],
            "3 labels were given (happy, sad, angry) but the checkpoint's classifier has 8 classes",
        ),
        (["--audio-checkpoint", "{mfccNet}", "--labels", "a,b,c,d,e,f,g,a"], "labels must be distinct and non-empty"),
        (["--checkpoint", "{mfccNet}", "--video-checkpoint", "{mfccNet}"], "not both kinds"),
        ([], "no checkpoint given"),
    ],
)
def test_bad_arguments_are_refused(arguments, message, checkpoints, tmp_path, capsys):
    arguments = [argument.format(mfccNet=checkpoints["mfccNet"][0]) for argument in arguments]
    assert main([*arguments, "--output", str(tmp_path / "out")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def save_four_class_mfccnet(checkpoints, folder):
    """The MFCCNet checkpoint with a classifier over 4 classes instead of 8; returns its path and state dict."""
    source = dict(checkpoints["mfccNet"][1])
    source["fc1.weight"], source["fc1.bias"] = source["fc1.weight"][:4].clone(), source["fc1.bias"][:4].clone()
    path = folder / "four_classes.pth"
    torch.save(source, path)
    return path, source


def test_function_api_converts_a_four_class_checkpoint_only_with_its_labels(checkpoints, tmp_path):
    path, source = save_four_class_mfccnet(checkpoints, tmp_path)
    with pytest.raises(ValueError, match="has 4 classes, not the 8 RAVDESS emotions: name its classes with --labels"):
        convert_checkpoint(audio_checkpoint_path=path, verbose=False)
    labels = ["neutral", "happy", "angry", "sad"]
    model = convert_checkpoint(audio_checkpoint_path=path, labels=labels, verbose=False)
    assert model.config.id2label == dict(enumerate(labels))
    assert torch.equal(model.classifier.weight, source["fc1.weight"])
    assert not model.training


def test_unimodal_pair_trained_for_different_classes_is_refused(checkpoints, tmp_path):
    audio_path, _ = save_four_class_mfccnet(checkpoints, tmp_path)
    with pytest.raises(ValueError, match="trained for different numbers of classes"):
        convert_checkpoint(video_checkpoint_path=checkpoints["resnext50"][0], audio_checkpoint_path=audio_path)


def test_unreadable_files_are_refused(tmp_path, capsys):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a checkpoint")
    tensor = tmp_path / "tensor.pth"
    torch.save(torch.zeros(3), tensor)
    epochs_only = tmp_path / "epochs.pth"
    torch.save({"epoch": 3, "state_dict": [1, 2]}, epochs_only)
    expectations = {
        tmp_path / "absent.pth": "does not exist",
        garbage: "is not a readable PyTorch file",
        tensor: "holds a Tensor, not a state dict",
        epochs_only: "holds no state dict",
    }
    for path, message in expectations.items():
        assert main(["--audio-checkpoint", str(path), "--output", str(tmp_path / "out")]) == 1
        assert f"checkpoint {path} {message}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_output_that_is_a_file_is_refused(checkpoints, tmp_path, capsys):
    output = tmp_path / "model"
    output.write_text("already here")
    assert main(["--audio-checkpoint", str(checkpoints["mfccNet"][0]), "--output", str(output)]) == 1
    assert "exists and is not a folder" in capsys.readouterr().err
    assert output.read_text() == "already here"
