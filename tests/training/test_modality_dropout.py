"""Modality dropout as training draws it: the rate, the choice of modality, the seeding by (run seed, epoch, clip), and
clips that already lack a modality; and removing a modality for the test figures."""

import torch

from training.missing_modality import drop_modality, modality_dropout_masks, remove_modality
from training.splits import AugmentationEpoch


def complete_clip() -> dict:
    return {"pixel_values_videos": torch.zeros(1, 2, 3, 4, 4), "input_features": torch.zeros(1, 13, 212)}


def test_each_clip_loses_one_modality_with_the_probability_and_either_equally_often():
    draws = [modality_dropout_masks(seed, 0.4) for seed in range(4000)]
    without_audio = sum(not kept["audio"] for kept in draws) / len(draws)
    without_video = sum(not kept["video"] for kept in draws) / len(draws)
    assert all(kept["audio"] or kept["video"] for kept in draws)
    assert abs(without_audio + without_video - 0.4) < 0.03
    assert abs(without_audio - without_video) < 0.04
    assert all(all(modality_dropout_masks(seed, 0.0).values()) for seed in range(200))


def test_the_draw_is_a_function_of_the_run_seed_the_epoch_and_the_clip():
    augmentation = AugmentationEpoch(seed=7)
    clips = [f"Actor_01/clip_{index}.mp4" for index in range(64)]

    def masks_of_epoch(epoch: int) -> list:
        augmentation.epoch = epoch
        dropped = [drop_modality(complete_clip(), augmentation.clip_seed(clip), 0.5) for clip in clips]
        return [(bool(clip["video_mask"]), bool(clip["audio_mask"])) for clip in dropped]

    first = masks_of_epoch(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)  # the global random state plays no part
        assert masks_of_epoch(0) == first
    assert masks_of_epoch(1) != first
    assert AugmentationEpoch(seed=8).clip_seed(clips[0]) != AugmentationEpoch(seed=7).clip_seed(clips[0])
    assert {(True, True), (True, False), (False, True)} == set(first)


def test_a_clip_already_missing_a_modality_keeps_the_one_it_has():
    clip = {**complete_clip(), "video_mask": torch.tensor([True]), "audio_mask": torch.tensor([False])}
    for seed in range(50):
        dropped = drop_modality(clip, seed, 1.0)
        assert bool(dropped["video_mask"]) and not bool(dropped["audio_mask"])
    assert bool(remove_modality(clip, "video")["video_mask"])  # it would have nothing left
    without_video = remove_modality(complete_clip(), "video")
    assert not bool(without_video["video_mask"]) and bool(without_video["audio_mask"])
