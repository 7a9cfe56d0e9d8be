"""Clip store figures: building a store at the published size from clips at RAVDESS's bitrate, its size per clip (and
for all of RAVDESS and IEMOCAP), loading batches from it into training tensors against decoding the same clips on the
fly, and the batch augmentation's cost on this CPU (and on a GPU where there is one).

Writes the preprocessing benchmark's 3 s 1280x720 clip (about 10 Mbit/s) under RAVDESS names into a RAVDESS-format
tree, builds a store of it with the published settings (30 face crops of 224x224 from the OpenFace CSV, 13 MFCC) with
`build_clip_store`, then, in this process pinned to one core:
- `StoreClips` batches of 8 in a random order, collated by `collate_store_clips` (uint8 frames, MFCC, labels and
  augmentation seeds: what a DataLoader worker hands the Trainer), over several passes;
- the processor on the clip file, as on-the-fly training decodes it;
- `stored_frames_to_pixel_values` on batches of 8: normalisation alone, and with the random resized crop and flip.

Run as `python -m benchmarks.clip_store [--quick]`. Prints one JSON object per line: `{"name", "value", "unit",
"target", "meets"}`; `target` / `meets` are `null` for figures without a target.
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.preprocessing import pin_to_one_core, time_clips, write_benchmark_clip
from benchmarks.report import report
from hub_configs.presets import model_config, processor_for
from training.data.clip_store import SHARD_FOLDER, build_clip_store
from training.splits import AugmentationEpoch
from training.store_training import StoreClips, collate_store_clips, stored_frames_to_pixel_values


LOAD_TARGET_CLIPS_PER_SECOND = 300.0
LOAD_SPEEDUP_TARGET = 200.0
BATCH_SIZE = 8
# clips in the published settings: RAVDESS's audio-video speech clips, IEMOCAP's 4-class utterances
RAVDESS_CLIPS, IEMOCAP_CLIPS = 1440, 5531


def write_ravdess_tree(folder: Path, video: Path, csv: Path, num_clips: int) -> Path:
    """`num_clips` copies of the benchmark clip and its CSV under RAVDESS names of actor 1 (emotion, intensity,
    statement and repetition varied), as `prepare_ravdess` reads them."""
    actor = folder / "Actor_01"
    actor.mkdir(parents=True)
    names = [
        f"01-01-{emotion:02d}-{intensity:02d}-{statement:02d}-{repetition:02d}-01"
        for repetition in (1, 2) for statement in (1, 2) for intensity in (1, 2) for emotion in range(1, 9)
    ]  # fmt: skip
    for name in names[:num_clips]:
        shutil.copyfile(video, actor / f"{name}.mp4")
        shutil.copyfile(csv, actor / f"{name}.csv")
    return folder


def loading_throughput(store_clips: StoreClips, passes: int) -> float:
    """Clips per second from `StoreClips` batches in a random order to collated training tensors."""
    generator = torch.Generator().manual_seed(0)
    delivered, start = 0, time.perf_counter()
    for _ in range(passes):
        order = torch.randperm(len(store_clips), generator=generator).tolist()
        for first in range(0, len(order), BATCH_SIZE):
            batch = collate_store_clips(store_clips.__getitems__(order[first : first + BATCH_SIZE]))
            delivered += len(batch["frames"])
    return delivered / (time.perf_counter() - start)


def augmentation_throughput(frames: torch.Tensor, video_processor, augment: bool, repeats: int) -> float:
    """Clips per second of `stored_frames_to_pixel_values` on a batch of stored frames on their device."""
    seeds = torch.arange(len(frames)) if augment else None
    stored_frames_to_pixel_values(frames, video_processor, seeds)
    synchronize = torch.cuda.synchronize if frames.is_cuda else (lambda: None)
    synchronize()
    start = time.perf_counter()
    for _ in range(repeats):
        stored_frames_to_pixel_values(frames, video_processor, seeds)
    synchronize()
    return repeats * len(frames) / (time.perf_counter() - start)


def report_store_figures(folder: Path, num_clips: int, passes: int, repeats: int) -> None:
    video, csv = write_benchmark_clip(folder)
    tree = write_ravdess_tree(folder / "tree", video, csv, num_clips)
    processor = processor_for(model_config("ravdess"))
    pin_to_one_core()
    start = time.perf_counter()
    store = build_clip_store("ravdess", tree, folder / "store", processor, clips_per_shard=8, progress=False)
    report("store_build_720p_one_core", num_clips / (time.perf_counter() - start), "clips/s")
    megabytes = sum(path.stat().st_size for path in (folder / "store" / SHARD_FOLDER).glob("*.arrow")) / 1e6
    report("store_size_per_clip", megabytes / num_clips, "MB")
    report("store_size_ravdess_speech", megabytes / num_clips * RAVDESS_CLIPS / 1e3, "GB")
    report("store_size_iemocap_4_class", megabytes / num_clips * IEMOCAP_CLIPS / 1e3, "GB")

    load = loading_throughput(StoreClips(store.dataset, AugmentationEpoch(seed=0)), passes)
    report("store_load_published_size_one_core", load, "clips/s", target=LOAD_TARGET_CLIPS_PER_SECOND)
    wall, _ = time_clips(processor, max(2, repeats // 2), videos=str(video), landmarks=str(csv))
    on_the_fly = max(2, repeats // 2) / wall
    report("decode_on_the_fly_10mbps_one_core", on_the_fly, "clips/s")
    report("store_load_speedup_over_decoding", load / on_the_fly, "x", target=LOAD_SPEEDUP_TARGET)

    frames = collate_store_clips(StoreClips(store.dataset).__getitems__(list(range(BATCH_SIZE))))["frames"]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        on_device = frames.to(device)
        for augment, name in ((False, "normalise"), (True, "augment_and_normalise")):
            rate = augmentation_throughput(on_device, processor.video_processor, augment, repeats)
            report(f"store_batch_{name}_{device}_{'one_core' if device == 'cpu' else 'gpu'}", rate, "clips/s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 stored clips instead of 16, fewer passes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        num_clips = 8 if args.quick else 16
        report_store_figures(Path(folder), num_clips, passes=5 if args.quick else 20, repeats=4 if args.quick else 10)


if __name__ == "__main__":
    main()
