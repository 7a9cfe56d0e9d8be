"""Preprocessing throughput: how many clips per second one DataLoader worker turns into model inputs.

Writes a 3 s 1280x720 H.264/AAC clip at 29.97 fps (libx264 "medium", as typical ffmpeg output, with B-frames) with a
drawn face, stereo 48 kHz audio and an OpenFace landmark CSV, then times `TACFNProcessor` on it in this process,
pinned to one CPU core with one thread everywhere (PyAV, OpenCV, torch, BLAS), as in a DataLoader worker.

Run as `python -m benchmarks.preprocessing [--clips N]`. Prints one JSON object per line:
`{"name", "value", "unit", "target", "meets"}`; `target` / `meets` are `null` for figures without a target.
"""

import os


# one BLAS / OpenMP thread, as a DataLoader worker should run; set before NumPy loads. (OpenBLAS threads crowded onto
# one core make the feature extractor's small mel projection some 30x slower.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import decord  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.report import report  # noqa: E402
from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor  # noqa: E402
from processing.media_io_tacfn import read_video_frames  # noqa: E402
from tests import media  # noqa: E402


TARGET_CLIPS_PER_SECOND = 5.0
FPS = 30000 / 1001
FACE_BOX = (500, 180, 780, 560)


def write_benchmark_clip(folder: Path) -> tuple[Path, Path]:
    """The 3 s 720p H.264/AAC clip with a face, and its OpenFace CSV."""
    num_frames = round(3 * FPS)
    frames = media.face_frames(num_frames, 720, 1280, face_box=FACE_BOX)
    audio = media.speech_like_audio(3.0, 48000, channels=2)
    video = media.write_video(folder / "clip.mp4", frames, FPS, audio=audio, encoder_options={"preset": "medium"})
    csv = media.write_openface_csv(folder / "clip.csv", media.face_landmarks(num_frames, FACE_BOX), FPS)
    return Path(video), Path(csv)


def pin_to_one_core() -> None:
    """Restrict every thread of this process (and threads it starts later) to one CPU core, and every library to one
    thread."""
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    core = min(os.sched_getaffinity(0))
    for thread_id in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(thread_id), {core})


def time_clips(processor: TACFNProcessor, num_clips: int, **inputs) -> tuple[float, float]:
    """Process the same clip `num_clips` times after one warm-up call; return (wall seconds, CPU seconds)."""
    processor(**inputs)
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(num_clips):
        processor(**inputs)
    return time.perf_counter() - wall_start, time.process_time() - cpu_start


def time_frame_readers(video: Path, num_clips: int) -> tuple[float, float]:
    """Seconds per clip to decode the 30 sampled frames with PyAV (as the processor does) and with decord
    (`VideoReader(...).get_batch`, one thread), on their own."""

    def with_pyav():
        read_video_frames(str(video), lambda total: (np.arange(30) * total) // 30)

    def with_decord():
        reader = decord.VideoReader(str(video), ctx=decord.cpu(0), num_threads=1)
        reader.get_batch(((np.arange(30) * len(reader)) // 30).tolist()).asnumpy()

    timings = []
    for read in (with_pyav, with_decord):
        read()
        start = time.perf_counter()
        for _ in range(num_clips):
            read()
        timings.append((time.perf_counter() - start) / num_clips)
    return timings[0], timings[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=20, help="clips to time per setting (default 20)")
    arguments = parser.parse_args()

    pin_to_one_core()
    processor = TACFNProcessor(TACFNFeatureExtractor(), TACFNVideoProcessor())
    with tempfile.TemporaryDirectory() as folder:
        video, csv = write_benchmark_clip(Path(folder))
        wall, cpu = time_clips(processor, arguments.clips, videos=str(video), landmarks=str(csv))
        report("preprocess_720p_landmark_crop", arguments.clips / wall, "clips/s", TARGET_CLIPS_PER_SECOND)
        report("preprocess_720p_landmark_crop_cpu", arguments.clips / cpu, "clips/cpu-s")
        wall, _ = time_clips(processor, arguments.clips, videos=str(video))
        report("preprocess_720p_face_detector", arguments.clips / wall, "clips/s")
        wall, _ = time_clips(processor, arguments.clips, videos=str(video), landmarks=str(csv), do_augment=True)
        report("preprocess_720p_landmark_crop_augmented", arguments.clips / wall, "clips/s")
        pyav_seconds, decord_seconds = time_frame_readers(video, arguments.clips)
        report("read_30_frames_720p_pyav", 1000 * pyav_seconds, "ms/clip", higher_is_better=False)
        report("read_30_frames_720p_decord", 1000 * decord_seconds, "ms/clip", higher_is_better=False)


if __name__ == "__main__":
    main()
