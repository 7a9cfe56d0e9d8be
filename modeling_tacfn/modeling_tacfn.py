"""PyTorch TACFN: a 3D ResNeXt video encoder, a 1D CNN audio encoder, an adaptive cross-modal fusion block from audio to
video, and a classifier over the concatenated clip representation."""

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.processing_utils import Unpack
from transformers.utils import TransformersKwargs, can_return_tuple

from .configuration_tacfn import TACFNConfig
from .encoder_loading_tacfn import load_pretrained_encoders
from .model_inputs_tacfn import check_inputs, where_present
from .modeling_outputs_tacfn import TACFNAudioVisualClassifierOutput, TACFNModelOutput
from .pretrained_encoders_tacfn import AudioEncoding, TACFNPretrainedAudioEncoder, TACFNPretrainedVideoEncoder


AUTO_MAP = {
    "AutoConfig": "configuration_tacfn.TACFNConfig",
    "AutoModel": "modeling_tacfn.TACFNModel",
    "AutoModelForVideoClassification": "modeling_tacfn.TACFNForAudioVisualClassification",
}


# ---------------------------------------------------------------------------------------------------------------------
# Video encoder: 3D ResNeXt
# ---------------------------------------------------------------------------------------------------------------------


class TACFNVideoStem(nn.Module):
    """7x7x7 convolution (stride 1 in time, 2 in space), batch norm, optional ReLU, 3x3x3 max pooling with stride 2."""

    def __init__(self, config: TACFNConfig):
        super().__init__()
        self.convolution = nn.Conv3d(
            config.num_channels, config.video_stem_channels, 7, stride=(1, 2, 2), padding=3, bias=False
        )
        self.normalization = nn.BatchNorm3d(config.video_stem_channels)
        self.activation = nn.ReLU(inplace=True) if config.video_stem_activation else nn.Identity()
        self.pooling = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        hidden_states = self.activation(self.normalization(self.convolution(pixel_values)))
        return self.pooling(hidden_states)


class TACFNVideoBottleneck(GradientCheckpointingLayer):
    """ResNeXt bottleneck: 1x1x1 reduce, grouped 3x3x3 (carrying the stride), 1x1x1 expand, plus a shortcut that is a
    strided 1x1x1 projection with batch norm whenever the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, config: TACFNConfig):
        super().__init__()
        width = out_channels // config.video_expansion
        self.conv1 = nn.Conv3d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(width)
        self.conv2 = nn.Conv3d(width, width, 3, stride=stride, padding=1, groups=config.video_cardinality, bias=False)
        self.bn2 = nn.BatchNorm3d(width)
        self.conv3 = nn.Conv3d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv3d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm3d(out_channels)
            )

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        residual = hidden_states if self.shortcut is None else self.shortcut(hidden_states)
        hidden_states = self.relu(self.bn1(self.conv1(hidden_states)))
        hidden_states = self.relu(self.bn2(self.conv2(hidden_states)))
        hidden_states = self.bn3(self.conv3(hidden_states))
        return self.relu(hidden_states + residual)


class TACFNVideoEncoder(nn.Module):
    """Stem and stages of bottlenecks; every stage after the first halves time, height and width."""

    def __init__(self, config: TACFNConfig):
        super().__init__()
        self.stem = TACFNVideoStem(config)
        self.stages = nn.ModuleList()
        in_channels = config.video_stem_channels
        for index, (depth, out_channels) in enumerate(zip(config.video_layers, config.video_hidden_sizes)):
            stride = 1 if index == 0 else 2
            blocks = [TACFNVideoBottleneck(in_channels, out_channels, stride, config)]
            blocks += [TACFNVideoBottleneck(out_channels, out_channels, 1, config) for _ in range(depth - 1)]
            self.stages.append(nn.Sequential(*blocks))
            in_channels = out_channels

    def forward(self, pixel_values_videos: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Returns the stem's and every stage's feature map; the last one is the encoder's output."""
        # (batch, frames, channels, height, width) -> (batch, channels, frames, height, width)
        hidden_states = self.stem(pixel_values_videos.transpose(1, 2))
        feature_maps = [hidden_states]
        for stage in self.stages:
            hidden_states = stage(hidden_states)
            feature_maps.append(hidden_states)
        return tuple(feature_maps)


# ---------------------------------------------------------------------------------------------------------------------
# Audio encoder: 1D CNN over MFCC
# ---------------------------------------------------------------------------------------------------------------------


class TACFNAudioEncoder(nn.Module):
    """Three 1D convolutions over MFCC frames: conv-ReLU-BN, conv-ReLU-maxpool-BN-dropout, conv-ReLU-BN-dropout."""

    def __init__(self, config: TACFNConfig):
        super().__init__()
        (width1, width2, width3), (kernel1, kernel2, kernel3) = config.audio_hidden_sizes, config.audio_kernel_sizes
        padding = config.audio_padding
        self.conv1 = nn.Conv1d(config.num_mfcc, width1, kernel1, padding=padding)
        self.bn1 = nn.BatchNorm1d(width1)
        self.conv2 = nn.Conv1d(width1, width2, kernel2, padding=padding)
        self.pool = nn.MaxPool1d(config.audio_pool_size)
        self.bn2 = nn.BatchNorm1d(width2)
        self.dropout2 = nn.Dropout(config.audio_dropouts[0])
        self.conv3 = nn.Conv1d(width2, width3, kernel3, padding=padding)
        self.bn3 = nn.BatchNorm1d(width3)
        self.dropout3 = nn.Dropout(config.audio_dropouts[1])

    def forward(self, input_features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Returns each block's output (batch, channels, steps); the last one, (batch, 64, 26) in the published
        setting, is the encoder's output."""
        block1 = self.bn1(F.relu(self.conv1(input_features)))
        block2 = self.dropout2(self.bn2(self.pool(F.relu(self.conv2(block1)))))
        block3 = self.dropout3(self.bn3(F.relu(self.conv3(block2))))
        return block1, block2, block3


# ---------------------------------------------------------------------------------------------------------------------
# Adaptive cross-modal fusion block (audio -> video)
# ---------------------------------------------------------------------------------------------------------------------


def sinusoidal_positions(length: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Positions 1..length as in fairseq/MulT: the first half of the channels are sines, the second half cosines of
    pos * exp(-i * ln(10000) / (dim / 2 - 1)). Shape (length, dim)."""
    half = dim // 2
    frequencies = torch.exp(torch.arange(half, device=device, dtype=torch.float32) * -(math.log(10000) / (half - 1)))
    angles = torch.arange(1, length + 1, device=device, dtype=torch.float32)[:, None] * frequencies[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1).to(dtype)


class TACFNSelectionTransformer(nn.Module):
    """Intra-modal selection: a causal pre-norm Transformer encoder over the audio sequence whose last time step
    summarises the clip's audio."""

    def __init__(self, config: TACFNConfig):
        super().__init__()
        self.hidden_size = config.fusion_hidden_size
        self.embed_dropout = nn.Dropout(config.fusion_embed_dropout)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model=self.hidden_size,
                nhead=config.fusion_num_heads,
                dim_feedforward=config.fusion_intermediate_size,
                dropout=config.fusion_dropout,
                activation="relu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(config.fusion_num_layers)
        )
        self.final_norm = nn.LayerNorm(self.hidden_size)

    def forward(self, audio_sequence: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """audio_sequence (batch, steps, hidden) -> summary (batch, hidden). With `lengths` (batch,), each clip's
        summary is its last valid step, which (causal attention) has seen only that clip's valid steps: padding is ignored."""
        steps = audio_sequence.shape[1]
        positions = sinusoidal_positions(steps, self.hidden_size, audio_sequence.device, audio_sequence.dtype)
        hidden_states = self.embed_dropout(math.sqrt(self.hidden_size) * audio_sequence + positions)
        causal_mask = nn.Transformer.generate_square_subsequent_mask(
            steps, device=audio_sequence.device, dtype=audio_sequence.dtype
        )
        for layer in self.layers:
            hidden_states = layer(hidden_states, src_mask=causal_mask, is_causal=True)
        # the last step has attended to the whole sequence: (batch, steps, hidden) -> (batch, hidden)
        last = torch.full_like(hidden_states[:, 0, 0], steps, dtype=torch.long) if lengths is None else lengths
        summary = hidden_states[torch.arange(hidden_states.shape[0], device=hidden_states.device), last - 1]
        return self.final_norm(summary)


class TACFNAdaptiveFusion(nn.Module):
    """Adaptive cross-modal block. The selected audio summary h scores every position p of the video map with
    e_p = w^T tanh(W_t v_p + W_s h + b); alpha = softmax(e) over the configured positions; v'_p = v_p * (1 + alpha_p).
    Everything is computed per sample, so a clip's output does not depend on its batch-mates."""

    def __init__(self, config: TACFNConfig):
        super().__init__()
        hidden_size = config.fusion_hidden_size
        self.selection = TACFNSelectionTransformer(config)
        self.video_projection = nn.Linear(config.video_embeds_size, hidden_size)
        self.audio_projection = nn.Linear(hidden_size, hidden_size, bias=False)
        self.score = nn.Linear(hidden_size, 1)
        self.softmax_over_time = config.fusion_softmax == "spacetime"

    def forward(self, video_map: torch.Tensor, audio_sequence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """video_map (batch, channels, time, height, width), audio_sequence (batch, steps, hidden) -> the reinforced
        video map (same shape as video_map) and the fusion weights alpha (batch, time, height, width)."""
        return self.reinforce(video_map, self.selection(audio_sequence))

    def reinforce(self, video_map: torch.Tensor, audio_summary: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """As `forward`, from the selected audio summary (batch, hidden) instead of the audio sequence."""
        batch_size, _, time, height, width = video_map.shape
        # (batch, channels, time, height, width) -> (batch, time, height, width, channels)
        video_positions = video_map.permute(0, 2, 3, 4, 1)
        joint = self.video_projection(video_positions) + self.audio_projection(audio_summary)[:, None, None, None, :]
        scores = self.score(torch.tanh(joint)).squeeze(-1)  # (batch, time, height, width)
        if self.softmax_over_time:
            weights = scores.flatten(1).softmax(-1)
        else:
            weights = scores.flatten(2).softmax(-1)
        weights = weights.view(batch_size, time, height, width)
        reinforced = video_map * (1 + weights[:, None])
        return reinforced, weights


class TACFNModalityStandIns(nn.Module):
    """Learned stand-ins for a missing modality in the fused model, one vector per replaced quantity. A clip without
    audio gives the fusion block `audio_summary` (hidden,) instead of the selection Transformer's summary and the
    classifier `audio_embeds` (`config.audio_embeds_size`,) instead of its audio representation; a clip without video
    skips the fusion and gives the classifier `video_embeds` (video channels,) instead of its pooled video map.
    Initialised to zeros: until a model is trained with modality dropout, a missing modality contributes nothing to the
    fusion scores or the classifier (the other modality's columns and the bias decide)."""

    def __init__(self, config: TACFNConfig):
        super().__init__()
        self.audio_summary = nn.Parameter(torch.zeros(config.fusion_hidden_size))
        self.audio_embeds = nn.Parameter(torch.zeros(config.audio_embeds_size))
        self.video_embeds = nn.Parameter(torch.zeros(config.video_embeds_size))


# ---------------------------------------------------------------------------------------------------------------------
# Pre-trained base and models
# ---------------------------------------------------------------------------------------------------------------------


class TACFNPreTrainedModel(PreTrainedModel):
    config: TACFNConfig
    base_model_prefix = "tacfn"
    main_input_name = "pixel_values_videos"
    input_modalities = ("video", "audio")
    supports_gradient_checkpointing = True

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, (nn.Conv1d, nn.Conv3d)):
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, TACFNModalityStandIns):
            for stand_in in module.parameters():
                init.zeros_(stand_in)

    @classmethod
    def from_pretrained(cls, *args, use_safetensors: bool | None = True, **kwargs):
        """Loads as [`PreTrainedModel.from_pretrained`] does, from safetensors weights only unless
        `use_safetensors=False` is passed explicitly (pickled weights are then read with `weights_only=True`)."""
        return super().from_pretrained(*args, use_safetensors=use_safetensors, **kwargs)

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Saves as [`PreTrainedModel.save_pretrained`] does, with an `auto_map` that lets `AutoConfig`, `AutoModel` and
        `AutoModelForVideoClassification` load the folder with `trust_remote_code=True`."""
        self.config.auto_map = {**(getattr(self.config, "auto_map", None) or {}), **AUTO_MAP}
        return super().save_pretrained(save_directory, *args, **kwargs)

    @classmethod
    def from_encoders(cls, audio: str | None = None, video: str | None = None, **config_kwargs):
        """A new model over pretrained encoders named by Hub repositories or folders, e.g.
        `audio="facebook/wav2vec2-base"`, `video="MCG-NJU/videomae-base"` (`None` keeps that built-in encoder); the fusion and classifier start fresh.
        `config_kwargs` go to [`TACFNConfig`] (e.g. `id2label`, `audio_projection_size`)."""
        return load_pretrained_encoders(cls, TACFNConfig, audio, video, **config_kwargs)


class TACFNModel(TACFNPreTrainedModel):
    """The encoders and the fusion block; returns the clip representation without a classifier. The fused model also
    holds the learned stand-ins that replace a missing modality ([`TACFNModalityStandIns`])."""

    def __init__(self, config: TACFNConfig):
        super().__init__(config)
        video_encoder = TACFNVideoEncoder if config.video_config is None else TACFNPretrainedVideoEncoder
        audio_encoder = TACFNAudioEncoder if config.audio_config is None else TACFNPretrainedAudioEncoder
        self.video_encoder = video_encoder(config) if config.modality in ("both", "video") else None
        self.audio_encoder = audio_encoder(config) if config.modality in ("both", "audio") else None
        self.fusion = TACFNAdaptiveFusion(config) if config.modality == "both" else None
        self.stand_ins = TACFNModalityStandIns(config) if config.modality == "both" else None
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        pixel_values_videos: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        video_mask: torch.Tensor | None = None,
        audio_mask: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        input_values: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> TACFNModelOutput:
        r"""
        pixel_values_videos (`torch.FloatTensor` of shape `(batch_size, num_frames, num_channels, height, width)`):
            Normalised face frames, e.g. from [`TACFNProcessor`]. A fused model may be given none (no clip has video).
        input_features (`torch.FloatTensor` of shape `(batch_size, num_mfcc, num_audio_frames)`):
            MFCC of the clip's audio for the built-in audio encoder, e.g. from [`TACFNProcessor`]. A fused model may
            be given no audio (no clip has audio).
        video_mask, audio_mask (`torch.BoolTensor` of shape `(batch_size,)`, *optional*):
            Which clips have the modality (defaults: every clip whose tensor is given). A fused model answers a clip
            without audio from its video fused with the learned audio stand-ins, and a clip without video from its
            audio and the video stand-in, chosen per clip; the masked clips' rows of the tensors are ignored. A clip
            with neither modality (or, for a unimodal model, without its modality) is a `ValueError`.
        output_attentions (`bool`, *optional*):
            Return the fusion weights alpha as `attentions` (fused model only). Defaults to `config.output_attentions`.
        output_hidden_states (`bool`, *optional*):
            Return every encoder stage's output. Defaults to `config.output_hidden_states`.
        input_values (`torch.FloatTensor` of shape `(batch_size, samples)`):
            The waveform for a pretrained audio encoder (`config.audio_config`), instead of `input_features`.
        attention_mask (`torch.LongTensor` of shape `(batch_size, samples)`, *optional*):
            1 for the real samples of `input_values`, 0 for padding (a pretrained audio encoder only).
        """
        if output_attentions is None:
            output_attentions = self.config.output_attentions
        if output_hidden_states is None:
            output_hidden_states = self.config.output_hidden_states
        video_mask, audio_mask = check_inputs(
            self.config, pixel_values_videos, input_features, video_mask, audio_mask, input_values, attention_mask
        )
        audio_inputs = input_features if self.config.audio_config is None else input_values

        video_maps = audio = video_embeds = audio_embeds = weights = None
        if self.audio_encoder is not None and audio_inputs is not None:
            audio = self._encode_audio(audio_inputs.to(self.dtype), attention_mask)
            last_hidden_state, audio_embeds = audio.hidden_states[-1], audio.embeds
        if self.video_encoder is not None and pixel_values_videos is not None:
            video_maps = self.video_encoder(pixel_values_videos.to(self.dtype))
            last_hidden_state = video_maps[-1]
            if self.fusion is not None:
                last_hidden_state, weights = self._fuse(last_hidden_state, audio, audio_mask)
                weights = weights if video_mask is None else weights * video_mask[:, None, None, None]
            # (batch, channels, time, height, width) -> (batch, channels)
            video_embeds = last_hidden_state.mean(dim=(2, 3, 4))
        if self.stand_ins is not None:
            batch_size = (pixel_values_videos if audio_inputs is None else audio_inputs).shape[0]
            video_embeds = where_present(video_embeds, self.stand_ins.video_embeds, video_mask, batch_size)
            audio_embeds = where_present(audio_embeds, self.stand_ins.audio_embeds, audio_mask, batch_size)
        pooler_output = torch.cat([embeds for embeds in (video_embeds, audio_embeds) if embeds is not None], dim=1)

        return TACFNModelOutput(
            last_hidden_state=last_hidden_state,
            pooler_output=pooler_output,
            video_embeds=video_embeds,
            audio_embeds=audio_embeds,
            attentions=weights if output_attentions else None,
            video_hidden_states=video_maps if output_hidden_states else None,
            audio_hidden_states=audio.hidden_states if output_hidden_states and audio is not None else None,
        )

    def _encode_audio(self, audio_inputs: torch.Tensor, attention_mask: torch.Tensor | None) -> AudioEncoding:
        """The audio encoder's output in one form for both kinds of encoder."""
        if self.config.audio_config is not None:
            return self.audio_encoder(audio_inputs, attention_mask)
        blocks = self.audio_encoder(audio_inputs)
        # (batch, channels, steps) -> the selection's (batch, steps, channels) and the classifier's channel-major
        # (batch, channels * steps)
        return AudioEncoding(blocks[-1].transpose(1, 2), blocks[-1].flatten(1), None, blocks)

    def _fuse(
        self, video_map: torch.Tensor, audio: AudioEncoding | None, audio_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The fusion block over the video map, driven by each clip's selected audio summary or, for clips without
        audio, the learned audio-summary stand-in."""
        summary = None if audio is None else self.fusion.selection(audio.sequence, audio.lengths)  # (batch, hidden)
        summary = where_present(summary, self.stand_ins.audio_summary, audio_mask, video_map.shape[0])
        return self.fusion.reinforce(video_map, summary)


class TACFNForAudioVisualClassification(TACFNPreTrainedModel):
    """TACFN with a linear classifier over the clip representation (emotion recognition)."""

    def __init__(self, config: TACFNConfig):
        super().__init__(config)
        # the class name matches no entry of Transformers' LOSS_MAPPING; its loss is that of every video classifier
        self.loss_type = "ForVideoClassification"
        self.tacfn = TACFNModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    @can_return_tuple
    def forward(
        self,
        pixel_values_videos: torch.Tensor | None = None,
        input_features: torch.Tensor | None = None,
        video_mask: torch.Tensor | None = None,
        audio_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        input_values: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> TACFNAudioVisualClassifierOutput:
        r"""
        pixel_values_videos, input_features, input_values, attention_mask, video_mask, audio_mask, output_attentions,
        output_hidden_states:
            As in [`TACFNModel`].
        labels (`torch.LongTensor` of shape `(batch_size,)` or `torch.FloatTensor` of shape `(batch_size, num_labels)`):
            Class indices for single-label classification, multi-hot targets for
            `problem_type="multi_label_classification"`, or values for regression when `num_labels == 1`. The loss is
            Transformers' classification loss: cross-entropy, binary cross-entropy or mean squared error by
            `config.problem_type` (inferred from `num_labels` and the labels' dtype when unset).
        """
        outputs = self.tacfn(
            pixel_values_videos,
            input_features,
            video_mask=video_mask,
            audio_mask=audio_mask,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            input_values=input_values,
            attention_mask=attention_mask,
            return_dict=True,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output))  # (batch, hidden) -> (batch, num_labels)
        loss = self.loss_function(labels, logits, self.config, **kwargs) if labels is not None else None
        return TACFNAudioVisualClassifierOutput(
            loss=loss,
            logits=logits,
            attentions=outputs.attentions,
            video_hidden_states=outputs.video_hidden_states,
            audio_hidden_states=outputs.audio_hidden_states,
        )


__all__ = [
    "TACFNPreTrainedModel",
    "TACFNModel",
    "TACFNForAudioVisualClassification",
    "TACFNModelOutput",
    "TACFNAudioVisualClassifierOutput",
]
