"""Missing modalities in training and evaluation: modality dropout (each training clip loses its audio or its video with
the probability `TACFNConfig.modality_dropout`, drawn from the run's seed, the epoch and the clip, so that runs and
resumed runs repeat), and the test figures of a fused model with each modality removed."""

import zlib

import torch
from transformers import Trainer

from modeling_tacfn.configuration_tacfn import TACFNConfig


# the modalities a fused model can be evaluated without, each by its mask
MODALITIES = ("audio", "video")


def modality_dropout_masks(clip_seed: int, probability: float) -> dict[str, bool]:
    """Which modalities a training clip keeps: with `probability` it loses one, audio or video equally likely. The two
    draws come from a generator seeded by `clip_seed` alone (the global random state is not touched)."""
    generator = torch.Generator().manual_seed(zlib.crc32(f"modality dropout:{clip_seed}".encode()))
    drop, which = torch.rand(2, generator=generator).tolist()
    kept = dict.fromkeys(MODALITIES, True)
    if drop < probability:
        kept[MODALITIES[int(which >= 0.5)]] = False
    return kept


def clip_masks(clip: dict) -> dict[str, torch.Tensor]:
    """The `video_mask` / `audio_mask` of one clip's inputs (batch 1), `True` where the processor gave none."""
    return {name: clip.get(f"{name}_mask", torch.ones(1, dtype=torch.bool)) for name in MODALITIES}


def with_masks(clip: dict, masks: dict[str, torch.Tensor]) -> dict:
    return {**clip, **{f"{name}_mask": mask for name, mask in masks.items()}}


def drop_modality(clip: dict, clip_seed: int, probability: float) -> dict:
    """Modality dropout of one training clip: its inputs with both masks, one of them `False` when the draw of
    [`modality_dropout_masks`] removes it. A clip that already lacks a modality keeps what it has."""
    masks = clip_masks(clip)
    if all(bool(mask.all()) for mask in masks.values()):
        kept = modality_dropout_masks(clip_seed, probability)
        masks = {name: torch.tensor([kept[name]]) for name in MODALITIES}
    return with_masks(clip, masks)


def remove_modality(clip: dict, modality: str) -> dict:
    """One test clip's inputs with `modality` marked missing, unless it is the only modality the clip has (it would
    have nothing left; it is then scored as it comes)."""
    masks = clip_masks(clip)
    other = MODALITIES[1 - MODALITIES.index(modality)]
    if bool(masks[other].all()):
        masks[modality] = torch.zeros(1, dtype=torch.bool)
    return with_masks(clip, masks)


def evaluate_without_each_modality(trainer: Trainer, split_without) -> dict[str, dict]:
    """Test metrics of a fused model with each modality removed from every clip: `{"audio": metrics, "video": metrics}`
    keyed by the modality removed. `split_without(modality)` is the test split with that modality removed. Empty for
    a unimodal model."""
    config: TACFNConfig = trainer.model.config
    if config.modality != "both":
        return {}
    results = {}
    for modality in MODALITIES:
        prefix = f"test_without_{modality}"
        metrics = trainer.evaluate(split_without(modality), metric_key_prefix=prefix)
        results[modality] = {name.removeprefix(f"{prefix}_"): value for name, value in metrics.items()}
    return results
