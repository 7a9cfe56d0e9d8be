"""Pretrained Transformers encoders in place of TACFN's built-in ones: a raw-waveform speech encoder (wav2vec2, HuBERT,
WavLM) whose projected hidden states feed the fusion, and a tubelet video Transformer (VideoMAE, ViViT) whose patch
tokens, at their (time, height, width) positions, are the map the fusion weights score and reinforce."""

from typing import NamedTuple

import torch
from torch import nn
from transformers import AutoModel

from .configuration_tacfn import TACFNConfig


class AudioEncoding(NamedTuple):
    """What the fused model takes from an audio encoder."""

    sequence: torch.Tensor  # (batch, steps, fusion hidden): the selection Transformer's input
    embeds: torch.Tensor  # (batch, config.audio_embeds_size): the classifier's audio representation
    lengths: torch.Tensor | None  # (batch,) valid steps of each clip; None when no clip is padded
    hidden_states: tuple[torch.Tensor, ...]  # the encoder's outputs (`audio_hidden_states`); the last is the output


class TACFNPretrainedAudioEncoder(nn.Module):
    """A Transformers speech encoder (built from `config.audio_config`) and a linear projection of its hidden states to
    the fusion width. Padded clips (an `attention_mask` over the waveform samples) keep only their valid frames: the
    mean over frames and the selection Transformer's summary ignore the padding."""

    def __init__(self, config: TACFNConfig):
        super().__init__()
        self.model = AutoModel.from_config(config.audio_config)
        self.projection = nn.Linear(config.audio_config.hidden_size, config.fusion_hidden_size)

    def forward(self, input_values: torch.Tensor, attention_mask: torch.Tensor | None = None) -> AudioEncoding:
        # input_values: (batch, samples) -> last_hidden_state: (batch, frames, encoder hidden)
        outputs = self.model(input_values, attention_mask=attention_mask, output_hidden_states=True, return_dict=True)
        sequence = self.projection(outputs.last_hidden_state)  # (batch, frames, fusion hidden)
        if attention_mask is None:
            return AudioEncoding(sequence, sequence.mean(1), None, (*outputs.hidden_states, sequence))
        # (batch, samples) -> (batch, frames): which frames the encoder computed from real samples
        frame_mask = self.model._get_feature_vector_attention_mask(sequence.shape[1], attention_mask).to(sequence.dtype)
        lengths = frame_mask.sum(1)
        embeds = (sequence * frame_mask[:, :, None]).sum(1) / lengths.clamp(min=1)[:, None]
        return AudioEncoding(sequence, embeds, lengths.long(), (*outputs.hidden_states, sequence))


class TACFNPretrainedVideoEncoder(nn.Module):
    """A Transformers video Transformer (built from `config.video_config`) whose patch tokens are laid out as a feature
    map (batch, hidden, time, height, width), like the built-in encoder's last stage; a leading class token (ViViT) is
    left out."""

    def __init__(self, config: TACFNConfig):
        super().__init__()
        self.model = AutoModel.from_config(config.video_config)
        self.grid = config.video_feature_shape

    def forward(self, pixel_values_videos: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Returns the encoder's hidden states (embeddings and every layer's tokens) followed by the feature map, the
        encoder's output."""
        # pixel_values_videos: (batch, frames, channels, height, width)
        outputs = self.model(pixel_values_videos, output_hidden_states=True, return_dict=True)
        time, height, width = self.grid
        tokens = outputs.last_hidden_state[:, -time * height * width :]  # (batch, time * height * width, hidden)
        # tokens are time-major, as the tubelet convolution flattens them: -> (batch, hidden, time, height, width)
        feature_map = tokens.transpose(1, 2).unflatten(2, (time, height, width))
        return (*outputs.hidden_states, feature_map)


def pretrained_encoders(model: nn.Module) -> list[nn.Module]:
    """The Transformers encoders inside a TACFN model (the ones [`from_encoders`] loads pretrained weights into)."""
    return [module.model for module in model.modules() if isinstance(module, PRETRAINED_ENCODERS)]


PRETRAINED_ENCODERS = (TACFNPretrainedAudioEncoder, TACFNPretrainedVideoEncoder)

__all__ = ["AudioEncoding", "TACFNPretrainedAudioEncoder", "TACFNPretrainedVideoEncoder", "pretrained_encoders"]
