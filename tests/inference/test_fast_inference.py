"""The exact inference levers (batch norms folded into the convolutions, channels_last_3d weights) and bf16 autocast:
on a model with trained-looking batch norm statistics, in the pipeline (the default on the CPU) and in `tacfn predict
--dtype bfloat16`."""

import copy
import json
import os

import pytest
import torch
from torch import nn

from inference import load_classifier
from inference.cli import main
from processing.fast_inference_tacfn import convolution_batch_norm_pairs, example_inputs, prepare_for_inference
from tests.inference.conftest import tiny_model


os.environ["HF_HUB_OFFLINE"] = "1"


def model_with_batch_norm_statistics(seed: int = 0) -> nn.Module:
    """The tiny model with random running statistics and affine parameters in every batch norm, as training leaves
    them (fresh ones are the identity, which folding would leave unchanged)."""
    model = tiny_model(seed=seed)
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            for buffer, low, high in ((module.running_mean, -0.5, 0.5), (module.running_var, 0.3, 2.0),
                                      (module.weight.data, 0.5, 1.5), (module.bias.data, -0.3, 0.3)):  # fmt: skip
                buffer.copy_(torch.empty_like(buffer).uniform_(low, high, generator=generator))
    return model


def random_inputs(config, batch: int = 3) -> dict:
    generator = torch.Generator().manual_seed(1)
    size = (batch, config.num_frames, 3, config.image_size, config.image_size)
    return {
        "pixel_values_videos": torch.randn(size, generator=generator),
        "input_features": torch.randn(batch, config.num_mfcc, config.num_audio_frames, generator=generator),
    }


def test_folding_removes_the_video_batch_norms_and_keeps_the_outputs():
    model = model_with_batch_norm_statistics()
    inputs = random_inputs(model.config)
    with torch.no_grad():
        expected = model(**inputs, output_attentions=True)
    pairs = convolution_batch_norm_pairs(model, example_inputs(model.config))
    video_batch_norms = [name for name, module in model.named_modules() if isinstance(module, nn.BatchNorm3d)]
    assert sorted(batch_norm for _, batch_norm in pairs) == sorted(video_batch_norms)
    # the audio encoder's batch norms follow a ReLU, not a convolution: they stay
    assert all(".audio_encoder." not in batch_norm for _, batch_norm in pairs)

    fast = prepare_for_inference(copy.deepcopy(model))
    assert not any(isinstance(module, nn.BatchNorm3d) for module in fast.modules())
    assert any(isinstance(module, nn.BatchNorm1d) for module in fast.modules())
    stem = fast.tacfn.video_encoder.stem.convolution.weight
    assert stem.is_contiguous(memory_format=torch.channels_last_3d) and not stem.is_contiguous()
    with torch.no_grad():
        got = fast(**inputs, output_attentions=True)
    torch.testing.assert_close(got.logits, expected.logits, atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(got.attentions, expected.attentions, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(model.tacfn.video_encoder.stem.convolution.weight, stem.contiguous())  # folded


def test_bf16_autocast_stays_close():
    model = prepare_for_inference(model_with_batch_norm_statistics())
    inputs = random_inputs(model.config)
    with torch.no_grad():
        expected = model(**inputs).logits
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = model(**inputs).logits
    assert got.dtype == torch.bfloat16
    assert (got.float() - expected).abs().max() < 0.05


def test_the_pipeline_runs_an_optimised_copy_on_the_cpu(model_dir, classifier, clips):
    assert classifier.inference_model is not classifier.model
    assert not any(isinstance(module, nn.BatchNorm3d) for module in classifier.inference_model.modules())
    assert any(isinstance(module, nn.BatchNorm3d) for module in classifier.model.modules())  # still trainable, saveable
    plain = load_classifier(str(model_dir), device="cpu")
    plain_pipeline = type(plain)(model=plain.model, processor=plain.processor, optimize_for_inference=False)
    assert plain_pipeline.inference_model is plain_pipeline.model
    expected = plain_pipeline(str(clips.mp4), top_k=8)
    got = classifier(str(clips.mp4), top_k=8)
    assert {item["label"]: item["score"] for item in got} == pytest.approx(
        {item["label"]: item["score"] for item in expected}, rel=1e-4, abs=1e-6
    )
    with pytest.raises(ValueError, match="autocast_dtype"):
        type(plain)(model=plain.model, processor=plain.processor, autocast_dtype=16)


def test_predict_with_bf16(model_dir, classifier, clips, capsys):
    arguments = ["predict", str(clips.mp4), "--model", str(model_dir), "--json", "--top-k", "8", "--dtype", "bfloat16"]
    assert main(arguments) == 0
    [record] = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    expected = {item["label"]: item["score"] for item in classifier(str(clips.mp4), top_k=8)}
    got = {item["label"]: item["score"] for item in record["predictions"]}
    assert got == pytest.approx(expected, abs=0.02)
