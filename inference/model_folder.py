"""Loading a TACFN model folder (or Hub repository) as the emotion pipeline, with this package's classes."""

from pathlib import Path

from transformers import pipeline

import modeling_tacfn  # noqa: F401  (registers the TACFN classes and the pipeline task)
from processing.pipeline_tacfn import TASK, TACFNAudioVisualClassificationPipeline


def load_classifier(model: str, device=None, dtype: str = "float32") -> TACFNAudioVisualClassificationPipeline:
    """
    The emotion pipeline of a TACFN model folder or Hub repository, built from this package's classes (no remote
    code runs).

    Args:
        model (`str`): A folder with the model and its processor, or a Hub repository id.
        device (`int`, `str` or `torch.device`, *optional*): Where the model runs; by default the first GPU when there
            is one, else the CPU.
        dtype (`str`, *optional*, defaults to `"float32"`): `"bfloat16"` runs the model under bf16 autocast.

    Returns:
        [`TACFNAudioVisualClassificationPipeline`]. Raises `ValueError` naming `model` when it cannot be loaded.
    """
    try:
        autocast_dtype = None if dtype == "float32" else dtype
        return pipeline(TASK, model=model, device=device, autocast_dtype=autocast_dtype)
    except (OSError, ValueError, KeyError) as error:
        if Path(model).is_dir():
            raise ValueError(f"cannot load the TACFN model folder {model!r}: {error}") from error
        raise ValueError(
            f"cannot load the TACFN model {model!r}: there is no such folder, and loading it as a Hub repository "
            f"failed: {error}"
        ) from error
