"""Feature extractor for TACFN: a waveform -> 13 MFCC x 212 frames, the published RAVDESS audio recipe."""

import warnings
from functools import lru_cache
from typing import Optional, Union

import numpy as np
from transformers import BatchFeature, SequenceFeatureExtractor
from transformers.audio_utils import mel_filter_bank, spectrogram, window_function
from transformers.utils import TensorType

from .audio_resampling_tacfn import resample_audio, resample_audio_to_pcm16


MAX_CHANNELS = 8
RESAMPLING_MODES = ("window_soxr", "track_swr_s16")
PAD_MODES = ("constant", "reflect")
# audio read past the window's end when the whole track is resampled, so that the resampling filter's tail sees the
# samples after the window as it does on the whole track (libswresample's default filter spans a few dozen samples)
TRACK_RESAMPLING_MARGIN = 0.1
INTEGER_SCALES = {np.dtype(np.int16): 32768.0, np.dtype(np.int32): 2147483648.0}


class TACFNFeatureExtractor(SequenceFeatureExtractor):
    r"""
    Turns a waveform into TACFN's audio input: MFCCs of a fixed window of the clip, computed as
    `librosa.feature.mfcc(y=librosa.load(wav, sr=44100, offset=0.5, duration=2.45)[0], sr=44100, n_mfcc=13)` does in
    the published preprocessing, without librosa: the channels are averaged, the window `[audio_offset, audio_offset +
    audio_duration)` is cut at the input's own sampling rate (zero-padded when the audio is shorter), resampled to
    `sampling_rate` with soxr's high-quality filter, and turned into a power mel spectrogram (centred frames with zero
    padding, Hann window, slaney mel scale and norm), decibels with an 80 dB range and an orthonormal DCT-II.
    `resampling` and `pad_mode` switch the resampling and the STFT padding to the published environment's (what the
    checkpoint converter sets).

    Args:
        num_mfcc (`int`, *optional*, defaults to 13):
            MFCC coefficients per frame (`feature_size` of the extractor).
        sampling_rate (`int`, *optional*, defaults to 44100):
            Rate the audio is resampled to before the spectrogram.
        audio_offset (`float`, *optional*, defaults to 0.5):
            Start of the analysed window, in seconds from the start of the clip.
        audio_duration (`float`, *optional*, defaults to 2.45):
            Length of the analysed window in seconds.
        n_fft (`int`, *optional*, defaults to 2048):
            FFT size and window length of the short-time Fourier transform.
        hop_length (`int`, *optional*, defaults to 512):
            Samples between successive frames.
        num_mel_bins (`int`, *optional*, defaults to 128):
            Mel filters between 0 Hz and the Nyquist frequency.
        top_db (`float`, *optional*, defaults to 80.0):
            Dynamic range kept by the decibel conversion, below the loudest value of the clip.
        padding_value (`float`, *optional*, defaults to 0.0):
            Sample value used to pad audio shorter than the window.
        resampling (`str`, *optional*, defaults to `"window_soxr"`):
            How the audio reaches `sampling_rate`. `"window_soxr"` cuts the window at the input's rate and resamples
            it alone with soxr, as `librosa.load(offset=..., duration=...)` of the source does. `"track_swr_s16"`
            resamples the whole input to 16-bit PCM with libswresample first and cuts the window afterwards, as the
            published preprocessing did (`ffmpeg -ar 44100` to a wav, then `librosa.load` of that wav; the channels
            are averaged before resampling, which differs from averaging the resampled 16-bit channels by at most one
            16-bit step). [`TACFNProcessor`] decodes only the head of a track; with `"track_swr_s16"` it reads
            `audio_read_seconds`, 0.1 s past the window's end, so the resampling filter sees the samples after the
            window and the window is the same as that of the whole track resampled.
        pad_mode (`str`, *optional*, defaults to `"constant"`):
            How the centred STFT pads the window's ends: `"constant"` (zeros, librosa 0.9 and later) or `"reflect"`
            (librosa before 0.9, the published environment's: it pinned no librosa version and predates 0.9).
        kwargs:
            Passed to [`SequenceFeatureExtractor`].
    """

    model_input_names = ["input_features"]

    def __init__(
        self,
        num_mfcc: int = 13,
        sampling_rate: int = 44100,
        audio_offset: float = 0.5,
        audio_duration: float = 2.45,
        n_fft: int = 2048,
        hop_length: int = 512,
        num_mel_bins: int = 128,
        top_db: float = 80.0,
        padding_value: float = 0.0,
        resampling: str = "window_soxr",
        pad_mode: str = "constant",
        **kwargs,
    ):
        kwargs.setdefault("return_attention_mask", False)
        # saved configs repeat num_mfcc as the generic `feature_size`
        if kwargs.pop("feature_size", num_mfcc) != num_mfcc:
            raise ValueError(f"{self.__class__.__name__}: feature_size must equal num_mfcc ({num_mfcc}).")
        super().__init__(feature_size=num_mfcc, sampling_rate=sampling_rate, padding_value=padding_value, **kwargs)
        self.num_mfcc = num_mfcc
        self.audio_offset = audio_offset
        self.audio_duration = audio_duration
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.num_mel_bins = num_mel_bins
        self.top_db = top_db
        self.resampling = resampling
        self.pad_mode = pad_mode
        self._validate_settings()
        self.window = window_function(n_fft, "hann")
        self.mel_filters = mel_filter_bank(
            num_frequency_bins=n_fft // 2 + 1,
            num_mel_filters=num_mel_bins,
            min_frequency=0.0,
            max_frequency=sampling_rate / 2,
            sampling_rate=sampling_rate,
            norm="slaney",
            mel_scale="slaney",
        )

    @property
    def num_audio_frames(self) -> int:
        """MFCC frames per clip: 212 for 2.45 s at 44.1 kHz with a hop of 512."""
        return 1 + self.window_samples // self.hop_length

    @property
    def audio_read_seconds(self) -> float:
        """Seconds from the start of a track that the features depend on: the window's end, plus
        `TRACK_RESAMPLING_MARGIN` when the whole track is resampled."""
        margin = TRACK_RESAMPLING_MARGIN if self.resampling == "track_swr_s16" else 0.0
        return self.audio_offset + self.audio_duration + margin

    @property
    def window_samples(self) -> int:
        """Samples of the analysed window at `sampling_rate` (108045 for the published setting)."""
        return int(round(self.audio_duration * self.sampling_rate))

    def __call__(
        self,
        raw_speech: Union[np.ndarray, list],
        sampling_rate: Optional[int] = None,
        return_tensors: Optional[Union[str, TensorType]] = None,
    ) -> BatchFeature:
        """
        Compute the MFCCs of one clip or a batch of clips.

        Args:
            raw_speech (`np.ndarray`, `torch.Tensor`, `list[float]` or a list of those):
                One clip or a list of clips. A clip is 1-D `(samples,)` mono audio, or 2-D multi-channel audio laid
                out `(channels, samples)` or `(samples, channels)` (the axis with at most 8 entries is the channel
                axis); channels are averaged. Unlike speech feature extractors, a 2-D array is one multi-channel clip,
                never a batch: pass a list for a batch. Float samples are taken as they are (nominally in [-1, 1]);
                int16 and int32 samples are scaled to [-1, 1) as soundfile and librosa do.
            sampling_rate (`int`):
                Sampling rate of `raw_speech` in Hz; required, since audio at another rate than assumed would give
                wrong features silently.
            return_tensors (`str` or [`~utils.TensorType`], *optional*):
                `"pt"` for a torch tensor, `"np"` for a NumPy array, `None` for a NumPy array as well.

        Returns:
            [`BatchFeature`] with `input_features` of shape (batch, num_mfcc, num_audio_frames), float32.
        """
        if sampling_rate is None:
            raise ValueError(
                f"{self.__class__.__name__} needs the sampling_rate of the audio (e.g. sampling_rate=48000); "
                f"it resamples to {self.sampling_rate} Hz itself."
            )
        if not isinstance(sampling_rate, (int, np.integer)) or sampling_rate <= 0:
            raise ValueError(f"sampling_rate must be a positive integer number of Hz, got {sampling_rate!r}.")
        clips = _as_list_of_clips(raw_speech)
        features = [
            self.extract(to_mono_float(clip, f"audio[{index}]"), int(sampling_rate))
            for index, clip in enumerate(clips)
        ]
        # list of (num_mfcc, frames) -> (batch, num_mfcc, frames)
        input_features = np.stack(features).astype(np.float32)
        return BatchFeature({"input_features": input_features}, tensor_type=return_tensors or TensorType.NUMPY)

    def extract(self, waveform: np.ndarray, sampling_rate: int) -> np.ndarray:
        """
        MFCCs of one mono clip.

        Args:
            waveform (`np.ndarray`): float32 mono samples, shape (samples,), finite.
            sampling_rate (`int`): Sampling rate of `waveform` in Hz.

        Returns:
            `np.ndarray` of shape (num_mfcc, num_audio_frames), float32.
        """
        window = self.cut_window(waveform, sampling_rate)
        log_mel = spectrogram(
            window,
            self.window,
            frame_length=self.n_fft,
            hop_length=self.hop_length,
            fft_length=self.n_fft,
            power=2.0,
            center=True,
            pad_mode=self.pad_mode,
            mel_filters=self.mel_filters,
            log_mel="dB",
            reference=1.0,
            min_value=1e-10,
            db_range=self.top_db,
        )
        # (num_mel_bins, frames) -> (num_mfcc, frames)
        return dct_matrix(self.num_mfcc, self.num_mel_bins) @ log_mel

    def cut_window(self, waveform: np.ndarray, sampling_rate: int) -> np.ndarray:
        """
        The analysed window of a mono clip, resampled to `self.sampling_rate`.

        With `resampling="window_soxr"` the window is cut at the input rate first and resampled afterwards, as
        `librosa.load(offset=..., duration=...)` does, so the result matches librosa's to float precision; with
        `"track_swr_s16"` the whole input is resampled to 16-bit PCM first and the window cut afterwards.

        Args:
            waveform (`np.ndarray`): float32 mono samples, shape (samples,).
            sampling_rate (`int`): Sampling rate of `waveform` in Hz.

        Returns:
            `np.ndarray` of shape (window_samples,), float32.
        """
        if self.resampling == "track_swr_s16":
            waveform = resample_audio_to_pcm16(waveform, sampling_rate, self.sampling_rate)
            sampling_rate = self.sampling_rate
        return cut_audio_window(
            waveform, sampling_rate, self.audio_offset, self.audio_duration, self.sampling_rate, self.padding_value
        )

    def _validate_settings(self) -> None:
        """Raise `ValueError` for settings that cannot give a spectrogram."""
        positive = {
            "num_mfcc": self.num_mfcc,
            "sampling_rate": self.sampling_rate,
            "audio_duration": self.audio_duration,
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "num_mel_bins": self.num_mel_bins,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{self.__class__.__name__}: {name} must be positive, got {value}.")
        if self.audio_offset < 0:
            raise ValueError(f"{self.__class__.__name__}: audio_offset must be >= 0, got {self.audio_offset}.")
        choices = {"resampling": (self.resampling, RESAMPLING_MODES), "pad_mode": (self.pad_mode, PAD_MODES)}
        for name, (value, allowed) in choices.items():
            if value not in allowed:
                raise ValueError(f"{self.__class__.__name__}: {name} must be one of {allowed}, got {value!r}.")
        if self.num_mfcc > self.num_mel_bins:
            raise ValueError(
                f"{self.__class__.__name__}: num_mfcc ({self.num_mfcc}) cannot exceed num_mel_bins "
                f"({self.num_mel_bins})."
            )


@lru_cache(maxsize=8)
def dct_matrix(num_coefficients: int, num_inputs: int) -> np.ndarray:
    """
    The first `num_coefficients` rows of the orthonormal DCT-II matrix of size `num_inputs` (what
    `scipy.fft.dct(x, type=2, norm="ortho")` applies), shape (num_coefficients, num_inputs), float64.
    """
    coefficient = np.arange(num_coefficients)[:, None]
    position = np.arange(num_inputs)[None, :]
    basis = np.cos(np.pi / num_inputs * (position + 0.5) * coefficient) * np.sqrt(2.0 / num_inputs)
    basis[0] /= np.sqrt(2.0)
    return basis


def cut_audio_window(
    waveform: np.ndarray, sampling_rate: int, offset: float, duration: float, target_rate: int, padding_value: float
) -> np.ndarray:
    """The window `[offset, offset + duration)` seconds of mono `waveform`, cut at its own `sampling_rate` (padded,
    with a warning that says by how much, when the audio is shorter) and resampled to `target_rate` with soxr: float32
    (round(duration * target_rate),)."""
    start, length = int(round(offset * sampling_rate)), int(round(duration * sampling_rate))
    window = waveform[start : start + length]
    if len(window) < length:
        padding = (length - len(window)) / sampling_rate
        warnings.warn(
            f"the audio is {len(waveform) / sampling_rate:.2f} s long, shorter than the {offset:.2f} s + "
            f"{duration:.2f} s the model hears: padded with {padding:.2f} s of silence."
        )
        window = np.pad(window, (0, length - len(window)), constant_values=padding_value)
    target_length = int(round(duration * target_rate))
    window = resample_audio(window, sampling_rate, target_rate)[:target_length]
    if len(window) < target_length:
        window = np.pad(window, (0, target_length - len(window)), constant_values=padding_value)
    return window.astype(np.float32)


def _as_list_of_clips(raw_speech) -> list:
    """Split the accepted input layouts into a list of clips (a 2-D array is one multi-channel clip)."""
    if isinstance(raw_speech, (list, tuple)):
        if len(raw_speech) == 0:
            raise ValueError("audio is an empty list; pass at least one clip.")
        if all(isinstance(value, (int, float, np.number)) for value in raw_speech):
            return [np.asarray(raw_speech, dtype=np.float32)]
        return list(raw_speech)
    return [raw_speech]


def to_mono_float(clip, name: str) -> np.ndarray:
    """
    Check one clip and return it as float32 mono samples, the mean of its channels.

    Args:
        clip (`np.ndarray`, `torch.Tensor` or `list[float]`): 1-D mono or 2-D multi-channel audio (see `__call__`).
        name (`str`): How to call the clip in error messages, e.g. `"audio[2]"`.

    Returns:
        `np.ndarray` of shape (samples,), float32.
    """
    array = _to_numpy(clip, name)
    if array.dtype in INTEGER_SCALES:
        array = array.astype(np.float32) / INTEGER_SCALES[array.dtype]
    elif np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32, copy=False)
    else:
        raise ValueError(f"{name} has samples of type {array.dtype}; use float32/float64, int16 or int32.")
    if array.ndim == 2:
        array = array.mean(axis=_channel_axis(array.shape, name))
    elif array.ndim != 1:
        raise ValueError(
            f"{name} has shape {array.shape}: expected (samples,) or (channels, samples); pass a list for a batch."
        )
    if array.size == 0:
        raise ValueError(f"{name} holds no samples.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite samples.")
    return array


def _to_numpy(clip, name: str) -> np.ndarray:
    """Convert a NumPy array, a torch tensor or a list of numbers to a NumPy array, or raise `ValueError`."""
    if hasattr(clip, "detach") and hasattr(clip, "cpu"):
        return clip.detach().cpu().numpy()
    try:
        return np.asarray(clip)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} is not an array of samples: {error}") from error


def _channel_axis(shape: tuple, name: str) -> int:
    """Axis of a 2-D clip that holds the channels: the one with at most `MAX_CHANNELS` entries."""
    rows, columns = shape
    if rows <= MAX_CHANNELS < columns:
        return 0
    if columns <= MAX_CHANNELS < rows:
        return 1
    raise ValueError(
        f"{name} has shape {shape}: a 2-D clip must be (channels, samples) or (samples, channels) with at most "
        f"{MAX_CHANNELS} channels and more samples than channels; pass a list of clips for a batch."
    )
