"""The prepared clip store on a small demo tree: what it stores and skips, equality with the processor (without
augmentation, and with it for the same seeds), resuming a killed build, refusing another processor's store, and
training from it under real 2-process DDP."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.utils import DistributedType
from datasets import load_from_disk

from hub_configs.presets import model_config, processor_for
from processing.media_io_tacfn import read_audio_head, read_video_frames
from tests import media
from tests.training.test_train import train_arguments
from training.data.clip_store import (
    MANIFEST_NAME, build_clip_store, check_store_processor, load_clip_store, read_clips,
)  # fmt: skip
from training.data.demo import write_demo_ravdess
from training.data.ravdess import RECORDING_MODALITIES, parse_ravdess_name, prepare_ravdess
from training.splits import AugmentationEpoch, clip_transform
from training.store_training import StoreClips, collate_store_clips, stored_frames_to_pixel_values


os.environ["HF_HUB_OFFLINE"] = "1"
REPO_ROOT = Path(__file__).resolve().parents[2]


def rows_without_clips(dataset, indices) -> dict:
    """The prepared columns of some store rows, as the on-the-fly transform receives them."""
    return dataset.select(indices).remove_columns(["frames", "input_features"])[:]


def test_store_holds_every_readable_clip_and_reports_the_bad_one(demo_store, tmp_path):
    store = demo_store.store
    assert len(store.dataset) == 63 and store.manifest["num_clips"] == 63 and store.manifest["num_shards"] == 4
    [skipped] = store.manifest["skipped"]
    assert skipped["path"] == str(demo_store.bad.resolve()) and "outside" in skipped["reason"]
    assert str(demo_store.bad.resolve()) not in store.dataset["path"]
    assert store.dataset.features["frames"].shape == (8, 3, 64, 64)
    clips = read_clips(store.dataset, [0, 62])
    assert clips["frames"].dtype == np.uint8 and clips["frames"].shape == (2, 8, 3, 64, 64)
    assert clips["input_features"].shape == (2, 13, 212) and list(clips["emotion"]) == store.dataset[[0, 62]]["emotion"]
    # a store is an ordinary data set: save_to_disk keeps its clips
    store.dataset.select([5]).save_to_disk(tmp_path / "saved")
    saved = read_clips(load_from_disk(tmp_path / "saved"), [0])["frames"][0]
    np.testing.assert_array_equal(saved, read_clips(store.dataset, [5])["frames"][0])


def test_store_clips_without_augmentation_equal_the_processor(demo_store):
    store, indices = demo_store.store, [0, 9, 30]
    expected = clip_transform(store.processor, "demo")(rows_without_clips(store.dataset, indices))
    clips = read_clips(store.dataset, indices)
    pixels = stored_frames_to_pixel_values(torch.tensor(clips["frames"]), store.processor.video_processor)
    torch.testing.assert_close(pixels, expected["pixel_values_videos"], atol=0, rtol=0)
    torch.testing.assert_close(torch.tensor(clips["input_features"]), expected["input_features"], atol=1e-5, rtol=0)


def test_store_batches_are_augmented_as_the_files_are_for_the_same_seed(demo_store):
    store, indices = demo_store.store, [1, 12, 20, 33, 61]
    video_processor = store.processor.video_processor
    grey_level = 1 / (255 * torch.tensor(video_processor.image_std).view(1, 1, 3, 1, 1))
    augmentation = AugmentationEpoch(seed=5)
    augmentation.epoch = 2
    batch = collate_store_clips(StoreClips(store.dataset, augmentation).__getitems__(indices))
    from_store = stored_frames_to_pixel_values(batch["frames"], video_processor, batch["augmentation_seed"])
    from_files = clip_transform(store.processor, "demo", augmentation)(rows_without_clips(store.dataset, indices))
    difference = (from_store - from_files["pixel_values_videos"]).abs() / grey_level
    assert difference.max() <= 1 + 1e-4  # at most one grey level: OpenCV's and torch's bilinear filters round apart
    plain = stored_frames_to_pixel_values(batch["frames"], video_processor)
    assert ((from_store - plain).abs() / grey_level).mean() > 3  # the augmentation did something
    augmentation.epoch = 3  # another epoch draws other crops
    other = clip_transform(store.processor, "demo", augmentation)(rows_without_clips(store.dataset, indices))
    assert ((from_store - other["pixel_values_videos"]).abs() / grey_level).mean() > 3


def test_a_killed_build_continues_and_keeps_its_finished_shards(demo_store, tmp_path):
    killed = tmp_path / "killed"
    shutil.copytree(demo_store.root, killed)
    manifest = json.loads((killed / MANIFEST_NAME).read_text())
    (killed / MANIFEST_NAME).write_text(json.dumps({**manifest, "complete": False}))
    last = killed / "shards" / "clips-00003.arrow"
    last.rename(last.with_suffix(".arrow.partial"))  # the kill came while the last shard was being written
    kept = {path.name: path.stat().st_mtime_ns for path in (killed / "shards").glob("clips-0000[012].arrow")}
    with pytest.raises(ValueError, match="incomplete"):
        load_clip_store(killed)

    tiny = processor_for(model_config("tiny"))
    resumed = build_clip_store("demo", demo_store.tree, killed, tiny, clips_per_shard=16, progress=False)
    assert {path.name: path.stat().st_mtime_ns for path in (killed / "shards").glob("clips-0000[012].arrow")} == kept
    assert resumed.manifest["skipped"] == demo_store.store.manifest["skipped"]
    everything = list(range(len(demo_store.store.dataset)))
    np.testing.assert_array_equal(
        read_clips(resumed.dataset, everything)["frames"], read_clips(demo_store.store.dataset, everything)["frames"]
    )
    with pytest.raises(ValueError, match="clips_per_shard"):
        build_clip_store("demo", demo_store.tree, killed, tiny, clips_per_shard=5)


def test_a_store_of_another_processor_is_refused(demo_store):
    tiny = model_config("tiny")
    check_store_processor(demo_store.store, processor_for(tiny, augment_scale=(0.5, 1.0), flip_probability=0.1))
    with pytest.raises(ValueError, match="video_processor.channel_order: stored 'rgb', wanted 'bgr'"):
        check_store_processor(demo_store.store, processor_for(tiny, channel_order="bgr"))
    with pytest.raises(ValueError, match="holds 'demo' clips, not 'ravdess'"):
        load_clip_store(demo_store.root, expected_dataset="ravdess")


def test_two_process_ddp_from_the_store(demo_store, tmp_path):
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        str(REPO_ROOT / "training" / "train.py"), *train_arguments(demo_store.root, tmp_path, "--max_steps", "2"),
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    report = json.loads((tmp_path / "eval_results.json").read_text())
    assert report["world_size"] == 2
    assert report["num_test_examples"] == 31  # actors 1-4 of fold 0, less the clip the store skipped
    assert sum(map(sum, report["metrics"]["confusion_matrix"])) == 31
    assert {"model.safetensors", "processor_config.json", "confusion_matrix.png"} <= {p.name for p in tmp_path.iterdir()}


def test_the_multi_node_accelerate_config_loads():
    config = load_config_from_file(str(REPO_ROOT / "training" / "accelerate" / "multi_node.yaml"))
    assert config.distributed_type == DistributedType.MULTI_GPU and config.num_machines == 2
    assert config.num_processes % config.num_machines == 0 and config.machine_rank == 0


def test_clips_without_a_modality_are_stored_with_their_masks(tmp_path):
    # RAVDESS's video-only (02) and audio-only (03) recordings prepared beside the audio-video ones: the fused model's
    # processor marks each clip's missing modality, the store keeps those marks, and store training applies them (and
    # modality dropout, and the test figures' removal) as training from the files does
    tree = tmp_path / "tree"
    [clip, *_] = write_demo_ravdess(tree, actors=1, clips_per_emotion=1, seed=3)
    name = parse_ravdess_name(clip.stem)
    frames, _, info = read_video_frames(str(clip), lambda count: np.arange(count))
    video_only = clip.with_name(f"{replace(name, modality=1).stem}.mp4")
    media.write_video(video_only, np.stack(frames), info.fps)
    shutil.copy(clip.with_suffix(".csv"), video_only.with_suffix(".csv"))
    waveform, rate = read_audio_head(str(clip), 10.0)
    audio_only = media.write_wav(clip.with_name(f"{replace(name, modality=2).stem}.wav"), waveform, rate)
    rows, _ = prepare_ravdess(tree, modalities=RECORDING_MODALITIES, progress=False)
    rows.save_to_disk(tmp_path / "prepared")
    processor = processor_for(model_config("tiny"))
    store = build_clip_store("demo", tmp_path / "prepared", tmp_path / "store", processor, progress=False)
    positions = {path: index for index, path in enumerate(store.dataset["path"])}
    assert len(positions) == 10
    assert store.dataset[positions[str(video_only.resolve())]]["audio_mask"] is False
    assert store.dataset[positions[audio_only]]["video_mask"] is False
    assert sum(store.dataset["video_mask"]) == 9 and sum(store.dataset["audio_mask"]) == 9
    indices = list(range(10))
    augmentation = AugmentationEpoch(seed=1)
    for options in ({}, {"remove": "audio"}, {"remove": "video"}, {"augmentation": augmentation, "modality_dropout": 0.5}):
        batch = collate_store_clips(StoreClips(store.dataset, **options).__getitems__(indices))
        expected = clip_transform(processor, "demo", **options)(rows_without_clips(store.dataset, indices))
        for mask in ("video_mask", "audio_mask"):
            assert torch.equal(batch[mask], expected[mask]), (options, mask)
    dropped = collate_store_clips(StoreClips(store.dataset, augmentation, modality_dropout=0.5).__getitems__(indices))
    assert not (dropped["video_mask"] & dropped["audio_mask"]).all()  # the draws removed something
