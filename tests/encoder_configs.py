"""Tiny random configurations of pretrained Transformers encoders, for TACFN models over them (no download)."""

from transformers import HubertConfig, VideoMAEConfig, VivitConfig, Wav2Vec2Config, WavLMConfig


# a conv feature encoder of stride 20 (800 frames per second at 16 kHz), two Transformer layers
_SPEECH = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=37,
    conv_dim=(16, 16),
    conv_stride=(5, 4),
    conv_kernel=(10, 8),
    num_conv_pos_embeddings=16,
    num_conv_pos_embedding_groups=2,
)
_VIDEO = dict(
    image_size=32, num_frames=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37
)

AUDIO_ENCODERS = {
    "wav2vec2": lambda **kwargs: Wav2Vec2Config(**{**_SPEECH, **kwargs}),
    "hubert": lambda **kwargs: HubertConfig(**{**_SPEECH, **kwargs}),
    "wavlm": lambda **kwargs: WavLMConfig(**{**_SPEECH, **kwargs}),
}
# patch tokens on a (2, 4, 4) grid
VIDEO_ENCODERS = {
    "videomae": lambda: VideoMAEConfig(patch_size=8, tubelet_size=2, **_VIDEO),
    "vivit": lambda: VivitConfig(tubelet_size=[2, 8, 8], **_VIDEO),
}
# the fusion over them: width 16, one selection layer
FUSION_KWARGS = dict(audio_projection_size=16, fusion_num_heads=2, fusion_num_layers=1)


def encoder_config(audio: str | None = "wav2vec2", video: str | None = "videomae", **kwargs):
    """A TACFNConfig over the named tiny encoders (`None` keeps that built-in encoder)."""
    from modeling_tacfn import TACFNConfig

    encoders = {}
    if audio:
        encoders["audio_config"] = AUDIO_ENCODERS[audio]()
    if video:
        encoders["video_config"] = VIDEO_ENCODERS[video]()
    return TACFNConfig(**encoders, **FUSION_KWARGS, **kwargs)
