"""Built-in against pretrained encoders: parameters, FLOPs per clip and CPU time per clip of a forward pass, for the
published RAVDESS setting (3D ResNeXt-50 + MFCC CNN) and the fusion over wav2vec2-base + VideoMAE-base (preset
`wav2vec2-videomae`, built from Transformers' configurations of those architectures: nothing is downloaded).

Run as `python -m benchmarks.encoders [--quick]`. Prints one JSON object per line: `{"name", "value", "unit",
"target", "meets"}` (no targets here).
"""

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.model import random_batch
from benchmarks.report import report
from hub_configs.presets import model_config
from modeling_tacfn import TACFNForAudioVisualClassification


SETTINGS = {"builtin": "ravdess", "wav2vec2_videomae": "wav2vec2-videomae"}


def clip_inputs(preset: str) -> tuple[TACFNForAudioVisualClassification, dict]:
    """A randomly initialised model of the preset and one clip of random inputs in its input names."""
    config = model_config(preset)
    model = TACFNForAudioVisualClassification(config).eval()
    if config.audio_config is None:
        inputs = random_batch(config, 1)
        inputs.pop("labels")
    else:
        # the processor's window: 3 s of 16 kHz audio
        inputs = {
            "pixel_values_videos": torch.randn(1, config.num_frames, 3, config.image_size, config.image_size),
            "input_values": torch.randn(1, 48000),
        }
    return model, inputs


def forward_figures(preset: str, calls: int) -> tuple[int, float, float]:
    """Parameters, GFLOP of one clip's forward pass (torch's FLOP counter) and the median seconds of one forward."""
    model, inputs = clip_inputs(preset)
    # no_grad, not inference_mode: the FLOP counter fails on wav2vec2's weight-normalised convolution in inference mode
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            model(**inputs)
        timings = []
        for _ in range(calls):
            start = time.perf_counter()
            model(**inputs)
            timings.append(time.perf_counter() - start)
    parameters = sum(parameter.numel() for parameter in model.parameters())
    return parameters, counter.get_total_flops() / 1e9, sorted(timings)[len(timings) // 2]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one timed forward per setting instead of three")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    for name, preset in SETTINGS.items():
        parameters, gflop, seconds = forward_figures(preset, 1 if args.quick else 3)
        report(f"encoders_{name}_parameters", parameters / 1e6, "M parameters")
        report(f"encoders_{name}_forward_gflop_per_clip", gflop, "GFLOP")
        report(f"encoders_{name}_cpu_forward_per_clip", seconds, "s", higher_is_better=False)


if __name__ == "__main__":
    main()
