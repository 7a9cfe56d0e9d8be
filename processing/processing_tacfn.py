"""Processor for TACFN: one call from a talking-face clip to `pixel_values_videos` and `input_features`."""

import os
import warnings
from typing import Optional, Union

import numpy as np
from transformers import BatchFeature
from transformers.processing_utils import ProcessingKwargs, ProcessorMixin

from .feature_extraction_tacfn import TACFNFeatureExtractor, to_mono_float
from .media_io_tacfn import Clip, read_audio_head
from .timeline_tacfn import recording_duration, timeline_windows
from .missing_modality_tacfn import check_missing_modality, check_no_face, rows_with_zeros
from .video_inputs_tacfn import describe_clip
from .video_processing_tacfn import (
    TACFNVideoProcessor,
    TACFNVideoProcessorKwargs,
    as_list_of_videos,
    one_entry_per_clip,
)
from .waveform_feature_extraction_tacfn import TACFNWaveformFeatureExtractor


# the video settings that decide which frames of a file are decoded (and from where its own audio track is read)
DECODING_SETTINGS = ("num_frames", "pre_crop_size", "video_start", "video_end", "frame_region", "frame_sampling")
# outputs that stay Python lists (one entry per clip)
UNTENSORED = ["crop_sources"]
# a video file longer than this many times the audio the model hears gets a warning that the rest was not heard
LONG_CLIP_FACTOR = 2


class TACFNProcessorKwargs(ProcessingKwargs, total=False):
    """Keyword arguments of [`TACFNProcessor`]: the video processor's settings and per-call inputs, `require_audio`,
    `missing_modality` and `no_face`."""

    videos_kwargs: TACFNVideoProcessorKwargs
    require_audio: bool
    missing_modality: str
    no_face: str


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
        missing_modality (`str`, *optional*, defaults to `"error"`): What a clip without audio (a video file with no
            audio track) or without video (an audio file: wav, mp3, m4a, an mp4 without a video stream, or `audio=`
            given without `videos`) becomes. `"error"`: a `ValueError` naming the file. `"mask"`: the outputs gain
            `video_mask` and `audio_mask` (bool, (batch,)), `False` for the missing modality, whose rows are zeros;
            a fused TACFN model answers such clips from the other modality (the processor saved with a fused model
            uses it). Either way `require_audio=False` keeps the older fallback: silence for a clip without audio.
        no_face (`str`, *optional*, defaults to `"centre_crop"`): What a video becomes when the face detector finds no
            face in any of its detection frames (and no landmarks are given). `"centre_crop"`: the centred square of
            every frame, with a warning. `"missing"` (needs `missing_modality="mask"`): the clip's video is marked
            missing (`video_mask=False`, with a warning), so a fused model answers from the voice alone. The default
            keeps the video: the detector also misses faces that are there (profile, dim light, small in the frame),
            and a talking-head recording centre-cropped still shows the face most of the time.
    """

    videos_kwargs = {"return_tensors": "pt"}
    require_audio = True

    def __init__(
        self,
        feature_extractor: TACFNFeatureExtractor | TACFNWaveformFeatureExtractor,
        video_processor: TACFNVideoProcessor,
        missing_modality="error",
        no_face="centre_crop",
    ):
        super().__init__(feature_extractor=feature_extractor, video_processor=video_processor)
        self.missing_modality = check_missing_modality(missing_modality)
        self.no_face = check_no_face(no_face)

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
            videos (`str`, `os.PathLike`, `np.ndarray`, `torch.Tensor` or a list of those, *optional*):
                Video files (mp4, avi, mov, mkv, ...) or uint8 RGB frame arrays, as [`TACFNVideoProcessor`] takes
                them. A list (or a 5-D array) is a batch. With `missing_modality="mask"`, entries may be audio files
                (their clips have no video), and `videos` may be left out for clips of audio alone.
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
                  track, or frames with no waveform) gets silence and a warning instead of a `ValueError` (or, with
                  `missing_modality="mask"`, instead of `audio_mask=False`).
                - `missing_modality` and `no_face` (default to the processor's): see the class doc.
                - Settings of the video processor for this call only, e.g. `do_augment=True`, `channel_order="bgr"`
                  (also as `videos_kwargs={...}`).

        Returns:
            [`BatchFeature`] with `pixel_values_videos` (batch, num_frames, 3, height, width; left out when `videos`
            is) and `input_features` (batch, num_mfcc, num_audio_frames), or `input_values` (batch, samples) with a
            waveform feature extractor, float32, and with `missing_modality="mask"` the boolean `video_mask` and
            `audio_mask` (batch,).
        """
        processor_kwargs = (*TACFNProcessorKwargs.__annotations__, "return_tensors")
        self.video_processor.reject_unknown_kwargs(kwargs, also_allowed=processor_kwargs)
        merged = self._merge_kwargs(TACFNProcessorKwargs, **kwargs)
        masking = check_missing_modality(merged["missing_modality"]) == "mask"
        faceless_missing = check_no_face(merged["no_face"]) == "missing"
        if faceless_missing and not masking:
            raise ValueError("no_face='missing' marks a clip's video missing: it needs missing_modality='mask'.")
        video_kwargs = merged["videos_kwargs"]
        if videos is None and (audio is None or not masking):
            hint = "" if audio is None else "; for audio alone pass missing_modality='mask'"
            raise ValueError(f"{self.__class__.__name__} needs videos (a path, frames, or a list of them){hint}.")
        clips = [None] * _count_clips(audio) if videos is None else as_list_of_videos(videos)
        entries = _as_list_of_audio(audio, len(clips))
        rates = _as_list_of_rates(sampling_rate, len(clips))
        # the feature extractor's features depend on nothing after this
        head_seconds = self.feature_extractor.audio_read_seconds
        decoding = {name: video_kwargs[name] for name in DECODING_SETTINGS if name in video_kwargs}
        own_track = [entry is None and isinstance(clip, (str, os.PathLike)) for clip, entry in zip(clips, entries)]
        # every video file is opened once, for its frames and (when it gives its own audio track) its audio together;
        # with masking, a file without a video stream is the audio of a clip without video
        decoded = [
            self.video_processor.load_clip(
                clip, audio_seconds=head_seconds if own else None, allow_no_video=masking, **decoding
            ) if isinstance(clip, (str, os.PathLike)) else clip
            for clip, own in zip(clips, own_track)
        ]  # fmt: skip
        clips = [None if isinstance(clip, Clip) and not clip.frames else clip for clip in decoded]
        if decoding.get("video_start") is None:
            for clip, own in zip(clips, own_track):
                if own and clip is not None and clip.info.duration > LONG_CLIP_FACTOR * head_seconds:
                    self._warn_long_clip(clip.info)
        fallback = "silence" if not merged["require_audio"] else "mask" if masking else "error"
        waveforms = [
            self._clip_audio(index, clip if own else None, entry, rate, head_seconds, fallback)
            for index, (clip, own, entry, rate) in enumerate(zip(decoded, own_track, entries, rates))
        ]
        audio_inputs = self._extract_features(waveforms)
        if not masking:
            video_inputs = self.video_processor(clips, **video_kwargs)
            outputs = {**video_inputs, **audio_inputs}
            return BatchFeature(outputs, tensor_type=video_kwargs["return_tensors"], skip_tensor_conversion=UNTENSORED)
        return self._masked_batch(clips, videos is not None, waveforms, audio_inputs, video_kwargs, faceless_missing)

    def timeline_windows(self, video, window: float, stride: float) -> list[tuple[float, float]]:
        """The windows `(start, end)` (seconds) of a timeline over a video file (see `timeline_tacfn`); each is one
        call with `video_start=start, video_end=end`, whose audio is read from the window's start."""
        return timeline_windows(recording_duration(video), window, stride)

    def _warn_long_clip(self, info) -> None:
        """Warn that only the head of a long video file's audio track was heard."""
        start, duration = self.feature_extractor.audio_offset, self.feature_extractor.audio_duration
        warnings.warn(
            f"video file {info.path!r} is {info.duration:.1f} s long; the model heard only its audio from "
            f"{start:.2f} s to {start + duration:.2f} s. Predict it as a timeline of windows instead (tacfn predict "
            "--window 3.5 --stride 3.5, or the pipeline's predict_timeline)."
        )

    def _masked_batch(
        self, clips: list, with_videos: bool, waveforms: list, audio_inputs: dict, video_kwargs: dict, faceless_missing
    ):
        """The outputs with `video_mask` / `audio_mask` (`missing_modality="mask"`): zeros in the rows of the missing
        modality; no `pixel_values_videos` when no videos were given. With `faceless_missing`, a video in which no
        face was found counts as missing."""
        video_mask = np.array([clip is not None for clip in clips])
        audio_mask = np.array([waveform is not MISSING for waveform in waveforms])
        outputs = {**audio_inputs, "video_mask": video_mask, "audio_mask": audio_mask}
        if with_videos and video_mask.any():
            with_frames = [clip for clip in clips if clip is not None]
            video_outputs = self.video_processor(with_frames, **{**video_kwargs, "return_crop_sources": True})
            processed, sources = iter(video_outputs["pixel_values_videos"]), iter(video_outputs["crop_sources"])
            pixels = [next(processed) if has_video else None for has_video in video_mask]
            crop_sources = [next(sources) if has_video else None for has_video in video_mask]
            shape = next(row for row in pixels if row is not None).shape
            if faceless_missing:
                for index, source in enumerate(crop_sources):
                    if source == "centre":
                        name = describe_clip(clips[index], index)
                        warnings.warn(f"{name} shows no face: its video is marked missing (no_face='missing').")
                        video_mask[index], pixels[index] = False, None
            outputs["pixel_values_videos"] = rows_with_zeros(pixels, shape)
            if video_kwargs.get("return_crop_sources"):
                outputs["crop_sources"] = crop_sources
        elif with_videos:
            settings = {**self.video_processor.to_dict(), **video_kwargs}
            shape = (settings["num_frames"], 3, settings["size"]["height"], settings["size"]["width"])
            outputs["pixel_values_videos"] = np.zeros((len(clips), *shape), np.float32)
        if video_kwargs.get("return_crop_sources") and "crop_sources" not in outputs:
            outputs["crop_sources"] = [None] * len(clips)
        if not (video_mask | audio_mask).all():
            empty = (~(video_mask | audio_mask)).nonzero()[0].tolist()
            raise ValueError(f"clips {empty} have neither video nor audio: give each clip at least one of the two.")
        return BatchFeature(outputs, tensor_type=video_kwargs["return_tensors"], skip_tensor_conversion=UNTENSORED)

    def _clip_audio(self, index: int, decoded, entry, rate, head_seconds: float, fallback: str) -> tuple:
        """The `(mono waveform, sampling rate)` of one clip, `(None, None)` for a clip that gets silence, `MISSING`
        for one whose audio is marked missing. `decoded` is the clip's decoded video file when its own audio track is
        used, else `None`. `fallback` says what a clip without audio gets: "error", "silence" or "mask"."""
        if decoded is not None:
            if decoded.audio is None:
                hint = "pass audio=..., missing_modality='mask', or require_audio=False for silence"
                problem = f"video file {decoded.info.path!r} has no audio track ({hint})"
                return _without_audio(problem, fallback)
            return decoded.audio
        if isinstance(entry, (str, os.PathLike)):
            decoded = read_audio_head(entry, head_seconds)
            if decoded is None:
                problem = f"audio file {os.fspath(entry)!r} has no audio track (give another file)"
                return _without_audio(problem, fallback)
            return decoded
        if entry is None:
            return _without_audio(f"videos[{index}] is a frame array and no audio was given", fallback)
        if rate is None:
            raise ValueError(f"audio[{index}] is a waveform: pass its sampling_rate (e.g. sampling_rate=48000).")
        return to_mono_float(entry, f"audio[{index}]"), int(rate)

    def _extract_features(self, waveforms: list) -> dict:
        """The audio features (MFCCs, or a speech encoder's `input_values`) of every clip through the feature
        extractor; `(None, None)` entries get the features of silence, `MISSING` ones zeros."""
        rate = self.feature_extractor.sampling_rate
        silence = (np.zeros(int(self.feature_extractor.audio_read_seconds * rate), dtype=np.float32), rate)
        features = [
            None if entry is MISSING else self._features(*(silence if entry[0] is None else entry)) for entry in waveforms
        ]
        shape = next((row.shape for row in features if row is not None), None) or self._features(*silence).shape
        # list of (num_mfcc, frames) -> (batch, num_mfcc, frames), or list of (samples,) -> (batch, samples)
        return {self.feature_extractor.model_input_names[0]: rows_with_zeros(features, shape)}

    def _features(self, waveform: np.ndarray, sampling_rate: int) -> np.ndarray:
        name = self.feature_extractor.model_input_names[0]
        return self.feature_extractor(waveform, sampling_rate=sampling_rate)[name][0]


# `_clip_audio`'s answer for a clip whose audio is marked missing (`missing_modality="mask"`)
MISSING = object()


def _without_audio(problem: str, fallback: str):
    """What a clip without audio gets: `(None, None)` (silence) with a warning, `MISSING`, or a `ValueError`
    describing `problem`."""
    if fallback == "error":
        raise ValueError(f"{problem}.")
    if fallback == "mask":
        return MISSING
    warnings.warn(f"{problem}; using silence.")
    return None, None


def _count_clips(audio) -> int:
    """Clips in an `audio` argument given without videos: one per entry of a list of waveforms or files (a list of
    numbers is one waveform)."""
    numbers = isinstance(audio, (list, tuple)) and all(isinstance(value, (int, float, np.number)) for value in audio)
    return len(audio) if isinstance(audio, (list, tuple)) and not numbers else 1


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
