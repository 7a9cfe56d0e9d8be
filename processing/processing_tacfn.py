"""Processor for TACFN: one call from a talking-face clip to `pixel_values_videos` and `input_features`."""

import os
import warnings
from typing import Optional, Union

import numpy as np
from transformers import BatchFeature
from transformers.processing_utils import ProcessingKwargs, ProcessorMixin

from .feature_extraction_tacfn import TACFNFeatureExtractor, to_mono_float
from .media_io_tacfn import read_audio_head
from .video_processing_tacfn import (
    TACFNVideoProcessor,
    TACFNVideoProcessorKwargs,
    as_list_of_videos,
    one_entry_per_clip,
)
from .waveform_feature_extraction_tacfn import TACFNWaveformFeatureExtractor


# the video settings that decide which frames of a file are decoded (and from where its own audio track is read)
DECODING_SETTINGS = ("num_frames", "pre_crop_size", "video_start", "video_end", "frame_region")


class TACFNProcessorKwargs(ProcessingKwargs, total=False):
    """Keyword arguments of [`TACFNProcessor`]: the video processor's settings and per-call inputs, and
    `require_audio`."""

    videos_kwargs: TACFNVideoProcessorKwargs
    require_audio: bool


class TACFNProcessor(ProcessorMixin):
    r"""
    Holds a [`TACFNVideoProcessor`] and a [`TACFNFeatureExtractor`] and turns clips into both model inputs at once.

    Given a video file and no separate audio, the file's own audio track is used, read from the same open container
    as the frames: PyAV decodes only the first `audio_offset + audio_duration` seconds (from `video_start` with a time
    window) and averages the channels, which is what librosa gives on the track extracted to a wav (decord's
    `AudioReader` mono mix is 1.41x louder, so it is not used). Frames are decoded with PyAV too, on one thread and
    only up to the last sampled frame; they are pixel-identical to decord's, at about two thirds of decord's cost (see
    `benchmarks/preprocessing.py`). Keyword arguments are merged by `ProcessorMixin._merge_kwargs` (defaults are the
    class attributes `videos_kwargs` and `require_audio`).

    Args:
        feature_extractor ([`TACFNFeatureExtractor`] or [`TACFNWaveformFeatureExtractor`]): Audio -> MFCC
            `input_features`, or a pretrained speech encoder's `input_values`.
        video_processor ([`TACFNVideoProcessor`]): Frames -> `pixel_values_videos`.
    """

    videos_kwargs = {"return_tensors": "pt"}
    require_audio = True

    def __init__(
        self,
        feature_extractor: TACFNFeatureExtractor | TACFNWaveformFeatureExtractor,
        video_processor: TACFNVideoProcessor,
    ):
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
            kwargs:
                - `landmarks`, `video_start` / `video_end` (a time window) and `frame_region` (`"left"`, `"right"` or
                  a box): the video processor's per-call inputs, see [`TACFNVideoProcessor.preprocess`]. An IEMOCAP
                  utterance is `processor(videos=dialog_avi, audio=utterance_wav, video_start=start,
                  video_end=end, frame_region="left")`.
                - `return_tensors` (defaults to `"pt"`): `"pt"` for torch tensors, `"np"` for NumPy arrays.
                - `require_audio` (defaults to `True`): with `False`, a clip without audio (a video file with no audio
                  track, or frames with no waveform) gets silence and a warning instead of a `ValueError`.
                - Settings of the video processor for this call only, e.g. `do_augment=True`, `channel_order="bgr"`
                  (also as `videos_kwargs={...}`).

        Returns:
            [`BatchFeature`] with `pixel_values_videos` (batch, num_frames, 3, height, width) and `input_features`
            (batch, num_mfcc, num_audio_frames), or `input_values` (batch, samples) with a waveform feature extractor;
            float32.
        """
        if videos is None:
            raise ValueError(f"{self.__class__.__name__} needs videos (a path, frames, or a list of them).")
        processor_kwargs = (*TACFNProcessorKwargs.__annotations__, "return_tensors")
        self.video_processor.reject_unknown_kwargs(kwargs, also_allowed=processor_kwargs)
        merged = self._merge_kwargs(TACFNProcessorKwargs, **kwargs)
        video_kwargs = merged["videos_kwargs"]
        clips = as_list_of_videos(videos)
        entries = _as_list_of_audio(audio, len(clips))
        rates = _as_list_of_rates(sampling_rate, len(clips))
        # the feature extractor's features depend on nothing after this
        head_seconds = self.feature_extractor.audio_read_seconds
        decoding = {name: video_kwargs[name] for name in DECODING_SETTINGS if name in video_kwargs}
        own_track = [entry is None and isinstance(clip, (str, os.PathLike)) for clip, entry in zip(clips, entries)]
        # a video file that gives its own audio track is opened once, for its frames and its audio together
        clips = [
            self.video_processor.load_clip(clip, audio_seconds=head_seconds, **decoding) if own else clip
            for clip, own in zip(clips, own_track)
        ]
        waveforms = [
            self._clip_audio(index, clip if own else None, entry, rate, head_seconds, merged["require_audio"])
            for index, (clip, own, entry, rate) in enumerate(zip(clips, own_track, entries, rates))
        ]
        video_inputs = self.video_processor(clips, **video_kwargs)
        audio_inputs = self._extract_features(waveforms)
        return BatchFeature({**video_inputs, **audio_inputs}, tensor_type=video_kwargs["return_tensors"])

    def _clip_audio(self, index: int, decoded, entry, rate, head_seconds: float, require_audio: bool) -> tuple:
        """The `(mono waveform, sampling rate)` of one clip, `(None, None)` for a clip that gets silence. `decoded` is
        the clip's decoded video file when its own audio track is used, else `None`."""
        if decoded is not None:
            if decoded.audio is None:
                hint = "pass audio=..., or require_audio=False for silence"
                problem = f"video file {decoded.info.path!r} has no audio track ({hint})"
                return _silence_or_error(problem, require_audio)
            return decoded.audio
        if isinstance(entry, (str, os.PathLike)):
            decoded = read_audio_head(entry, head_seconds)
            if decoded is None:
                problem = f"audio file {os.fspath(entry)!r} has no audio track (give another file)"
                return _silence_or_error(problem, require_audio)
            return decoded
        if entry is None:
            return _silence_or_error(f"videos[{index}] is a frame array and no audio was given", require_audio)
        if rate is None:
            raise ValueError(f"audio[{index}] is a waveform: pass its sampling_rate (e.g. sampling_rate=48000).")
        return to_mono_float(entry, f"audio[{index}]"), int(rate)

    def _extract_features(self, waveforms: list) -> dict:
        """The audio features (MFCCs, or a speech encoder's `input_values`) of every clip through the feature
        extractor; `(None, None)` entries get the features of silence."""
        silence = (np.zeros(1, dtype=np.float32), self.feature_extractor.sampling_rate)
        name = self.feature_extractor.model_input_names[0]
        features = [
            self.feature_extractor(waveform, sampling_rate=rate)[name][0]
            for waveform, rate in (silence if waveform is None else (waveform, rate) for waveform, rate in waveforms)
        ]
        # list of (num_mfcc, frames) -> (batch, num_mfcc, frames), or list of (samples,) -> (batch, samples)
        return {name: np.stack(features).astype(np.float32)}


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
