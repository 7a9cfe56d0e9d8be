"""Model folders and the pipeline: loading a TACFN model folder (or Hub repository) as a pipeline, and adding the
pipeline's code to a saved folder so that it is found from the folder without this package."""

import json
import shutil
from pathlib import Path

from transformers import pipeline

from . import pipeline_tacfn
from .pipeline_tacfn import TACFNAudioVisualClassificationPipeline, custom_pipelines_entry


# the task this package registers the pipeline under; saved folders name it under "video-classification" instead
TASK = "audio-visual-emotion-recognition"


def load_classifier(model: str, device=None) -> TACFNAudioVisualClassificationPipeline:
    """
    The emotion pipeline of a TACFN model folder or Hub repository, built from this package's classes (no remote
    code runs).

    Args:
        model (`str`): A folder with the model and its processor, or a Hub repository id.
        device (`int`, `str` or `torch.device`, *optional*): Where the model runs; by default the first GPU when there
            is one, else the CPU.

    Returns:
        [`TACFNAudioVisualClassificationPipeline`]. Raises `ValueError` naming `model` when it cannot be loaded.
    """
    try:
        return pipeline(TASK, model=model, device=device)
    except (OSError, ValueError, KeyError) as error:
        if Path(model).is_dir():
            raise ValueError(f"cannot load the TACFN model folder {model!r}: {error}") from error
        raise ValueError(
            f"cannot load the TACFN model {model!r}: there is no such folder, and loading it as a Hub repository "
            f"failed: {error}"
        ) from error


def save_pipeline(model_dir) -> Path:
    """
    Copy `pipeline_tacfn.py` into a saved model folder and name it in `config.json` (`custom_pipelines`), so that
    `pipeline("video-classification", model=model_dir, trust_remote_code=True)` returns
    [`TACFNAudioVisualClassificationPipeline`] in any process, with or without this package installed.

    Call it after the last `save_pretrained` of the model (which rewrites `config.json`), e.g. after
    `Trainer.save_model()` or the weight converter; the folder must also hold the processor (`processor_config.json`).

    Args:
        model_dir (`str` or `os.PathLike`): A folder written by `TACFNForAudioVisualClassification.save_pretrained`.

    Returns:
        The path of the updated `config.json`.
    """
    folder = Path(model_dir)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{str(folder)!r} holds no config.json; save the model there first (model.save_pretrained).")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{str(config_path)!r} is not valid JSON: {error}") from error
    if config.get("model_type") != "tacfn":
        raise ValueError(f"{str(config_path)!r} describes a {config.get('model_type')!r} model, not a TACFN model.")
    if not (folder / "processor_config.json").is_file():
        raise ValueError(
            f"{str(folder)!r} holds no processor_config.json; the pipeline needs the processor saved beside the model "
            "(processor.save_pretrained(folder))."
        )
    shutil.copyfile(pipeline_tacfn.__file__, folder / Path(pipeline_tacfn.__file__).name)
    config["custom_pipelines"] = custom_pipelines_entry(TACFNAudioVisualClassificationPipeline)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return config_path
