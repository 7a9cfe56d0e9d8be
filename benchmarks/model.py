"""Model figures: training throughput and peak memory, inference latency, the vectorised fusion block against a
per-sample loop, and memory growth over many inference calls.

Run as `python -m benchmarks.model [--quick]`. Prints one JSON object per line: `{"name", "value", "unit", "target",
"meets"}`; `target` / `meets` are `null` for figures without a target.
"""

import argparse
import gc
import resource
import statistics
import tempfile
import time
from pathlib import Path

import psutil
import torch

from benchmarks.report import report
from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification
from modeling_tacfn.modeling_tacfn import TACFNAdaptiveFusion
from hub_configs.presets import model_config, processor_for


FUSION_SPEEDUP_TARGET = 1.5
RSS_GROWTH_TARGET_MB = 50.0


def random_batch(config: TACFNConfig, batch_size: int) -> dict[str, torch.Tensor]:
    size = config.image_size
    return {
        "pixel_values_videos": torch.randn(batch_size, config.num_frames, 3, size, size),
        "input_features": torch.randn(batch_size, config.num_mfcc, config.num_audio_frames),
        "labels": torch.randint(0, config.num_labels, (batch_size,)),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def training_throughput(
    preset: str, batch_size: int, steps: int, device: str = "cpu", bf16: bool = False, channels_last: bool = False,
    compile: bool = False,
) -> tuple[float, float]:
    """Clips per second of forward + backward + AdamW steps, and the peak memory afterwards in MB (the process's RSS
    on the CPU, allocated GPU memory on CUDA). `bf16` runs under bfloat16 autocast, `channels_last` stores the video
    encoder's weights and input channels-last (3D), `compile` wraps the model in `torch.compile`."""
    torch.manual_seed(0)
    config = model_config(preset)
    model = TACFNForAudioVisualClassification(config).train().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    batch = {name: value.to(device) for name, value in random_batch(config, batch_size).items()}
    if channels_last:
        model.tacfn.video_encoder.to(memory_format=torch.channels_last_3d)
        # (batch, frames, channels, H, W) is laid out as the encoder's (batch, channels, frames, H, W) channels-last
        batch["pixel_values_videos"] = (
            batch["pixel_values_videos"]
            .transpose(1, 2)
            .contiguous(memory_format=torch.channels_last_3d)
            .transpose(1, 2)
        )
    forward = torch.compile(model) if compile else model

    def step():
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
            loss = forward(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
        return steps * batch_size / (time.perf_counter() - start), torch.cuda.max_memory_allocated() / 2**20
    return steps * batch_size / (time.perf_counter() - start), peak_rss_mb()


GPU_VARIANTS = {
    "fp32": {},
    "bf16_autocast": {"bf16": True},
    "bf16_channels_last_3d": {"bf16": True, "channels_last": True},
    "bf16_compile": {"bf16": True, "compile": True},
}


def inference_latency(preset: str, batch_size: int, calls: int) -> tuple[float, float]:
    """p50 and p95 milliseconds per clip of an inference-mode forward pass."""
    config = model_config(preset)
    model = TACFNForAudioVisualClassification(config).eval()
    batch = random_batch(config, batch_size)
    batch.pop("labels")
    timings = []
    with torch.inference_mode():
        model(**batch)
        for _ in range(calls):
            start = time.perf_counter()
            model(**batch)
            timings.append(1000 * (time.perf_counter() - start) / batch_size)
    quantiles = statistics.quantiles(timings, n=20, method="inclusive")
    return statistics.median(timings), quantiles[18]


def per_sample_fusion(fusion: TACFNAdaptiveFusion, video_map: torch.Tensor, audio_sequence: torch.Tensor):
    """The naive alternative: the fusion block called once per clip, results stacked."""
    results = [
        fusion(video_map[index : index + 1], audio_sequence[index : index + 1]) for index in range(len(video_map))
    ]
    return torch.cat([reinforced for reinforced, _ in results]), torch.cat([weights for _, weights in results])


def fusion_speedup(batch_size: int, repeats: int) -> tuple[float, float, float]:
    """Milliseconds of forward + backward through the fusion block at the published shapes (video map 2048x2x7x7,
    audio 26x64), vectorised and looped per sample, and the speed-up."""
    torch.manual_seed(0)
    fusion = TACFNAdaptiveFusion(TACFNConfig()).train()
    video_map = torch.randn(batch_size, 2048, 2, 7, 7, requires_grad=True)
    audio_sequence = torch.randn(batch_size, 26, 64, requires_grad=True)

    def milliseconds(forward) -> float:
        timings = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            reinforced, weights = forward(fusion, video_map, audio_sequence)
            (reinforced.mean() + weights.mean()).backward()
            timings.append(1000 * (time.perf_counter() - start))
        return statistics.median(timings[1:])

    vectorised, looped = milliseconds(lambda f, v, a: f(v, a)), milliseconds(per_sample_fusion)
    return vectorised, looped, looped / vectorised


RSS_CLIPS = {
    # quick: 1 s at 160x120 cropped from its landmark CSV; full: 3 s at 320x240 through the face detector
    True: dict(num_frames=15, height=120, width=160, face_box=(50, 20, 110, 100), use_landmarks=True),
    False: dict(num_frames=45, height=240, width=320, face_box=(110, 50, 210, 190), use_landmarks=False),
}


def rss_growth(calls: int, quick: bool, checkpoint: int = 10) -> tuple[float, float, float]:
    """RSS after `checkpoint` and after `calls` full inference calls (processor on a real H.264/AAC clip at 15 fps +
    tiny model), in MB, and the growth between them. The clip is `RSS_CLIPS[quick]`."""
    from tests import media

    clip_settings = RSS_CLIPS[quick]
    config = model_config("tiny")
    model = TACFNForAudioVisualClassification(config).eval()
    processor = processor_for(config)
    process = psutil.Process()
    with tempfile.TemporaryDirectory() as folder:
        num_frames, face_box = clip_settings["num_frames"], clip_settings["face_box"]
        frames = media.face_frames(num_frames, clip_settings["height"], clip_settings["width"], face_box=face_box)
        audio = media.speech_like_audio(num_frames / 15, 44100)
        clip = media.write_video(Path(folder) / "clip.mp4", frames, 15.0, audio=audio)
        landmarks = None
        if clip_settings["use_landmarks"]:
            landmarks = media.write_openface_csv(
                Path(folder) / "clip.csv", media.face_landmarks(num_frames, face_box), 15.0
            )
        rss_at_checkpoint = 0.0
        for call in range(1, calls + 1):
            with torch.inference_mode():
                model(**processor(videos=clip, landmarks=landmarks, return_tensors="pt"))
            if call == checkpoint:
                gc.collect()
                rss_at_checkpoint = process.memory_info().rss / 2**20
        gc.collect()
        rss_at_end = process.memory_info().rss / 2**20
    return rss_at_checkpoint, rss_at_end, rss_at_end - rss_at_checkpoint


def report_training_figures(presets: list[tuple[str, int]], cuda_variants: bool = False) -> None:
    """Figure (b): training clips/s and the process's peak RSS at batch 4 for each `(preset, timed steps)` in
    `presets`; with `cuda_variants` and a GPU, also the published size on CUDA in every `GPU_VARIANTS` setting."""
    for preset, steps in presets:
        clips_per_second, peak = training_throughput(preset, batch_size=4, steps=steps)
        report(f"train_{preset}_cpu_fp32_batch4", clips_per_second, "clips/s")
        report(f"train_{preset}_cpu_fp32_batch4_peak_rss", peak, "MB")
    if cuda_variants and torch.cuda.is_available():
        for variant, options in GPU_VARIANTS.items():
            clips_per_second, peak = training_throughput("ravdess", batch_size=4, steps=10, device="cuda", **options)
            report(f"train_ravdess_cuda_{variant}_batch4", clips_per_second, "clips/s")
            report(f"train_ravdess_cuda_{variant}_batch4_peak_memory", peak, "MB")


def report_inference_figures(quick: bool) -> None:
    """Figure (c): inference latency per clip, p50 and p95, at batch 1 and 8 (tiny preset with `quick`; the published
    size runs 20 calls at batch 1 and 10 at batch 8)."""
    preset = "tiny" if quick else "ravdess"
    for batch_size, full_calls in ((1, 20), (8, 10)):
        p50, p95 = inference_latency(preset, batch_size, calls=10 if quick else full_calls)
        report(f"infer_{preset}_batch{batch_size}_p50", p50, "ms/clip", higher_is_better=False)
        report(f"infer_{preset}_batch{batch_size}_p95", p95, "ms/clip", higher_is_better=False)


def report_fusion_figures(quick: bool) -> None:
    """Figure (d): the vectorised fusion block against the per-sample loop, forward + backward, batch 16."""
    vectorised, looped, speedup = fusion_speedup(batch_size=16, repeats=5 if quick else 20)
    report("fusion_fwd_bwd_batch16_vectorised", vectorised, "ms", higher_is_better=False)
    report("fusion_fwd_bwd_batch16_per_sample_loop", looped, "ms", higher_is_better=False)
    report("fusion_speedup_over_loop", speedup, "x", target=FUSION_SPEEDUP_TARGET)


def report_memory_figures(quick: bool) -> None:
    """Figure (e): RSS after 1,000 inference calls against after 10."""
    at_ten, at_end, growth = rss_growth(calls=1000, quick=quick)
    report("inference_rss_after_10_calls", at_ten, "MB", higher_is_better=False)
    report("inference_rss_after_1000_calls", at_end, "MB", higher_is_better=False)
    report("inference_rss_growth_10_to_1000_calls", growth, "MB", target=RSS_GROWTH_TARGET_MB, higher_is_better=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions, one timed published-size training step, tiny-preset "
        "latency, a smaller clip for the memory figure"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    # the peak RSS is the process's peak so far: the tiny preset first, the published size (the largest) last
    report_training_figures([("tiny", 3 if args.quick else 5)])
    report_fusion_figures(args.quick)
    report_memory_figures(args.quick)
    report_inference_figures(args.quick)
    report_training_figures([("ravdess", 1 if args.quick else 3)], cuda_variants=True)


if __name__ == "__main__":
    main()
