"""Clips with a modality missing, for [`TACFNProcessor`] with `missing_modality="mask"`: the choices of what happens
to them, and the batch that marks each clip's modalities with `video_mask` / `audio_mask` (zeros in the rows of the
missing ones, which the model ignores). Which files hold no video stream (wav, mp3, m4a, an mp4 of sound alone) the
processor learns from the one opening that decodes them (`read_clip(..., allow_no_video=True)`)."""

import numpy as np


# what the processor does with a clip that lacks a modality: refuse it, or mark it missing for the model
MISSING_MODALITY_CHOICES = ("error", "mask")


# what the processor does with a video in which the face detector finds no face: crop the centred square, or (with
# `missing_modality="mask"`) mark the clip's video missing
NO_FACE_CHOICES = ("centre_crop", "missing")


def check_missing_modality(choice: str) -> str:
    if choice not in MISSING_MODALITY_CHOICES:
        raise ValueError(f"missing_modality must be one of {MISSING_MODALITY_CHOICES}, got {choice!r}.")
    return choice


def check_no_face(choice: str) -> str:
    if choice not in NO_FACE_CHOICES:
        raise ValueError(f"no_face must be one of {NO_FACE_CHOICES}, got {choice!r}.")
    return choice


def rows_with_zeros(rows: list, shape: tuple[int, ...]) -> np.ndarray:
    """One float32 array of the clips' rows, (batch, *shape): each present row as given, zeros for `None` (a clip
    without the modality)."""
    return np.stack([np.zeros(shape, np.float32) if row is None else np.asarray(row, np.float32) for row in rows])


__all__ = [
    "MISSING_MODALITY_CHOICES", "NO_FACE_CHOICES", "check_missing_modality", "check_no_face", "rows_with_zeros",
]  # fmt: skip
