"""Predicting many clip files with the TACFN pipeline, where a file that cannot be read is reported and skipped instead
of stopping the run.

The pipeline's own list input stops at the first bad file (its `preprocess` raises); here each file is preprocessed on
its own in a DataLoader (in worker processes with `num_workers > 0`), failures travel beside the good clips, and the
good clips of a batch go through the model together.
"""

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from processing.pipeline_tacfn import TACFNAudioVisualClassificationPipeline


@dataclass
class ClipPrediction:
    """
    What happened to one clip file.

    Attributes:
        path: The file, as given.
        predictions: `[{"label": str, "score": float, "modalities": [...]}, ...]`, best first; `None` when the file
            failed.
        fusion_weights: alpha (time, height, width) when asked for (and the clip has video); else `None`.
        frames: The face frames the model saw, uint8 (frames, height, width, 3), when fusion weights were asked for.
        error: Why the file could not be used; `None` when it was.
        warnings: Warnings raised while reading the file (e.g. no face found, a short clip).
        crop_source: Where the face crop came from (`"csv"`, `"landmark_model"`, `"detector"`, `"centre"`, ...).
    """

    path: str
    predictions: list[dict] | None = None
    fusion_weights: np.ndarray | None = None
    frames: np.ndarray | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    crop_source: str | None = None


class ClipFiles(Dataset):
    """
    Clip files preprocessed one by one by the pipeline's `preprocess`. An item is `(index, model inputs or None, error
    message or None, warning messages)`.

    Args:
        paths (`list[str]`): The clip files.
        landmarks (`list`): Per clip, an OpenFace landmark CSV or `None` (the face detector finds the face).
        classifier ([`TACFNAudioVisualClassificationPipeline`]): Its processor reads the files.
        require_audio (`bool`): Passed to the pipeline's `preprocess`.
    """

    def __init__(
        self,
        paths: list[str],
        landmarks: list,
        classifier: TACFNAudioVisualClassificationPipeline,
        require_audio: bool,
    ):
        self.paths = paths
        self.landmarks = landmarks
        self.classifier = classifier
        self.require_audio = require_audio

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                clip = {"video": self.paths[index], "landmarks": self.landmarks[index]}
                inputs = self.classifier.preprocess(clip, require_audio=self.require_audio)
            except (ValueError, OSError) as error:
                return index, None, str(error), _messages(caught)
        return index, inputs, None, _messages(caught)


def collate_clips(items: list[tuple]) -> tuple[list[tuple], dict | None]:
    """
    Put the good clips of a DataLoader batch into one model batch.

    Args:
        items (`list[tuple]`): Items of [`ClipFiles`].

    Returns:
        `(items without their inputs, batch)`: `(index, error, warnings)` for every item in order, and the model
        inputs of the good items concatenated in that order (`None` when every item failed).
    """
    good = [inputs for _, inputs, error, _ in items if error is None]
    # list of (1, ...) tensors -> (good clips, ...); lists (the crop sources) are joined
    batch = {name: _join([inputs[name] for inputs in good]) for name in good[0]} if good else None
    return [(index, error, caught) for index, _, error, caught in items], batch


def predict_files(
    classifier: TACFNAudioVisualClassificationPipeline,
    paths: list[str],
    landmarks: list | None = None,
    top_k: int = 3,
    return_fusion_weights: bool = False,
    batch_size: int = 1,
    num_workers: int = 0,
    require_audio: bool = True,
) -> Iterator[ClipPrediction]:
    """
    Predict the emotion of every clip file, in the order given, reporting unreadable files instead of raising.

    Args:
        classifier ([`TACFNAudioVisualClassificationPipeline`]): The pipeline.
        paths (`list[str]`): Clip files.
        landmarks (`list`, *optional*): Per clip, an OpenFace landmark CSV to crop the face by, or `None` for the face
            detector; by default the detector for every clip.
        top_k (`int`, *optional*, defaults to 3): Labels per clip.
        return_fusion_weights (`bool`, *optional*, defaults to `False`): Also give alpha and the frames of each clip
            (fused models only).
        batch_size (`int`, *optional*, defaults to 1): Clips per model call.
        num_workers (`int`, *optional*, defaults to 0): DataLoader worker processes that read and preprocess files.
        require_audio (`bool`, *optional*, defaults to `True`): With `False`, files without an audio track get silence.

    Returns:
        An iterator over one [`ClipPrediction`] per path, in order; files are read as it advances. Raises
        `ValueError` for bad arguments at once.
    """
    landmarks = list(landmarks) if landmarks is not None else [None] * len(paths)
    if len(landmarks) != len(paths):
        raise ValueError(f"got {len(landmarks)} landmark entries for {len(paths)} clips; give one per clip.")
    if batch_size < 1 or num_workers < 0:
        raise ValueError(f"batch_size must be >= 1 and num_workers >= 0, got {batch_size} and {num_workers}.")
    if return_fusion_weights and classifier.model.config.modality != "both":
        raise ValueError(
            f"this {classifier.model.config.modality!r}-only model has no fusion weights; the attention picture needs "
            "the fused model."
        )
    loader = DataLoader(
        ClipFiles(list(paths), landmarks, classifier, require_audio),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=collate_clips,
    )
    return _predict_batches(classifier, loader, list(paths), top_k, return_fusion_weights)


def _predict_batches(
    classifier: TACFNAudioVisualClassificationPipeline,
    loader: DataLoader,
    paths: list[str],
    top_k: int,
    return_fusion_weights: bool,
) -> Iterator[ClipPrediction]:
    """Run the model on the good clips of each batch of `loader` and yield every clip's result in order."""
    for items, batch in loader:
        outputs = classifier.forward(batch, return_fusion_weights=return_fusion_weights) if batch is not None else None
        position = 0
        for index, error, caught in items:
            if error is not None:
                yield ClipPrediction(paths[index], error=error, warnings=caught)
                continue
            # (good clips, ...) -> (1, ...): the layout `postprocess` takes
            single = {name: value[position : position + 1] for name, value in outputs.items()}
            position += 1
            result = classifier.postprocess(
                single, top_k=top_k, return_fusion_weights=return_fusion_weights, return_crop_source=True
            )
            yield ClipPrediction(
                paths[index],
                result["predictions"],
                result.get("fusion_weights"),
                result.get("frames"),
                warnings=caught,
                crop_source=result["crop_source"],
            )


def _join(values: list):
    """Per-clip model inputs of a batch joined: tensors (1, ...) concatenated, lists chained."""
    if isinstance(values[0], torch.Tensor):
        return torch.cat(values)
    return [item for value in values for item in value]


def _messages(caught: list) -> list[str]:
    """The texts of recorded warnings, without repeats."""
    return list(dict.fromkeys(str(warning.message) for warning in caught))
