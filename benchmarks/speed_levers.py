"""Speed lever figures: the published-size forward pass on this CPU with each inference lever added in turn
(`channels_last_3d` weights, batch norms folded into the convolutions, bf16 autocast, and `torch.compile` of the
folded model in the full run), and each one's largest logit difference from the plain model (random weights). The
training levers on a GPU are `benchmarks.model`'s CUDA lines.

Run as `python -m benchmarks.speed_levers [--quick]`. Prints one JSON object per line: `{"name", "value", "unit",
"target", "meets"}`; `target` / `meets` are `null` for figures without a target.
"""

import argparse
import copy
import statistics
import time

import torch

from benchmarks.model import random_batch
from benchmarks.report import report
from hub_configs.presets import model_config
from modeling_tacfn import TACFNForAudioVisualClassification
from processing.fast_inference_tacfn import prepare_for_inference


BATCH_SIZE = 2


def forward_milliseconds(model, inputs: dict, calls: int, bf16: bool = False) -> tuple[float, torch.Tensor]:
    """Median milliseconds per clip of an `inference_mode` forward pass after one warm-up call, and the logits."""
    timings = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(**inputs).logits.float()
        for _ in range(calls):
            start = time.perf_counter()
            model(**inputs)
            timings.append(1000 * (time.perf_counter() - start) / len(inputs["input_features"]))
    return statistics.median(timings), logits


def lever_models(plain) -> dict:
    """Each lever setting's model (and whether it runs under bf16 autocast), each lever on top of the one before."""
    channels_last = copy.deepcopy(plain).to(memory_format=torch.channels_last_3d)
    folded = prepare_for_inference(copy.deepcopy(plain))
    return {
        "fp32": (plain, False),
        "channels_last_3d": (channels_last, False),
        "channels_last_3d_bn_folded": (folded, False),
        "channels_last_3d_bn_folded_bf16": (folded, True),
    }


def report_cpu_levers(calls: int, with_compile: bool) -> None:
    torch.manual_seed(0)
    plain = TACFNForAudioVisualClassification(model_config("ravdess")).eval()
    inputs = random_batch(plain.config, BATCH_SIZE)
    inputs.pop("labels")
    models = lever_models(plain)
    baseline, reference = forward_milliseconds(plain, inputs, calls)
    report("infer_ravdess_cpu_fp32_batch2", baseline, "ms/clip", higher_is_better=False)
    for name, (model, bf16) in list(models.items())[1:]:
        milliseconds, logits = forward_milliseconds(model, inputs, calls, bf16=bf16)
        report(f"infer_ravdess_cpu_{name}_batch2", milliseconds, "ms/clip", higher_is_better=False)
        report(f"infer_ravdess_cpu_{name}_speedup", baseline / milliseconds, "x")
        difference = (logits - reference).abs().max().item()
        report(f"infer_ravdess_cpu_{name}_max_logit_difference", 1e6 * difference, "1e-6 (logit units)")
    if with_compile:
        folded, _ = models["channels_last_3d_bn_folded"]
        start = time.perf_counter()
        compiled = torch.compile(folded)
        with torch.inference_mode():
            compiled(**inputs)
        report("compile_ravdess_cpu_first_call", time.perf_counter() - start, "s", higher_is_better=False)
        milliseconds, _ = forward_milliseconds(compiled, inputs, calls)
        report("infer_ravdess_cpu_channels_last_3d_bn_folded_compiled_speedup", baseline / milliseconds, "x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 timed call per setting and no torch.compile")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    report_cpu_levers(calls=1 if args.quick else 5, with_compile=not args.quick)


if __name__ == "__main__":
    main()
