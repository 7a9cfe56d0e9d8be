"""Inference with trained TACFN models: a Transformers pipeline, the attention picture, a command-line tool and a web
demo. Importing this package registers the pipeline under the task `audio-visual-emotion-recognition` (the built-in
`video-classification` task is left alone for other models)."""

from transformers import AutoModelForVideoClassification
from transformers.pipelines import PIPELINE_REGISTRY

import modeling_tacfn  # noqa: F401  (registers TACFN with the Auto model classes)
import processing  # noqa: F401  (registers TACFNProcessor with AutoProcessor)

from .attention_picture import frames_from_pixel_values, plot_attention_picture
from .model_folder import TASK, load_classifier, save_pipeline
from .pipeline_tacfn import TACFNAudioVisualClassificationPipeline


PIPELINE_REGISTRY.register_pipeline(
    TASK,
    pipeline_class=TACFNAudioVisualClassificationPipeline,
    pt_model=AutoModelForVideoClassification,
    type="multimodal",
)

__all__ = [
    "TASK",
    "TACFNAudioVisualClassificationPipeline",
    "frames_from_pixel_values",
    "load_classifier",
    "plot_attention_picture",
    "save_pipeline",
]
