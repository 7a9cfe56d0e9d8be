"""The web demo under load: `tacfn demo` served on the loopback interface, driven by concurrent `gradio_client`
clients uploading real clips, some of them broken, and then by a burst beyond its queue and an upload beyond its size
limit.

    python -m benchmarks.web_demo_load [--clients 8] [--uploads 10] [--rounds 2] [--quick]

Every good upload must get the answer of the pipeline run alone, every broken one a clear message, and the server must
stay up; the figures are the failed requests of each kind, the requests per second, the latency, the server's RSS
growth over each round of the clients (the first includes the warm-up of concurrent serving; growth that goes on in
later rounds would be a leak), and what the queue and size limits turned away. The run is bounded (a deadline per
request and for the server's start) and stops the server by itself. The tiny preset model (random weights) answers:
the figures are those of the serving, not of a large model.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import torch
from gradio_client import Client, handle_file

from benchmarks.report import report
from hub_configs.presets import model_config, processor_for
from inference.demo_clips import write_demo_clips
from inference.model_folder import load_classifier
from modeling_tacfn import TACFNForAudioVisualClassification
from processing import save_pipeline
from processing.media_writing import write_clip


REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER_START_SECONDS = 180
REQUEST_SECONDS = 120
# the limits the served demo runs with: small, so that a long clip and a big upload are cheap to make
MAX_SECONDS = 5.0
MAX_UPLOAD_MB = 2.0
MAX_QUEUE = 16
# one upload in BROKEN_EVERY is a broken file (the second of the first client, the first of the second, ...)
BROKEN_EVERY = 4
# what the page must say for each kind of broken upload
BROKEN_MESSAGES = {
    "not_a_video.mp4": "cannot be used",
    "cut_off.mp4": "cannot be used",
    "too_long.mp4": "the demo takes recordings of up to",
}


@dataclass
class Outcomes:
    """What came of the requests of a run (appended from the client threads)."""

    latencies: list = field(default_factory=list)
    wrong_answers: list = field(default_factory=list)
    good_failed: list = field(default_factory=list)
    unclear_messages: list = field(default_factory=list)
    broken_refused: int = 0


def write_model(folder: Path) -> Path:
    """The tiny preset model (random weights, seed 0) saved with its processor and pipeline."""
    torch.manual_seed(0)
    config = model_config("tiny")
    TACFNForAudioVisualClassification(config).eval().save_pretrained(folder)
    processor_for(config).save_pretrained(folder)
    save_pipeline(folder)
    return folder


def write_uploads(folder: Path) -> tuple[list[Path], dict[str, Path], Path]:
    """The good clips (the demo clips), the broken ones by name, and a file over the upload limit."""
    good = write_demo_clips(folder / "good")
    source = good[0].read_bytes()
    broken = {name: folder / name for name in BROKEN_MESSAGES}
    broken["not_a_video.mp4"].write_text("this is a text file, not a video\n")
    broken["cut_off.mp4"].write_bytes(source[: len(source) // 3])
    frames = np.zeros((int(MAX_SECONDS * 2 + 4), 32, 32, 3), dtype=np.uint8)  # a 2 fps clip past the length limit
    write_clip(broken["too_long.mp4"], frames, 2.0, None, 16000)
    oversized = folder / "oversized.mp4"
    oversized.write_bytes(os.urandom(int((MAX_UPLOAD_MB + 1) * 1024 * 1024)))
    return good, broken, oversized


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def repository_environment(**extra: str) -> dict:
    """This process's environment, offline and without Gradio's usage reports, with the repository first on
    PYTHONPATH (for `python -m` of its modules in a child process), and `extra`."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **extra}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")]))
    return environment


def start_server(command: list[str], log_path: Path, env: dict | None = None) -> subprocess.Popen:
    """Start a demo server from the repository root, its output going to `log_path`."""
    log = open(log_path, "w")
    environment = repository_environment(**(env or {}))
    return subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def start_demo(model_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    """`tacfn demo` on 127.0.0.1 with the benchmark's limits, its output going to `log_path`."""
    command = [sys.executable, "-m", "inference.cli", "demo", "--model", str(model_dir), "--port", str(port)]
    command += ["--max-seconds", str(MAX_SECONDS), "--max-upload-mb", str(MAX_UPLOAD_MB), "--max-queue", str(MAX_QUEUE)]
    return start_server(command, log_path)


def connect(url: str, server: subprocess.Popen, log_path: Path) -> Client:
    """A client of the demo once it answers; `RuntimeError` with the server's log when it exits or never does."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the demo exited with {server.returncode}:\n{log_path.read_text()}")
        try:
            return Client(url, verbose=False)
        except Exception:  # noqa: BLE001 - not listening yet
            time.sleep(0.5)
    raise RuntimeError(f"the demo did not answer within {SERVER_START_SECONDS} s:\n{log_path.read_text()}")


def server_rss_mb(server: subprocess.Popen) -> float:
    """Resident memory of the server process, MB."""
    return psutil.Process(server.pid).memory_info().rss / 2**20


def upload(client: Client, path: Path) -> dict:
    """One upload through the page's API (waiting up to `REQUEST_SECONDS`); returns `{label: confidence}`."""
    label, *_ = client.submit(handle_file(str(path)), None, api_name="/recognise").result(timeout=REQUEST_SECONDS)
    return {item["label"]: item["confidence"] for item in label["confidences"]}


def run_client(url: str, client_index: int, uploads: int, good: list, broken: dict, expected: dict, outcomes: Outcomes):
    """One client's uploads: mostly good clips, every `BROKEN_EVERY`-th a broken one."""
    client = Client(url, verbose=False)
    broken_names = sorted(broken)
    for number in range(uploads):
        is_broken = (client_index + number) % BROKEN_EVERY == 1
        path = broken[broken_names[(client_index * uploads + number) % len(broken_names)]] if is_broken else None
        path = path or good[(client_index + number) % len(good)]
        start = time.perf_counter()
        try:
            answer = upload(client, path)
        except Exception as error:  # noqa: BLE001 - every failure is sorted and counted
            if not is_broken:
                outcomes.good_failed.append(f"{path.name}: {error}")
            elif BROKEN_MESSAGES[path.name] not in str(error):
                outcomes.unclear_messages.append(f"{path.name}: {error}")
            else:
                outcomes.broken_refused += 1
            continue
        finally:
            outcomes.latencies.append(time.perf_counter() - start)
        if is_broken:
            outcomes.unclear_messages.append(f"{path.name}: answered {answer}")
        elif not same_answer(answer, expected[path]):
            outcomes.wrong_answers.append(f"{path.name}: {answer} != {expected[path]}")


def same_answer(answer: dict, expected: dict) -> bool:
    """Whether the page's confidences are the pipeline's scores (to float rounding)."""
    return answer.keys() == expected.keys() and all(abs(answer[label] - expected[label]) < 1e-4 for label in expected)


def queue_burst(client: Client, clip: Path, count: int) -> tuple[int, int]:
    """Submit `count` uploads at once; `(answered, turned away because the queue was full)`."""
    jobs = [client.submit(handle_file(str(clip)), None, api_name="/recognise") for _ in range(count)]
    answered = full = 0
    for job in jobs:
        try:
            job.result(timeout=REQUEST_SECONDS)
            answered += 1
        except Exception as error:  # noqa: BLE001 - the queue's refusal is what is counted
            full += "queue is full" in str(error).lower()
    return answered, full


def oversized_upload_message(client: Client, path: Path) -> str:
    """What the server says to an upload over its size limit."""
    try:
        upload(client, path)
    except Exception as error:  # noqa: BLE001 - the refusal is the result
        return str(error)
    return ""


class RssSampler(threading.Thread):
    """The server's peak RSS, sampled every 0.2 s until `stop()`."""

    def __init__(self, server: subprocess.Popen):
        super().__init__(daemon=True)
        self.server, self.peak, self.done = server, 0.0, threading.Event()

    def run(self):
        while not self.done.wait(0.2):
            self.peak = max(self.peak, server_rss_mb(self.server))

    def stop(self) -> float:
        self.done.set()
        self.join()
        return self.peak


def run_load(model_dir: Path, folder: Path, clients: int, uploads: int, rounds: int = 1, burst: bool = True) -> dict:
    """Serve the demo, run the load (`rounds` times, to tell the first round's warm-up from a leak), the queue burst
    and the oversized upload; returns the figures by name."""
    good, broken, oversized = write_uploads(folder)
    classifier = load_classifier(str(model_dir), device="cpu")
    num_labels = classifier.model.config.num_labels
    expected = {
        clip: {item["label"]: item["score"] for item in classifier(str(clip), top_k=num_labels)}
        for clip in good
    }
    port, log_path = free_port(), folder / "server.log"
    server = start_demo(model_dir, port, log_path)
    url = f"http://127.0.0.1:{port}/"
    try:
        client = connect(url, server, log_path)
        upload(client, good[0])  # warm-up: the first request loads what the later ones reuse
        rss_before, sampler, outcomes = server_rss_mb(server), RssSampler(server), Outcomes()
        rss_after_rounds = []
        sampler.start()
        start = time.perf_counter()
        for _ in range(rounds):
            with ThreadPoolExecutor(clients) as pool:
                runs = [
                    pool.submit(run_client, url, index, uploads, good, broken, expected, outcomes)
                    for index in range(clients)
                ]
            for run in runs:
                run.result()  # a client that could not even connect fails the benchmark
            rss_after_rounds.append(server_rss_mb(server))
        seconds = time.perf_counter() - start
        figures = {
            "requests": len(outcomes.latencies),
            "good_requests_failed": len(outcomes.good_failed),
            "good_requests_wrong_answer": len(outcomes.wrong_answers),
            "broken_requests_refused_clearly": outcomes.broken_refused,
            "broken_requests_unclear": len(outcomes.unclear_messages),
            "requests_per_second": len(outcomes.latencies) / seconds,
            "latency_p50_s": statistics.median(outcomes.latencies),
            "latency_p95_s": statistics.quantiles(outcomes.latencies, n=20)[-1],
            "server_rss_before_mb": rss_before,
            "server_rss_peak_mb": sampler.stop(),
            # growth over each round: (round 1 - before, round 2 - round 1, ...)
            "server_rss_growth_mb": list(np.diff([rss_before, *rss_after_rounds])),
            "failures": outcomes.good_failed + outcomes.wrong_answers + outcomes.unclear_messages,
        }
        if burst:
            figures["burst_answered"], figures["burst_queue_full"] = queue_burst(client, good[0], MAX_QUEUE + 8)
        figures["oversized_upload_message"] = oversized_upload_message(client, oversized)
        figures["server_alive"] = server.poll() is None and same_answer(upload(client, good[0]), expected[good[0]])
    finally:
        stop_server(server)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web_demo_load", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default: 8)")
    parser.add_argument("--uploads", type=int, default=10, help="uploads per client (default: 10)")
    parser.add_argument("--rounds", type=int, default=2, help="times the clients run (default: 2, to see a leak)")
    parser.add_argument("--quick", action="store_true", help="2 clients x 3 uploads")
    args = parser.parse_args(argv)
    clients, uploads = (2, 3) if args.quick else (args.clients, args.uploads)
    with tempfile.TemporaryDirectory(prefix="tacfn-demo-load-") as scratch:
        scratch = Path(scratch)
        figures = run_load(write_model(scratch / "model"), scratch, clients, uploads, rounds=args.rounds)
    name = f"web_demo_{clients}x{uploads}"
    report(f"{name}_good_requests_failed", figures["good_requests_failed"] + figures["good_requests_wrong_answer"],
           "requests", target=0, higher_is_better=False)  # fmt: skip
    report(f"{name}_broken_requests_unclear", figures["broken_requests_unclear"], "requests", target=0,
           higher_is_better=False)  # fmt: skip
    report(f"{name}_broken_requests_refused_clearly", figures["broken_requests_refused_clearly"], "requests")
    report(f"{name}_throughput", figures["requests_per_second"], "requests/s")
    report(f"{name}_latency_p50", figures["latency_p50_s"], "s")
    report(f"{name}_latency_p95", figures["latency_p95_s"], "s")
    report(f"{name}_server_rss_before", figures["server_rss_before_mb"], "MB")
    report(f"{name}_server_rss_peak", figures["server_rss_peak_mb"], "MB")
    for round_number, growth in enumerate(figures["server_rss_growth_mb"], start=1):
        report(f"{name}_server_rss_growth_round_{round_number}", growth, "MB")
    report(f"{name}_queue_burst_{MAX_QUEUE + 8}_turned_away", figures["burst_queue_full"], "requests")
    report(f"{name}_server_alive", float(figures["server_alive"]), "bool", target=1)
    for failure in figures["failures"]:
        print(f"failure: {failure}", file=sys.stderr)
    print(f"oversized upload: {figures['oversized_upload_message']}", file=sys.stderr)


if __name__ == "__main__":
    main()
