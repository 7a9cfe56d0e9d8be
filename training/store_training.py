"""Training from a clip store (`training.data.clip_store`): batches of stored uint8 face crops and MFCC go to the
training device as they are, and there the clip-consistent augmentation (the processor's random resized crop and flip,
drawn from the same per-clip seed as on-the-fly training) and the normalisation run on the whole batch."""

import functools

import numpy as np
import torch
import torch.nn.functional as F
from datasets import Dataset
from transformers.image_utils import PILImageResampling

from processing import TACFNProcessor, TACFNVideoProcessor
from processing.augmentation_tacfn import ClipAugmentation, draw_clip_augmentation
from training.data.clip_inputs import clip_key
from training.data.clip_store import check_store_processor, is_clip_store, load_clip_store, read_clips
from training.encoder_training import EncoderTrainer
from training.missing_modality import MODALITIES, modality_dropout_masks
from training.splits import AugmentationEpoch, clip_transform


# the torch filter of each `resample` setting: for enlarging (a crop inside the stored image back to its size) they
# compute what OpenCV's filter of the same name computes for the processor
TORCH_INTERPOLATIONS = {
    PILImageResampling.NEAREST: "nearest",
    PILImageResampling.BILINEAR: "bilinear",
    PILImageResampling.BICUBIC: "bicubic",
}


class StoreClips(torch.utils.data.Dataset):
    """The clips of one split of a clip store, read in whole batches: each item holds `frames` uint8 (num_frames, 3,
    height, width) and `input_features` as read-only numpy views of the memory-mapped store, `labels`, and with
    `augmentation` the clip's `augmentation_seed` (the seed the on-the-fly transform seeds the processor's
    augmentation with), and `video_mask` / `audio_mask`: the store's own (a store made before they were stored has
    complete clips), with `modality_dropout` (training) or `remove` (`"audio"` or `"video"`: the test figures of a fused
    model without it) applied as on-the-fly training applies them. `collate_store_clips` makes training tensors of a
    list of items."""

    def __init__(
        self,
        split: Dataset,
        augmentation: AugmentationEpoch | None = None,
        modality_dropout: float = 0.0,
        remove: str | None = None,
    ):
        self.split = split
        self.augmentation = augmentation
        self.modality_dropout = modality_dropout if augmentation is not None else 0.0
        self.remove = remove
        # stores of format 1 hold no masks: every clip in them is complete
        self.stored_masks = all(f"{name}_mask" in split.column_names for name in MODALITIES)

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict]:
        columns = read_clips(self.split, list(indices), stack=False)
        items = []
        for position in range(len(indices)):
            item = {name: columns[name][position] for name in ("frames", "input_features")}
            item["labels"] = int(columns["emotion"][position])
            if self.augmentation is not None:
                row = {name: values[position] for name, values in columns.items()}
                item["augmentation_seed"] = self.augmentation.clip_seed(clip_key(row))
            if self.stored_masks or self.modality_dropout or self.remove is not None:
                item.update({f"{name}_mask": kept for name, kept in self._kept_modalities(columns, position, item)})
            items.append(item)
        return items

    def _kept_modalities(self, columns: dict, position: int, item: dict):
        """`(modality, kept)` pairs of one clip, by the rules of on-the-fly training (`training.missing_modality`):
        the stored masks; modality dropout only for a complete clip; `remove` only where the other modality is kept."""
        kept = {
            name: bool(columns[f"{name}_mask"][position]) if self.stored_masks else True for name in MODALITIES
        }  # fmt: skip
        if self.modality_dropout and all(kept.values()):
            kept = modality_dropout_masks(item["augmentation_seed"], self.modality_dropout)
        if self.remove is not None and kept[MODALITIES[1 - MODALITIES.index(self.remove)]]:
            kept[self.remove] = False
        return kept.items()


def collate_store_clips(items: list[dict]) -> dict[str, torch.Tensor]:
    """`StoreClips` items -> a batch of tensors: `frames` uint8 (batch, T, 3, H, W), `input_features`, `labels` and,
    when the items have them, `augmentation_seed`. Stacked by numpy (the one copy of the stored clips), whose uint8 copy
    is about 4 times faster on a CPU core than torch's."""
    batch = {name: torch.from_numpy(np.stack([item[name] for item in items])) for name in ("frames", "input_features")}
    for name in ("labels", "augmentation_seed"):
        if name in items[0]:
            batch[name] = torch.tensor([item[name] for item in items], dtype=torch.int64)
    for name in ("video_mask", "audio_mask"):
        if name in items[0]:
            batch[name] = torch.tensor([item[name] for item in items], dtype=torch.bool)
    return batch


def draw_seeded_augmentation(video_processor: TACFNVideoProcessor, seed: int) -> ClipAugmentation:
    """The augmentation the processor draws for a clip after `torch.manual_seed(seed)` (the global random state is
    left as it was)."""
    size = video_processor.size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return draw_clip_augmentation(
            size.height, size.width, video_processor.augment_scale, video_processor.augment_ratio,
            video_processor.flip_probability,
        )  # fmt: skip


def augment_clip(clip: torch.Tensor, augmentation: ClipAugmentation, mode: str) -> torch.Tensor:
    """One clip's crop, enlarged back to the clip's size and rounded to whole grey levels as the processor's uint8
    crops are, then flipped: (T, 3, H, W) float32 grey levels -> the same shape."""
    top, left = augmentation.top, augmentation.left
    crop = clip[:, :, top : top + augmentation.height, left : left + augmentation.width]
    corners = {} if mode == "nearest" else {"align_corners": False}
    resized = F.interpolate(crop, size=clip.shape[-2:], mode=mode, **corners).round().clamp(0, 255)
    return resized.flip(-1) if augmentation.flip else resized


def stored_frames_to_pixel_values(
    frames: torch.Tensor, video_processor: TACFNVideoProcessor, seeds: torch.Tensor | None = None
) -> torch.Tensor:
    """Stored face crops -> `pixel_values_videos`, on the frames' device: (batch, T, 3, H, W) uint8 -> the same shape
    float32, augmented per clip when `seeds` (batch,) are given, then rescaled and normalised as the processor does."""
    video = frames.to(torch.float32)
    if seeds is not None:
        mode = TORCH_INTERPOLATIONS[video_processor.resample]
        augmentations = [draw_seeded_augmentation(video_processor, seed) for seed in seeds.tolist()]
        video = torch.stack([augment_clip(clip, augmentation, mode) for clip, augmentation in zip(video, augmentations)])
    processor = video_processor
    return processor.rescale_and_normalize(
        video, processor.do_rescale, processor.rescale_factor, processor.do_normalize,
        tuple(processor.image_mean), tuple(processor.image_std),
    )  # fmt: skip


class ClipStoreTrainer(EncoderTrainer):
    """An [`EncoderTrainer`] whose batches hold stored face crops: each batch, once on the training device, becomes the
    model's `pixel_values_videos` there (see `stored_frames_to_pixel_values`)."""

    def __init__(self, *args, video_processor: TACFNVideoProcessor, **kwargs):
        super().__init__(*args, **kwargs)
        self.video_processor = video_processor

    def _prepare_inputs(self, inputs: dict) -> dict:
        inputs = super()._prepare_inputs(inputs)
        frames, seeds = inputs.pop("frames"), inputs.pop("augmentation_seed", None)
        inputs["pixel_values_videos"] = stored_frames_to_pixel_values(frames, self.video_processor, seeds)
        return inputs


def training_splits(
    splits: dict, processor: TACFNProcessor, data_args, augmentation: AugmentationEpoch, modality_dropout: float = 0.0
) -> tuple[dict, type[EncoderTrainer]]:
    """The splits as the Trainer reads them and the Trainer class that turns their batches into model inputs: from a
    clip store, `StoreClips` and `ClipStoreTrainer`; otherwise the rows with the processor as their transform (the
    training split augmented, and with `modality_dropout` losing a modality) and `EncoderTrainer` (a `Trainer` that
    can give pretrained encoders their own learning rate)."""
    if not is_clip_store(data_args.data_dir):
        train_transform = clip_transform(processor, data_args.dataset, augmentation, modality_dropout=modality_dropout)
        splits["train"].set_transform(train_transform)
        for name in ("validation", "test"):
            splits[name].set_transform(clip_transform(processor, data_args.dataset))
        return splits, EncoderTrainer
    check_store_processor(load_clip_store(data_args.data_dir), processor)
    if processor.video_processor.resample not in TORCH_INTERPOLATIONS:
        raise ValueError(
            f"training from a clip store augments with {sorted(TORCH_INTERPOLATIONS)} resampling only; the processor "
            f"has resample={processor.video_processor.resample!r}."
        )
    store_splits = {
        name: StoreClips(split, augmentation, modality_dropout) if name == "train" else StoreClips(split)
        for name, split in splits.items()
    }
    trainer_class = functools.partial(
        ClipStoreTrainer, video_processor=processor.video_processor, data_collator=collate_store_clips
    )
    return store_splits, trainer_class


def split_without(split, processor: TACFNProcessor, dataset: str, modality: str):
    """An evaluation split (as `training_splits` gives it) with `modality` marked missing in every clip."""
    if isinstance(split, StoreClips):
        return StoreClips(split.split, remove=modality)
    return split.with_transform(clip_transform(processor, dataset, remove=modality))
