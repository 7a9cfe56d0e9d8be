"""Feature extractor for TACFN over a pretrained raw-waveform speech encoder (wav2vec2, HuBERT, WavLM): the encoder's
own [`Wav2Vec2FeatureExtractor`] applied to a fixed window of the clip, resampled to the encoder's rate."""

from typing import Optional, Union

import numpy as np
from transformers import BatchFeature, Wav2Vec2FeatureExtractor
from transformers.utils import TensorType

from .feature_extraction_tacfn import _as_list_of_clips, cut_audio_window, to_mono_float


class TACFNWaveformFeatureExtractor(Wav2Vec2FeatureExtractor):
    r"""
    A [`Wav2Vec2FeatureExtractor`] (the preprocessing of wav2vec2, HuBERT, WavLM and the other raw-waveform speech
    encoders) that takes clips at any sampling rate: the channels are averaged, the window `[audio_offset, audio_offset
    + audio_duration)` is cut at the input's own rate (zero-padded when the audio is shorter) and resampled to
    `sampling_rate` with soxr's high-quality filter; then the encoder's own processing applies (zero-mean, unit-variance
    normalisation per clip when `do_normalize`). Every clip gives the same number of samples, so a batch needs no
    padding. Loading it from an encoder's repository (`from_pretrained("facebook/wav2vec2-base")`) takes that encoder's
    settings.

    Args:
        audio_offset (`float`, *optional*, defaults to 0.0):
            Start of the window, in seconds from the start of the clip.
        audio_duration (`float`, *optional*, defaults to 3.0):
            Length of the window in seconds (RAVDESS statements last about 3 s).
        kwargs:
            Passed to [`Wav2Vec2FeatureExtractor`]: `sampling_rate` (defaults to 16000), `do_normalize` (defaults to
            `True`), `padding_value`, `return_attention_mask`.
    """

    def __init__(self, audio_offset: float = 0.0, audio_duration: float = 3.0, **kwargs):
        super().__init__(**kwargs)
        if audio_offset < 0 or audio_duration <= 0:
            raise ValueError(
                f"{self.__class__.__name__}: audio_offset must be >= 0 and audio_duration > 0, got {audio_offset} and "
                f"{audio_duration}."
            )
        self.audio_offset = audio_offset
        self.audio_duration = audio_duration

    @property
    def audio_read_seconds(self) -> float:
        """Seconds from the start of a track that the features depend on (the window's end)."""
        return self.audio_offset + self.audio_duration

    def __call__(
        self,
        raw_speech: Union[np.ndarray, list],
        sampling_rate: Optional[int] = None,
        return_tensors: Optional[Union[str, TensorType]] = None,
        **kwargs,
    ) -> BatchFeature:
        """
        The encoder's `input_values` of one clip or a batch of clips.

        Args:
            raw_speech (`np.ndarray`, `torch.Tensor`, `list[float]` or a list of those):
                One clip or a list of clips, as [`TACFNFeatureExtractor`] takes them (1-D mono or 2-D multi-channel;
                a 2-D array is one clip, never a batch).
            sampling_rate (`int`):
                Sampling rate of `raw_speech` in Hz; required.
            return_tensors (`str` or [`~utils.TensorType`], *optional*):
                `"pt"` for torch tensors, `"np"` or `None` for NumPy arrays.
            kwargs:
                Passed to [`Wav2Vec2FeatureExtractor.__call__`].

        Returns:
            [`BatchFeature`] with `input_values` of shape (batch, audio_duration x sampling_rate), float32.
        """
        if not isinstance(sampling_rate, (int, np.integer)) or sampling_rate <= 0:
            raise ValueError(
                f"{self.__class__.__name__} needs the sampling_rate of the audio as a positive integer number of Hz "
                f"(e.g. sampling_rate=48000), got {sampling_rate!r}; it resamples to {self.sampling_rate} Hz itself."
            )
        windows = [
            cut_audio_window(
                to_mono_float(clip, f"audio[{index}]"),
                int(sampling_rate),
                self.audio_offset,
                self.audio_duration,
                self.sampling_rate,
                self.padding_value,
            )
            for index, clip in enumerate(_as_list_of_clips(raw_speech))
        ]
        return super().__call__(
            windows, sampling_rate=self.sampling_rate, return_tensors=return_tensors or TensorType.NUMPY, **kwargs
        )


__all__ = ["TACFNWaveformFeatureExtractor"]
