"""Every benchmark, and the targets that compare figures of different benchmarks.

    python -m benchmarks            # the full set
    python -m benchmarks --quick    # fewer repetitions; under 3 minutes on 2 CPU cores

Each benchmark module runs in a process of its own (`python -m benchmarks.<module>`), so that one's settings (the
preprocessing benchmark pins itself to one core) and memory peaks do not leak into another's. Their lines are printed
as they come, then the cross-benchmark target lines; the machine's load average before and after frames them (figures
taken while other processes compete for the cores are slower than the code). Every line is one JSON object `{"name",
"value", "unit", "target", "meets"}`; `target` / `meets` are `null` for figures without a target.
`benchmarks/README.md` keeps the latest figures.
"""

import argparse
import json
import os
import subprocess
import sys

from benchmarks.report import report


MODULES = ("preprocessing", "model", "encoders", "clip_store", "speed_levers")
# preprocessing with 2 DataLoader workers delivers clips at least as fast as the published-size model trains on them
KEEPS_UP_TARGET = 1.0
PREPROCESSING_FIGURE = "preprocess_720p_landmark_crop_2_workers"
TRAINING_FIGURE = "train_ravdess_cpu_fp32_batch4"
# the fastest published-size training figure there is: on a GPU machine with bf16 and channels_last_3d, else the CPU's
FASTEST_TRAINING_FIGURES = ("train_ravdess_cuda_bf16_channels_last_3d_batch4", TRAINING_FIGURE)
STORE_LOADING_FIGURE = "store_load_published_size_one_core"
DECODING_FIGURE = "decode_on_the_fly_10mbps_one_core"


def run_module(module: str, quick: bool) -> dict[str, float]:
    """Run `python -m benchmarks.<module>`, echo its output lines as they come and return its figures by name.

    Args:
        module: Name of the benchmark module inside `benchmarks`.
        quick: Pass `--quick` to it.

    Raises:
        SystemExit: The module failed; its exit status and name are given.
    """
    command = [sys.executable, "-m", f"benchmarks.{module}"] + (["--quick"] if quick else [])
    figures = {}
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith("{"):
                figure = json.loads(line)
                figures[figure["name"]] = figure["value"]
    if process.returncode != 0:
        raise SystemExit(f"benchmarks.{module} failed with exit status {process.returncode}")
    return figures


def report_cross_targets(figures: dict[str, float]) -> None:
    """Lines that need figures of two benchmarks: preprocessing with 2 workers keeps up with training of the
    published-size model on the same machine (clips/s ratio >= 1), and how many CPU cores it takes to feed the fastest
    published-size training measured (a GPU's where there is one) from the clip store and from the files."""
    ratio = figures[PREPROCESSING_FIGURE] / figures[TRAINING_FIGURE]
    report("preprocess_2_workers_keeps_up_with_training", ratio, "x", target=KEEPS_UP_TARGET)
    training = next(name for name in FASTEST_TRAINING_FIGURES if name in figures)
    device = "cuda" if "cuda" in training else "cpu"
    # cores that feed one training device: its clips/s over one core's clips/s from the store or from the files
    report(f"store_loading_cores_per_{device}_trainer", figures[training] / figures[STORE_LOADING_FIGURE], "cores")
    report(f"decoding_cores_per_{device}_trainer", figures[training] / figures[DECODING_FIGURE], "cores")


def report_machine_load(when: str) -> None:
    """The 1-minute load average (runnable processes) next to the CPU count: on a shared machine, figures taken while
    other work runs are slower than the code is."""
    report(f"machine_load_average_{when}", os.getloadavg()[0], f"processes on {os.cpu_count()} CPUs")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short run (under 3 minutes on 2 CPU cores)")
    args = parser.parse_args(argv)
    report_machine_load("before")
    figures = {}
    for module in MODULES:
        figures.update(run_module(module, args.quick))
    report_cross_targets(figures)
    report_machine_load("after")


if __name__ == "__main__":
    main()
