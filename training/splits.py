"""From a data set root to train / validation / test splits whose rows the processor turns into model inputs on the
fly (in the DataLoader workers)."""

import zlib
from collections.abc import Callable
from pathlib import Path

import torch
from datasets import DatasetDict
from threadpoolctl import threadpool_limits
from transformers import TrainerCallback

from hub_configs.datasets import DATASETS
from processing import TACFNProcessor
from training.data import iemocap, ravdess
from training.data.clip_inputs import clip_inputs, clip_key, load_rows
from training.data.clip_store import is_clip_store, load_clip_store
from training.missing_modality import drop_modality, remove_modality


def num_folds(dataset: str) -> int:
    """Number of folds of the data set's protocols."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {sorted(DATASETS)}.")
    return DATASETS[dataset].num_folds


def load_splits(data_args) -> tuple[DatasetDict, list[str]]:
    """The train / validation / test splits of `data_args.fold` under `data_args.protocol`, and the class names.

    `data_args.data_dir` is a data set root (RAVDESS `Actor_*` folders, the demo tree, `IEMOCAP_full_release`), a
    folder a preparation CLI saved with `save_to_disk`, or a clip store (`training.data.clip_store`), whose rows hold
    the decoded clips besides the labels."""
    num_folds(data_args.dataset)
    if data_args.data_dir is None:
        raise ValueError(f"--data_dir is required for --dataset {data_args.dataset}.")
    root = Path(data_args.data_dir)
    if not root.is_dir():
        raise ValueError(f"--data_dir {root} is not a folder.")
    if is_clip_store(root):
        dataset = load_clip_store(root, expected_dataset=data_args.dataset).dataset
    else:
        dataset = load_rows(data_args.dataset, root, data_args.landmarks_dir)
    if data_args.dataset == "iemocap":
        splits = iemocap.iemocap_fold_split(dataset, data_args.protocol, data_args.fold)
    else:
        splits = ravdess.ravdess_fold_split(dataset, data_args.protocol, data_args.fold)
    return splits, splits["train"].features["emotion"].names


def limit_worker_threads() -> None:
    """One BLAS (and, in a DataLoader worker, one torch) thread: workers already run in parallel, and several threads
    crowded onto one core make the MFCC's mel projection tens of times slower."""
    threadpool_limits(limits=1, user_api="blas")
    if torch.utils.data.get_worker_info() is not None:
        torch.set_num_threads(1)


class AugmentationEpoch(TrainerCallback):
    """Tells the training transform which epoch runs, so that a clip's augmentation is a function of the run's seed,
    the epoch and the clip alone: the same whichever worker, process or resumed run loads it."""

    def __init__(self, seed: int):
        self.seed = seed
        self.epoch = 0

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.epoch = int(state.epoch or 0)

    def clip_seed(self, clip_key: str) -> int:
        return zlib.crc32(f"{self.seed}:{self.epoch}:{clip_key}".encode())


def clip_transform(
    processor: TACFNProcessor,
    dataset: str,
    augmentation: AugmentationEpoch | None = None,
    modality_dropout: float = 0.0,
    remove: str | None = None,
) -> Callable[[dict], dict]:
    """A `Dataset.set_transform` function: rows of paths and labels -> `pixel_values_videos`, `input_features`,
    `labels` (and `video_mask` / `audio_mask` where the processor or these options give them). With `augmentation`,
    every clip gets the processor's clip-consistent random crop and flip, drawn from a generator seeded by
    `augmentation.clip_seed` (the global random state is left as it was), and with `modality_dropout` loses its audio
    or its video with that probability, drawn from the same seed. `remove="audio"|"video"` marks that modality missing
    in every clip (the test figures of a fused model without it)."""

    def transform(batch: dict) -> dict:
        limit_worker_threads()
        rows = [dict(zip(batch, values)) for values in zip(*batch.values())]
        clips = []
        for row in rows:
            if augmentation is None:
                clip = clip_inputs(processor, dataset, row, do_augment=False)
            else:
                clip_seed = augmentation.clip_seed(clip_key(row))
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(clip_seed)
                    clip = clip_inputs(processor, dataset, row, do_augment=True)
                if modality_dropout:
                    clip = drop_modality(clip, clip_seed, modality_dropout)
            clips.append(clip if remove is None else remove_modality(clip, remove))
        # one (1, ...) tensor per clip and input -> (clips, ...)
        inputs = {name: torch.cat([clip[name] for clip in clips]) for name in clips[0]}
        return {**inputs, "labels": torch.tensor(batch["emotion"])}

    return transform
