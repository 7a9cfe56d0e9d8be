"""Named model and preprocessing settings: `tiny` for CPU demos and tests, `ravdess` and `iemocap` for the published
settings. `training/train.py --config NAME`, `hub_configs/build.py` and the benchmarks read them from here."""

import copy

from transformers import AutoImageProcessor, VideoMAEConfig, Wav2Vec2Config

from modeling_tacfn import TACFNConfig
from modeling_tacfn.configuration_tacfn import RAVDESS_EMOTIONS
from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor, TACFNWaveformFeatureExtractor

from .datasets import IEMOCAP_EMOTIONS


MODEL_PRESETS = {
    "tiny": dict(
        num_frames=8,
        image_size=64,
        video_stem_channels=16,
        video_layers=[1, 1, 1],
        video_hidden_sizes=[32, 64, 128],
        video_cardinality=8,
        fusion_num_layers=2,
        id2label=dict(enumerate(RAVDESS_EMOTIONS)),
    ),
    "ravdess": dict(id2label=dict(enumerate(RAVDESS_EMOTIONS))),
    "iemocap": dict(id2label=dict(enumerate(IEMOCAP_EMOTIONS))),
    # TACFN fusion over wav2vec2-base and VideoMAE-base: Transformers' default configurations of these architectures
    # (the base sizes), named after the repositories whose weights `--audio_encoder` / `--video_encoder` load
    "wav2vec2-videomae": dict(
        audio_config=Wav2Vec2Config(name_or_path="facebook/wav2vec2-base"),
        video_config=VideoMAEConfig(name_or_path="MCG-NJU/videomae-base"),
        id2label=dict(enumerate(RAVDESS_EMOTIONS)),
    ),
}


def model_config(name: str, **overrides) -> TACFNConfig:
    """The configuration of a preset (`tiny`, `ravdess`, `iemocap`) or of a saved model folder / config file path."""
    if name in MODEL_PRESETS:
        return TACFNConfig(**{**copy.deepcopy(MODEL_PRESETS[name]), **overrides})
    return TACFNConfig.from_pretrained(name, **overrides)


def processor_for(
    config: TACFNConfig, audio_source: str | None = None, video_source: str | None = None, **video_settings
) -> TACFNProcessor:
    """The processor whose outputs fit `config`: its frame count and size, and the published audio recipe (13 MFCC
    of 2.45 s from 0.5 s in) or, over a pretrained speech encoder (`config.audio_config`), that encoder's waveform
    preprocessing. `audio_source` / `video_source` name the pretrained encoders' repositories or folders, whose own
    preprocessing settings are then used (the speech encoder's sampling rate and normalisation, the video encoder's
    image mean and standard deviation); without them the encoders' usual defaults apply (16 kHz, per-clip
    normalisation, ImageNet statistics). A fused model's processor marks a missing modality
    (`missing_modality="mask"`), since the model answers from the other one. `video_settings` go to the video
    processor (e.g. `channel_order="bgr"`)."""
    if config.audio_config is not None:
        extractor_class = TACFNWaveformFeatureExtractor
        feature_extractor = extractor_class.from_pretrained(audio_source) if audio_source else extractor_class()
    else:
        feature_extractor = TACFNFeatureExtractor(num_mfcc=config.num_mfcc)
        if config.num_audio_frames != feature_extractor.num_audio_frames:
            raise ValueError(
                f"the published audio recipe gives {feature_extractor.num_audio_frames} MFCC frames; this config "
                f"expects {config.num_audio_frames}."
            )
    if video_source:
        image_processor = AutoImageProcessor.from_pretrained(video_source)
        statistics = {"image_mean": image_processor.image_mean, "image_std": image_processor.image_std}
        video_settings = {**statistics, **video_settings}
    return TACFNProcessor(
        feature_extractor=feature_extractor,
        video_processor=TACFNVideoProcessor(
            num_frames=config.num_frames, size={"height": config.image_size, "width": config.image_size}, **video_settings
        ),
        missing_modality="mask" if config.modality == "both" else "error",
    )
