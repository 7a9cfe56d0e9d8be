"""`tacfn predict` over a folder of many clips with a few broken ones, results streamed to a JSON-lines file: clips
per second and the peak RSS of the run at two folder sizes (bounded memory: the peak must not grow with the clip
count), and the failures it summarised.

    python -m benchmarks.batch_prediction [--clips 1000] [--quick]

The folder holds hard links to the demo clips (real H.264/AAC mp4 files, 256x256, 3 s) under distinct names and, one in
every `BROKEN_EVERY`, a truncated copy; the tiny preset model (random weights) answers.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.report import report
from benchmarks.web_demo_load import repository_environment, write_model
from inference.demo_clips import write_demo_clips


BROKEN_EVERY = 100


def write_folder(folder: Path, num_clips: int, sources: list[Path]) -> int:
    """`num_clips` clips in `folder`: links to `sources` in turn, a truncated copy one in every `BROKEN_EVERY`;
    returns how many are broken."""
    folder.mkdir(parents=True)
    cut = folder.parent / "cut.bin"
    cut.write_bytes(sources[0].read_bytes()[: sources[0].stat().st_size // 3])
    broken = 0
    for index in range(num_clips):
        is_broken = index % BROKEN_EVERY == BROKEN_EVERY - 1
        broken += is_broken
        os.link(cut if is_broken else sources[index % len(sources)], folder / f"clip_{index:05d}.mp4")
    return broken


def run_predict(model_dir: Path, folder: Path, output: Path) -> tuple[float, float, int, str]:
    """`tacfn predict FOLDER --output OUTPUT` in its own process; `(seconds, peak RSS in MB, exit code, the end of
    its stderr)`."""
    command = [sys.executable, "-m", "inference.cli", "predict", str(folder), "--model", str(model_dir)]
    command += ["--output", str(output), "--quiet"]
    start, peak = time.perf_counter(), 0.0
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(command, env=repository_environment(), stderr=errors)
        watched = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                peak = max(peak, watched.memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                break
            time.sleep(0.2)
        process.wait()
        errors.seek(0)
        tail = errors.read()[-300:]
    return time.perf_counter() - start, peak, process.returncode, tail


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch_prediction", description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000, help="clips in the large folder (default: 1000)")
    parser.add_argument("--quick", action="store_true", help="folders of 20 and 100 clips")
    args = parser.parse_args(argv)
    sizes = (20, 100) if args.quick else (args.clips // 10, args.clips)
    with tempfile.TemporaryDirectory(prefix="tacfn-batch-") as scratch:
        scratch = Path(scratch)
        model_dir = write_model(scratch / "model")
        sources = write_demo_clips(scratch / "sources")
        peaks = []
        for size in sizes:
            broken = write_folder(scratch / f"clips_{size}", size, sources)
            output = scratch / f"results_{size}.jsonl"
            seconds, peak, code, tail = run_predict(model_dir, scratch / f"clips_{size}", output)
            lines = output.read_text().splitlines()
            report(f"batch_predict_{size}_clips_throughput", size / seconds, "clips/s")
            report(f"batch_predict_{size}_clips_peak_rss", peak, "MB")
            report(f"batch_predict_{size}_clips_results_written", len(lines), "records", target=size)
            summarised = float(f"{broken} of {size} clips could not be read" in tail)
            report(f"batch_predict_{size}_clips_failures_summarised", summarised, "bool", target=1)
            peaks.append(peak)
            if code != (1 if broken else 0):
                raise SystemExit(f"tacfn predict exited with {code}: {tail}")
        report(f"batch_predict_peak_rss_{sizes[1]}_over_{sizes[0]}_clips", peaks[1] / peaks[0], "x", target=1.1,
               higher_is_better=False)  # fmt: skip


if __name__ == "__main__":
    main()
