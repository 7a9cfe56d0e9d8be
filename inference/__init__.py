"""Inference with trained TACFN models: loading a model folder as the emotion pipeline, the attention picture, batch
prediction over files, the `tacfn` command line and the web demo. The pipeline class itself lives in
`processing/pipeline_tacfn.py`, since it travels inside model folders."""

from .attention_picture import frames_from_pixel_values, plot_attention_picture
from .model_folder import load_classifier


__all__ = ["frames_from_pixel_values", "load_classifier", "plot_attention_picture"]
