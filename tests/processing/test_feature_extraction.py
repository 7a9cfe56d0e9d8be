"""TACFNFeatureExtractor: parity with the published librosa recipe, input layouts, and clear errors."""

import json

import librosa
import numpy as np
import pytest
import soundfile
import torch

from processing import TACFNFeatureExtractor
from tests import media


def librosa_reference(wav_path, offset=0.5, duration=2.45, sampling_rate=44100, n_mfcc=13):
    """The published preprocessing (MSAF / CFN-SR `mfcc_features`)."""
    waveform, rate = librosa.load(str(wav_path), sr=sampling_rate, offset=offset, duration=duration)
    return librosa.feature.mfcc(y=waveform, sr=rate, n_mfcc=n_mfcc)


def test_matches_librosa_on_a_stereo_48khz_recording(speech_wav):
    expected = librosa_reference(speech_wav)
    samples, rate = soundfile.read(str(speech_wav), dtype="float32")  # (samples, 2)
    features = TACFNFeatureExtractor()(samples.T, sampling_rate=rate)["input_features"]
    assert features.shape == (1, 13, 212) and features.dtype == np.float32
    assert expected.shape == (13, 212)
    assert np.abs(features[0] - expected).max() < 1e-2
    # the window is not trivial: every coefficient varies over time
    assert (expected.std(axis=1) > 0.5).all()


def test_int16_samples_give_the_same_features_as_librosa(speech_wav):
    samples, rate = soundfile.read(str(speech_wav), dtype="int16")
    features = TACFNFeatureExtractor()(samples, sampling_rate=rate)["input_features"]
    assert np.abs(features[0] - librosa_reference(speech_wav)).max() < 1e-2


def test_channel_layouts_and_mono_mix_agree(speech):
    extractor = TACFNFeatureExtractor()
    channels_first = extractor(speech, sampling_rate=48000)["input_features"]
    channels_last = extractor(speech.T, sampling_rate=48000)["input_features"]
    mono_mix = extractor(speech.mean(axis=0), sampling_rate=48000)["input_features"]
    left_only = extractor(speech[0], sampling_rate=48000)["input_features"]
    np.testing.assert_array_equal(channels_first, channels_last)
    np.testing.assert_allclose(channels_first, mono_mix, atol=1e-3)
    assert np.abs(channels_first - left_only).max() > 0.1


def test_audio_at_the_target_rate_is_not_resampled(tmp_path):
    audio = media.speech_like_audio(3.2, 44100, channels=1, seed=5)[0]
    wav = media.write_wav(tmp_path / "mono44k.wav", audio, 44100, subtype="FLOAT")
    features = TACFNFeatureExtractor()(audio, sampling_rate=44100)["input_features"]
    assert np.abs(features[0] - librosa_reference(wav)).max() < 1e-2


def test_short_audio_is_zero_padded(speech):
    extractor = TACFNFeatureExtractor()
    short = speech[:, : 48000 * 2]  # 2 s: the window [0.5 s, 2.95 s) runs 0.95 s past the end
    padded = np.concatenate([short, np.zeros((2, 48000), dtype=np.float32)], axis=1)
    np.testing.assert_allclose(
        extractor(short, sampling_rate=48000)["input_features"],
        extractor(padded, sampling_rate=48000)["input_features"],
        atol=1e-4,
    )
    # shorter than the offset: the whole window is silence
    silence = extractor(np.zeros(100, dtype=np.float32), sampling_rate=48000)["input_features"]
    tiny = extractor(speech[:, :100], sampling_rate=48000)["input_features"]
    np.testing.assert_array_equal(tiny, silence)


def test_batches_from_lists_and_return_tensors(speech):
    extractor = TACFNFeatureExtractor()
    quiet = speech * 0.1
    batch = extractor([speech, torch.from_numpy(quiet), speech[0].tolist()], sampling_rate=48000, return_tensors="pt")
    features = batch["input_features"]
    assert isinstance(features, torch.Tensor) and features.shape == (3, 13, 212) and features.dtype == torch.float32
    single = extractor(speech, sampling_rate=48000)["input_features"]
    torch.testing.assert_close(features[0], torch.from_numpy(single[0]))
    # 20 dB quieter shifts c0 (the log-energy term) down
    assert features[1, 0].mean() < features[0, 0].mean() - 50


def test_small_and_custom_settings_change_the_shape(speech):
    extractor = TACFNFeatureExtractor(num_mfcc=8, audio_offset=0.0, audio_duration=1.0, hop_length=256)
    features = extractor(speech, sampling_rate=48000)["input_features"]
    assert features.shape == (1, 8, 1 + 44100 // 256) == (1, 8, extractor.num_audio_frames)


def test_save_and_load_round_trip_every_setting(tmp_path):
    extractor = TACFNFeatureExtractor(
        num_mfcc=20, audio_offset=0.25, audio_duration=2.0, n_fft=1024, hop_length=256, num_mel_bins=64, top_db=60.0
    )
    extractor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    assert "mel_filters" not in saved and "window" not in saved
    loaded = TACFNFeatureExtractor.from_pretrained(tmp_path)
    assert loaded.to_dict() == extractor.to_dict()
    audio = media.speech_like_audio(3.0, 16000, seed=2)
    np.testing.assert_array_equal(
        loaded(audio, sampling_rate=16000)["input_features"], extractor(audio, sampling_rate=16000)["input_features"]
    )


@pytest.mark.parametrize(
    "audio, sampling_rate, message",
    [
        (np.ones(48000, dtype=np.float32), None, "sampling_rate"),
        (np.ones(48000, dtype=np.float32), -8000, "positive integer"),
        (np.array([0.0, np.nan, 0.0] * 1000, dtype=np.float32), 48000, "NaN or infinite"),
        (np.full(48000, np.inf, dtype=np.float64), 48000, "NaN or infinite"),
        (np.zeros((2, 3, 48000), dtype=np.float32), 48000, "shape"),
        (np.zeros((16, 48000), dtype=np.float32), 48000, "at most 8 channels"),
        (np.zeros((4, 4), dtype=np.float32), 48000, "at most 8 channels"),
        (np.zeros(0, dtype=np.float32), 48000, "no samples"),
        (np.zeros(48000, dtype=np.uint8), 48000, "type uint8"),
        ([], 48000, "empty list"),
    ],
)
def test_bad_audio_raises_a_value_error_naming_the_problem(audio, sampling_rate, message):
    with pytest.raises(ValueError, match=message):
        TACFNFeatureExtractor()(audio, sampling_rate=sampling_rate)


def test_bad_clip_in_a_batch_is_named():
    good = np.zeros(48000, dtype=np.float32)
    bad = np.array([np.nan] * 48000, dtype=np.float32)
    with pytest.raises(ValueError, match=r"audio\[1\] holds NaN"):
        TACFNFeatureExtractor()([good, bad], sampling_rate=48000)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"num_mfcc": 0}, "num_mfcc must be positive"),
        ({"hop_length": -1}, "hop_length must be positive"),
        ({"audio_offset": -0.5}, "audio_offset"),
        ({"num_mfcc": 200, "num_mel_bins": 128}, "cannot exceed num_mel_bins"),
    ],
)
def test_impossible_settings_are_rejected(settings, message):
    with pytest.raises(ValueError, match=message):
        TACFNFeatureExtractor(**settings)
