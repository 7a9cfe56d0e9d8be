"""Checking a TACFN model's inputs before anything reaches the encoders: the tensors' shapes and batch sizes, and which
clips carry which modality (the per-clip `video_mask` / `audio_mask` of a fused model with a modality missing)."""

import torch

from .configuration_tacfn import TACFNConfig


def check_inputs(
    config: TACFNConfig,
    pixel_values_videos: torch.Tensor | None,
    input_features: torch.Tensor | None,
    video_mask: torch.Tensor | None = None,
    audio_mask: torch.Tensor | None = None,
    input_values: torch.Tensor | None = None,
    attention_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Raises a ValueError naming the input and the problem. Returns the video and audio masks the model applies: `None`
    where every clip has that modality, else a boolean tensor of shape (batch,) (all `False` for an absent tensor).
    A fused model takes either modality alone; every clip must keep at least one modality that the model has. The
    audio comes as `input_features` (MFCC, built-in encoder) or `input_values` (waveform, `config.audio_config`)."""
    if pixel_values_videos is not None:
        _check_video_shape(config, pixel_values_videos)
    if config.audio_config is None:
        _check_unused(input_values, "input_values", "input_features (MFCC)")
        _check_unused(attention_mask, "attention_mask", "input_features (MFCC), without padding")
        if input_features is not None:
            expected = (config.num_mfcc, config.num_audio_frames)
            if input_features.ndim != 3 or tuple(input_features.shape[1:]) != expected:
                raise ValueError(
                    f"`input_features` must have shape (batch, {expected[0]}, {expected[1]}), "
                    f"got {tuple(input_features.shape)}."
                )
    else:
        _check_unused(input_features, "input_features", "input_values (a waveform)")
        input_features = input_values  # the audio tensor, for the checks below
        if input_values is not None:
            if input_values.ndim != 2:
                raise ValueError(f"`input_values` must have shape (batch, samples), got {tuple(input_values.shape)}.")
            if attention_mask is not None and attention_mask.shape != input_values.shape:
                raise ValueError(
                    f"`attention_mask` must have the shape of `input_values` {tuple(input_values.shape)}, got "
                    f"{tuple(attention_mask.shape)}."
                )
    audio_name = config.audio_input_name
    if pixel_values_videos is None and input_features is None:
        raise ValueError(f"a {config.modality!r} TACFN model needs `pixel_values_videos` or `{audio_name}`.")
    if pixel_values_videos is not None and input_features is not None:
        if pixel_values_videos.shape[0] != input_features.shape[0]:
            raise ValueError(
                f"`pixel_values_videos` holds {pixel_values_videos.shape[0]} clips but `{audio_name}` "
                f"{input_features.shape[0]}."
            )
    present = pixel_values_videos if pixel_values_videos is not None else input_features
    batch_size, device = present.shape[0], present.device
    video_mask = _modality_mask("video", pixel_values_videos, video_mask, batch_size, device)
    audio_mask = _modality_mask("audio", input_features, audio_mask, batch_size, device, audio_name)
    _check_every_clip_is_usable(config, video_mask, audio_mask)
    return video_mask, audio_mask


def _check_video_shape(config: TACFNConfig, pixel_values_videos: torch.Tensor) -> None:
    """(batch, frames, channels, height, width); a pretrained video encoder also fixes the frames and their size."""
    if pixel_values_videos.ndim != 5 or pixel_values_videos.shape[2] != config.num_channels:
        raise ValueError(
            "`pixel_values_videos` must have shape (batch, frames, "
            f"{config.num_channels}, height, width), got {tuple(pixel_values_videos.shape)}."
        )
    expected = (config.num_frames, config.num_channels, config.image_size, config.image_size)
    if config.video_config is not None and tuple(pixel_values_videos.shape[1:]) != expected:
        raise ValueError(
            f"`pixel_values_videos` must have shape (batch, {', '.join(map(str, expected))}) for this model's "
            f"{config.video_config.model_type} video encoder, got {tuple(pixel_values_videos.shape)}."
        )


def _check_unused(value: torch.Tensor | None, name: str, takes: str) -> None:
    if value is not None:
        raise ValueError(f"`{name}` was given, but this model's audio encoder takes {takes}.")


def _modality_mask(
    modality: str,
    values: torch.Tensor | None,
    mask: torch.Tensor | None,
    batch_size: int,
    device: torch.device,
    name: str = "pixel_values_videos",
) -> torch.Tensor | None:
    """The checked mask of one modality: `None` when every clip has it, else (batch,) booleans."""
    if mask is not None:
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(mask.shape) != (batch_size,):
            described = f"{mask.dtype} tensor of shape {tuple(mask.shape)}" if isinstance(mask, torch.Tensor) else mask
            raise ValueError(f"`{modality}_mask` must be a bool tensor of shape ({batch_size},), got {described}.")
        if values is None and bool(mask.any()):
            raise ValueError(f"`{modality}_mask` marks clips as having {modality} but no `{name}` were given.")
    if values is None:
        return torch.zeros(batch_size, dtype=torch.bool, device=device)
    return mask


def _check_every_clip_is_usable(
    config: TACFNConfig, video_mask: torch.Tensor | None, audio_mask: torch.Tensor | None
) -> None:
    """A unimodal model needs its modality in every clip; the fused model needs one of the two."""
    if config.modality == "video":
        usable = video_mask
    elif config.modality == "audio":
        usable = audio_mask
    elif video_mask is None or audio_mask is None:
        usable = None
    else:
        usable = video_mask | audio_mask
    if usable is not None and not bool(usable.all()):
        clips = (~usable).nonzero().flatten().tolist()
        needs = "neither video nor audio" if config.modality == "both" else f"no {config.modality}"
        raise ValueError(f"clips {clips} have {needs}, which a {config.modality!r} TACFN model needs to answer.")


def where_present(
    values: torch.Tensor | None, stand_in: torch.Tensor, mask: torch.Tensor | None, batch_size: int
) -> torch.Tensor:
    """`values` (batch, width) for the clips whose `mask` is True and `stand_in` (width,) for the others, chosen per
    clip with `torch.where` (so a clip's row depends on nothing else in the batch); `values` untouched when `mask` is
    `None`, the stand-in for every clip when `values` is `None`. The stand-in gets gradient only from the clips it
    stands in for."""
    if values is None:
        return stand_in.expand(batch_size, -1)
    if mask is None:
        return values
    return torch.where(mask[:, None], values, stand_in.to(values.dtype))


__all__ = ["check_inputs", "where_present"]
