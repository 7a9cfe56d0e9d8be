"""Resampling mono audio to the feature extractor's rate: soxr's high-quality filter (what `librosa.load(sr=...)`
uses) or, as the published preprocessing did, libswresample's default filter to 16-bit PCM (`ffmpeg -ar RATE`)."""

import av
import numpy as np
import soxr


def resample_audio(waveform: np.ndarray, sampling_rate: int, target_rate: int) -> np.ndarray:
    """Resample mono audio with soxr's high-quality filter (what `librosa.load(sr=...)` uses); float32 (samples,)."""
    if sampling_rate == target_rate:
        return waveform
    return soxr.resample(waveform, sampling_rate, target_rate, quality="HQ")


def resample_audio_to_pcm16(waveform: np.ndarray, sampling_rate: int, target_rate: int) -> np.ndarray:
    """Resample mono float audio to 16-bit PCM with libswresample's default filter, as `ffmpeg -ar RATE out.wav` does,
    read back as float32 samples / 32768 as soundfile reads a 16-bit wav; (samples,) -> (resampled samples,)."""
    frame = av.AudioFrame.from_ndarray(np.asarray(waveform, dtype=np.float32)[None], format="fltp", layout="mono")
    frame.sample_rate, frame.pts = sampling_rate, 0
    resampler = av.AudioResampler(format="s16", layout="mono", rate=target_rate)
    # the flush (`None`) returns the samples still held in the filter; each chunk is (1, samples) int16
    chunks = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([chunk.to_ndarray()[0] for chunk in chunks]).astype(np.float32) / 32768.0
