"""Building a TACFN model over pretrained Transformers encoders named on the Hub (or saved in folders)."""

from transformers import AutoConfig, AutoModel


def load_pretrained_encoders(model_class, config_class, audio: str | None, video: str | None, **config_kwargs):
    """A `model_class` whose `audio_config` / `video_config` are those of the encoders `audio` / `video` (repository
    names or folders; `None` keeps the built-in encoder), with the encoders' pretrained weights loaded into it."""
    if audio is None and video is None:
        raise ValueError("from_encoders needs an `audio` or a `video` encoder name (or both).")
    model = model_class(config_class(**encoder_configs(audio, video), **config_kwargs))
    load_encoder_weights(model, audio, video)
    return model


def encoder_configs(audio: str | None, video: str | None) -> dict:
    """`audio_config` / `video_config` keyword arguments of a TACFNConfig: the configurations of the named encoders."""
    sources = {"audio_config": audio, "video_config": video}
    return {name: AutoConfig.from_pretrained(source) for name, source in sources.items() if source}


def load_encoder_weights(model, audio: str | None, video: str | None) -> None:
    """Loads the pretrained weights of the named encoders into the pretrained encoders of a TACFN `model`."""
    for name, source in (("audio", audio), ("video", video)):
        if source:
            wrapper = getattr(model.base_model, f"{name}_encoder")
            pretrained = AutoModel.from_pretrained(source, config=wrapper.model.config)
            wrapper.model.load_state_dict(pretrained.state_dict())


__all__ = ["encoder_configs", "load_encoder_weights", "load_pretrained_encoders"]
