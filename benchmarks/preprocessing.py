"""Preprocessing throughput: how many 720p clips per second the processor turns into model inputs, in DataLoader
workers (1 and 2) and in one process pinned to one core.

Writes a 3 s 1280x720 H.264/AAC clip at 29.97 fps (libx264 "medium" at CRF 16, as typical ffmpeg output, with
B-frames) with a drawn face under camera-like noise, at about RAVDESS's own bitrate (10 Mbit/s), stereo 48 kHz audio and
an OpenFace landmark CSV, then times `TACFNProcessor` (the published settings: 30
face crops of 224x224, 13 MFCC) on it:
- through a `torch.utils.data.DataLoader` over copies of the clip's path whose collate function calls the processor,
  batch 4, with 1 and with 2 worker processes, each worker limited to one thread everywhere (BLAS via threadpoolctl,
  torch, OpenCV) as the training recipe runs them;
- in this process, pinned to one CPU core, with landmarks, with the face detector and with augmentation, and the frame
  decoding alone with PyAV and with decord.

Run as `python -m benchmarks.preprocessing [--quick] [--clips N]`. Prints one JSON object per line:
`{"name", "value", "unit", "target", "meets"}`; `target` / `meets` are `null` for figures without a target.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import decord
import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch.utils.data import DataLoader

from benchmarks.report import report
from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor
from processing.media_io_tacfn import read_video_frames
from processing.media_writing import write_clip
from tests import media


TARGET_CLIPS_PER_SECOND = 5.0
FPS = 30000 / 1001
FACE_BOX = (500, 180, 780, 560)
LOADER_BATCH_SIZE = 4
# libx264 "medium" (B-frames, CABAC) at CRF 16 on frames with +-5 grey levels of noise: about 10.6 Mbit/s, the bitrate
# of RAVDESS's own 1280x720 clips (24.8 GB for 7,356 files)
RAVDESS_LIKE_ENCODING = {"preset": "medium", "crf": "16"}
SENSOR_NOISE = 5


def write_benchmark_clip(folder: Path) -> tuple[Path, Path]:
    """The 3 s 720p H.264/AAC clip with a face and camera-like noise at RAVDESS's bitrate, and its OpenFace CSV."""
    num_frames = round(3 * FPS)
    frames = with_sensor_noise(media.face_frames(num_frames, 720, 1280, face_box=FACE_BOX))
    audio = media.speech_like_audio(3.0, 48000, channels=2)
    video = write_clip(folder / "clip.mp4", frames, FPS, audio, 48000, encoder_options=RAVDESS_LIKE_ENCODING)
    csv = media.write_openface_csv(folder / "clip.csv", media.face_landmarks(num_frames, FACE_BOX), FPS)
    return video, Path(csv)


def with_sensor_noise(frames: np.ndarray) -> np.ndarray:
    """Frames with independent uniform noise of +-`SENSOR_NOISE` grey levels per pixel, as a camera's: a drawn face
    alone compresses to a seventh of a real clip's bitrate, and decoding time grows with the bitrate."""
    rng = np.random.default_rng(0)
    noise = rng.integers(-SENSOR_NOISE, SENSOR_NOISE + 1, frames.shape, dtype=np.int16)
    return np.clip(frames.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def limit_to_one_thread() -> None:
    """One thread in every library this process uses: BLAS (OpenBLAS threads crowded onto one core make the feature
    extractor's small mel projection some 30x slower), torch and OpenCV. PyAV decodes on one thread already."""
    threadpool_limits(limits=1, user_api="blas")
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def pin_to_one_core() -> None:
    """Restrict every thread of this process (and threads it starts later) to one CPU core, and every library to one
    thread."""
    limit_to_one_thread()
    core = min(os.sched_getaffinity(0))
    for thread_id in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(thread_id), {core})


class ClipCollator:
    """DataLoader `collate_fn`: a list of video paths -> the processor's batch, every clip cropped with `landmarks`.

    Args:
        processor (`TACFNProcessor`): The processor to run in the workers.
        landmarks (`str`): The OpenFace CSV of the clip.
    """

    def __init__(self, processor: TACFNProcessor, landmarks: str):
        self.processor = processor
        self.landmarks = landmarks

    def __call__(self, paths: list[str]) -> dict:
        return self.processor(videos=paths, landmarks=[self.landmarks] * len(paths), return_tensors="pt")


def worker_init(worker_id: int) -> None:
    """DataLoader `worker_init_fn`: each worker on one thread (its argument, the worker index, is unused)."""
    limit_to_one_thread()


def dataloader_throughput(video: Path, csv: Path, num_workers: int, num_clips: int) -> float:
    """Clips per second a DataLoader with `num_workers` worker processes delivers over `num_clips` copies of the clip,
    in batches of `LOADER_BATCH_SIZE`, timed over a second pass once the workers are started and warm."""
    processor = TACFNProcessor(TACFNFeatureExtractor(), TACFNVideoProcessor())
    loader = DataLoader(
        [str(video)] * num_clips,
        batch_size=LOADER_BATCH_SIZE,
        num_workers=num_workers,
        collate_fn=ClipCollator(processor, str(csv)),
        worker_init_fn=worker_init,
        persistent_workers=True,
    )
    for _ in loader:
        pass
    start = time.perf_counter()
    delivered = sum(len(batch["pixel_values_videos"]) for batch in loader)
    return delivered / (time.perf_counter() - start)


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


def report_dataloader_figures(video: Path, csv: Path, num_clips: int) -> None:
    """Figure (a): clips/s through a DataLoader with 1 and with 2 workers."""
    for num_workers, suffix in ((1, "1_worker"), (2, "2_workers")):
        clips_per_second = dataloader_throughput(video, csv, num_workers, num_clips)
        report(f"preprocess_720p_landmark_crop_{suffix}", clips_per_second, "clips/s")


def report_single_core_figures(video: Path, csv: Path, num_clips: int) -> None:
    """Clips/s of the processor in this process pinned to one core, and the cost of decoding frames alone."""
    pin_to_one_core()
    processor = TACFNProcessor(TACFNFeatureExtractor(), TACFNVideoProcessor())
    wall, cpu = time_clips(processor, num_clips, videos=str(video), landmarks=str(csv))
    report("preprocess_720p_landmark_crop", num_clips / wall, "clips/s", TARGET_CLIPS_PER_SECOND)
    report("preprocess_720p_landmark_crop_cpu", num_clips / cpu, "clips/cpu-s")
    wall, _ = time_clips(processor, num_clips, videos=str(video))
    report("preprocess_720p_face_detector", num_clips / wall, "clips/s")
    wall, _ = time_clips(processor, num_clips, videos=str(video), landmarks=str(csv), do_augment=True)
    report("preprocess_720p_landmark_crop_augmented", num_clips / wall, "clips/s")
    pyav_seconds, decord_seconds = time_frame_readers(video, num_clips)
    report("read_30_frames_720p_pyav", 1000 * pyav_seconds, "ms/clip", higher_is_better=False)
    report("read_30_frames_720p_decord", 1000 * decord_seconds, "ms/clip", higher_is_better=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer clips per setting (default 8 instead of 20)")
    parser.add_argument("--clips", type=int, help="clips to time per setting (default 20, 8 with --quick)")
    arguments = parser.parse_args(argv)
    num_clips = arguments.clips or (8 if arguments.quick else 20)

    with tempfile.TemporaryDirectory() as folder:
        video, csv = write_benchmark_clip(Path(folder))
        # the DataLoader figures first: pinning this process to one core would also pin the workers it forks
        report_dataloader_figures(video, csv, 2 * num_clips)
        report_single_core_figures(video, csv, num_clips)


if __name__ == "__main__":
    main()
