"""Output dataclasses of the TACFN models."""

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput


@dataclass
class TACFNModelOutput(ModelOutput):
    r"""
    Outputs of [`TACFNModel`].

    Args:
        last_hidden_state (`torch.FloatTensor`):
            The last encoder output: the video encoder's last feature map `(batch_size, channels, time, height, width)`,
            reinforced by the fusion weights in the fused model; for an audio-only model, or a fused model given no
            `pixel_values_videos`, the audio encoder's output `(batch_size, channels, steps)`. Rows of clips whose
            `video_mask` is `False` are whatever the encoder made of the tensor they were given.
        pooler_output (`torch.FloatTensor` of shape `(batch_size, config.hidden_size)`):
            The clip representation the classifier sees: `[video_embeds ; audio_embeds]` for the fused model, one of
            them for a unimodal model.
        video_embeds (`torch.FloatTensor` of shape `(batch_size, config.video_hidden_sizes[-1])`, *optional*):
            The (reinforced) video feature map averaged over time, height and width; the learned stand-in for clips
            without video (fused model).
        audio_embeds (`torch.FloatTensor` of shape `(batch_size, config.audio_hidden_sizes[-1] * steps)`, *optional*):
            The audio encoder's output sequence flattened channel-major (index = channel * steps + step); the learned
            stand-in for clips without audio (fused model).
        attentions (`torch.FloatTensor` of shape `(batch_size, time, height, width)`, *optional*):
            The fusion weights alpha over the video feature map (fused model only), returned with
            `output_attentions=True`: Transformers' `attentions` field carries TACFN's fusion weights (the selection
            Transformer's own attention is not returned). Zero for clips without video; `None` when no clip has video.
        video_hidden_states (`tuple(torch.FloatTensor)`, *optional*):
            The video stem's output and each stage's output, `(batch_size, channels, time, height, width)`, returned
            with `output_hidden_states=True`.
        audio_hidden_states (`tuple(torch.FloatTensor)`, *optional*):
            Each of the three audio convolution blocks' outputs, `(batch_size, channels, steps)`, returned with
            `output_hidden_states=True`.
    """

    last_hidden_state: torch.FloatTensor | None = None
    pooler_output: torch.FloatTensor | None = None
    video_embeds: torch.FloatTensor | None = None
    audio_embeds: torch.FloatTensor | None = None
    attentions: torch.FloatTensor | None = None
    video_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    audio_hidden_states: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class TACFNAudioVisualClassifierOutput(ModelOutput):
    r"""
    Outputs of [`TACFNForAudioVisualClassification`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*):
            Classification (or regression) loss, returned when `labels` are given.
        logits (`torch.FloatTensor` of shape `(batch_size, config.num_labels)`):
            Scores before softmax (or sigmoid for multi-label problems).
        attentions, video_hidden_states, audio_hidden_states:
            As in [`TACFNModelOutput`] (`attentions` holds the fusion weights).
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    attentions: torch.FloatTensor | None = None
    video_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    audio_hidden_states: tuple[torch.FloatTensor, ...] | None = None


__all__ = ["TACFNModelOutput", "TACFNAudioVisualClassifierOutput"]
