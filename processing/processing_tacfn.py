"""Processor for TACFN: one call from a talking-face clip to `pixel_values_videos` and `input_features`."""

import os
import warnings
from typing import Optional, Union

import numpy as np
from transformers import BatchFeature
from transformers.processing_utils import ProcessorMixin
from transformers.utils import TensorType

from .feature_extraction_tacfn import TACFNFeatureExtractor, to_mono_float
from .media_io_tacfn import read_audio_head
from .video_processing_tacfn import TACFNVideoProcessor, as_list_of_videos, one_entry_per_clip


class TACFNProcessor(ProcessorMixin):
    r"""
    Holds a [`TACFNVideoProcessor`] and a [`TACFNFeatureExtractor`] and turns clips into both model inputs at once.

    Given a video file and no separate audio, the file's own audio track is used: PyAV decodes only the first
    `audio_offset + audio_duration` seconds and averages the channels, which is what librosa gives on the track
    extracted to a wav (decord's `AudioReader` mono mix is 1.41x louder, so it is not used). Frames are decoded with
    PyAV too, on one thread and only up to the last sampled frame; they are pixel-identical to decord's, at about
    two thirds of decord's cost (see `benchmarks/preprocessing.py`).

    Args:
        feature_extractor ([`TACFNFeatureExtractor`]): Audio -> MFCC `input_features`.
        video_processor ([`TACFNVideoProcessor`]): Frames -> `pixel_values_videos`.
    """

    def __init__(self, feature_extractor: TACFNFeatureExtractor, video_processor: TACFNVideoProcessor):
        super().__init__(feature_extractor=feature_extractor, video_processor=video_processor)

    def to_dict(self) -> dict:
        """
        The processor's configuration. When saved for remote code, its `auto_map` names all three classes
        (`AutoProcessor`, `AutoFeatureExtractor`, `AutoVideoProcessor`), not only the processor's own, so the whole
        folder's code is visible from `processor_config.json`.
        """
        output = super().to_dict()
        if "auto_map" in output:
            for attribute in self.get_attributes():
                output["auto_map"].update(output[attribute].get("auto_map", {}))
        return output

    def __call__(
        self,
        videos=None,
        audio=None,
        sampling_rate: Optional[Union[int, list]] = None,
        landmarks=None,
        return_tensors: Optional[Union[str, TensorType]] = TensorType.PYTORCH,
        require_audio: bool = True,
        **kwargs,
    ) -> BatchFeature:
        """
        Preprocess one clip or a batch of clips.

        Args:
            videos (`str`, `os.PathLike`, `np.ndarray`, `torch.Tensor` or a list of those):
                Video files (mp4, avi, mov, mkv, ...) or uint8 RGB frame arrays, as [`TACFNVideoProcessor`] takes
                them. A list (or a 5-D array) is a batch.
            audio (`np.ndarray`, `torch.Tensor`, `str`, `os.PathLike` or a list of those, *optional*):
                One entry per clip: a waveform (1-D, or 2-D multi-channel as [`TACFNFeatureExtractor`] takes it), an
                audio or video file whose audio track to use, or `None` to use the clip's own audio track (video
                files only). Leaving `audio` out altogether does the same for every clip.
            sampling_rate (`int` or `list[int]`, *optional*):
                Sampling rate of the waveforms in `audio` (one for all, or one per clip); required with waveforms.
            landmarks (`str`, `os.PathLike`, `np.ndarray` or a list of those, *optional*):
                Per clip, an OpenFace landmark CSV or a landmark array; see [`TACFNVideoProcessor.preprocess`].
            return_tensors (`str` or [`~utils.TensorType`], *optional*, defaults to `"pt"`):
                `"pt"` for torch tensors, `"np"` for NumPy arrays.
            require_audio (`bool`, *optional*, defaults to `True`):
                With `False`, a clip without audio (a video file with no audio track, or frames with no waveform)
                gets silence and a warning instead of a `ValueError`.
            kwargs:
                Settings of the video processor for this call only, e.g. `do_augment=True`, `channel_order="bgr"`.

        Returns:
            [`BatchFeature`] with `pixel_values_videos` (batch, num_frames, 3, height, width) and `input_features`
            (batch, num_mfcc, num_audio_frames), both float32.
        """
        if videos is None:
            raise ValueError(f"{self.__class__.__name__} needs videos (a path, frames, or a list of them).")
        clips = as_list_of_videos(videos)
        waveforms = self._collect_audio(clips, audio, sampling_rate, require_audio)
        video_inputs = self.video_processor(clips, landmarks=landmarks, return_tensors=return_tensors, **kwargs)
        audio_inputs = self._extract_features(waveforms, return_tensors)
        return BatchFeature({**video_inputs, **audio_inputs}, tensor_type=return_tensors)

    def _collect_audio(self, clips: list, audio, sampling_rate, require_audio: bool) -> list:
        """One `(mono waveform, sampling rate)` per clip, `(None, None)` for a clip that gets silence."""
        entries = _as_list_of_audio(audio, len(clips))
        rates = _as_list_of_rates(sampling_rate, len(clips))
        # the feature extractor reads nothing after the end of its window
        head_seconds = self.feature_extractor.audio_offset + self.feature_extractor.audio_duration
        waveforms = []
        for index, (clip, entry, rate) in enumerate(zip(clips, entries, rates)):
            source = entry if entry is not None else clip
            if isinstance(source, (str, os.PathLike)):
                waveforms.append(self._audio_from_file(source, entry, head_seconds, require_audio))
            elif entry is None:
                waveforms.append(
                    _silence_or_error(f"videos[{index}] is a frame array and no audio was given", require_audio)
                )
            else:
                if rate is None:
                    raise ValueError(
                        f"audio[{index}] is a waveform: pass its sampling_rate (e.g. sampling_rate=48000)."
                    )
                waveforms.append((to_mono_float(entry, f"audio[{index}]"), int(rate)))
        return waveforms

    def _audio_from_file(self, source, entry, head_seconds: float, require_audio: bool) -> tuple:
        """Decode the needed head of a file's audio track; a file without one gets silence or a `ValueError`."""
        source = os.fspath(source)
        role = "video" if entry is None else "audio"
        decoded = read_audio_head(source, head_seconds, role=role)
        if decoded is None:
            hint = "pass audio=..., or require_audio=False for silence" if entry is None else "give another file"
            return _silence_or_error(f"{role} file {source!r} has no audio track ({hint})", require_audio)
        return decoded

    def _extract_features(self, waveforms: list, return_tensors) -> BatchFeature:
        """MFCCs for every clip; `(None, None)` entries get the MFCCs of silence."""
        extractor = self.feature_extractor
        silence = (np.zeros(1, dtype=np.float32), extractor.sampling_rate)
        features = [
            extractor.extract(*(silence if waveform is None else (waveform, rate))) for waveform, rate in waveforms
        ]
        # list of (num_mfcc, frames) -> (batch, num_mfcc, frames)
        return BatchFeature({"input_features": np.stack(features).astype(np.float32)}, tensor_type=return_tensors)


def _silence_or_error(problem: str, require_audio: bool) -> tuple:
    """`(None, None)` (silence) with a warning when audio is optional, else a `ValueError` describing `problem`."""
    if require_audio:
        raise ValueError(f"{problem}.")
    warnings.warn(f"{problem}; using silence.")
    return None, None


def _as_list_of_audio(audio, num_clips: int) -> list:
    """One audio entry (waveform, file or `None`) per clip; a list of numbers is one waveform, not a batch."""
    if isinstance(audio, (list, tuple)) and all(isinstance(value, (int, float, np.number)) for value in audio):
        audio = np.asarray(audio)
    return one_entry_per_clip(audio, num_clips, "audio")


def _as_list_of_rates(sampling_rate, num_clips: int) -> list:
    """One sampling rate (or `None`) per clip, each checked to be a positive integer."""
    if isinstance(sampling_rate, (list, tuple)):
        if len(sampling_rate) != num_clips:
            raise ValueError(f"got {len(sampling_rate)} sampling rates for {num_clips} videos; give one per video.")
        rates = list(sampling_rate)
    else:
        rates = [sampling_rate] * num_clips
    for rate in rates:
        if rate is not None and (not isinstance(rate, (int, np.integer)) or rate <= 0):
            raise ValueError(f"sampling_rate must be a positive integer number of Hz, got {rate!r}.")
    return rates
