"""Building a TACFN model over pretrained Transformers encoders named on the Hub (or saved in folders)."""

from transformers import AutoConfig, AutoModel


def load_pretrained_encoders(model_class, config_class, audio: str | None, video: str | None, **config_kwargs):
    """A `model_class` whose `audio_config` / `video_config` are those of the encoders `audio` / `video` (repository
    names or folders; `None` keeps the built-in encoder), with the encoders' pretrained weights loaded into it."""
    if audio is None and video is None:
        raise ValueError("from_encoders needs an `audio` or a `video` encoder name (or both).")
    sources = {"audio": audio, "video": video}
    encoder_configs = {f"{name}_config": AutoConfig.from_pretrained(source) for name, source in sources.items() if source}
    model = model_class(config_class(**encoder_configs, **config_kwargs))
    for name, source in sources.items():
        if source:
            wrapper = getattr(model.base_model, f"{name}_encoder")
            pretrained = AutoModel.from_pretrained(source, config=wrapper.model.config)
            wrapper.model.load_state_dict(pretrained.state_dict())
    return model


__all__ = ["load_pretrained_encoders"]
