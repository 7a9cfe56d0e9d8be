"""The sub-configurations of pretrained Transformers encoders inside a [`TACFNConfig`]: reading them from `config.json`
dicts, and the facts about them the TACFN model needs (the tubelet grid of a video Transformer)."""

from transformers import AutoConfig, PretrainedConfig


def as_encoder_config(value: dict | PretrainedConfig | None, name: str) -> PretrainedConfig | None:
    """A sub-configuration as a Transformers config: `None` stays `None` (the built-in encoder), a dict (as read from
    `config.json`) becomes the config class of its `model_type`."""
    if value is None or isinstance(value, PretrainedConfig):
        return value
    if not isinstance(value, dict) or "model_type" not in value:
        raise ValueError(f"{name} must be a Transformers config or a dict with its `model_type`, got {value!r}.")
    settings = dict(value)
    return AutoConfig.for_model(settings.pop("model_type"), **settings)


def check_audio_encoder_config(config: PretrainedConfig) -> None:
    """A pretrained audio encoder must be a raw-waveform speech model (a convolutional feature encoder with a
    `conv_stride` per layer, as wav2vec2, HuBERT and WavLM have)."""
    if not hasattr(config, "conv_stride") or not hasattr(config, "hidden_size"):
        raise ValueError(
            f"audio_config of type {config.model_type!r} is not a raw-waveform speech encoder (wav2vec2, HuBERT, "
            "WavLM, ...): it has no convolutional feature encoder (`conv_stride`)."
        )


def video_token_grid(config: PretrainedConfig) -> tuple[int, int, int]:
    """(time, height, width) of a video Transformer's patch tokens: frames / tubelet length and image side / patch
    side. VideoMAE gives `tubelet_size` (time) and `patch_size` (space), ViViT a `tubelet_size` of (time, height,
    width)."""
    tubelet = getattr(config, "tubelet_size", None)
    if tubelet is None or not hasattr(config, "image_size") or not hasattr(config, "num_frames"):
        raise ValueError(
            f"video_config of type {config.model_type!r} is not a video Transformer with tubelet patches (VideoMAE, "
            "ViViT): it needs `tubelet_size`, `image_size` and `num_frames`."
        )
    if isinstance(tubelet, int):
        time_stride, patch_height, patch_width = tubelet, config.patch_size, config.patch_size
    else:
        time_stride, patch_height, patch_width = tubelet
    image_height, image_width = (config.image_size,) * 2 if isinstance(config.image_size, int) else config.image_size
    return config.num_frames // time_stride, image_height // patch_height, image_width // patch_width


__all__ = ["as_encoder_config", "check_audio_encoder_config", "video_token_grid"]
