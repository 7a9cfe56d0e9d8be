"""The published audio preprocessing: the whole track resampled to 16-bit PCM at 44.1 kHz (`ffmpeg -ar 44100`) before
the window is cut, and librosa's MFCC with either STFT padding, against references computed here with PyAV and
librosa."""

import av
import librosa
import numpy as np
import pytest

from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor
from processing.media_io_tacfn import read_audio_head
from processing.media_writing import write_clip
from tests import media


FPS = 30000 / 1001
DURATION = 3.5
SOURCE_RATE = 48000
TARGET_RATE = 44100
WINDOW_START, WINDOW_LENGTH = 22050, 108045  # 0.5 s and 2.45 s at 44.1 kHz, as librosa.load cuts them
PUBLISHED = {"resampling": "track_swr_s16"}


@pytest.fixture(scope="module")
def clip_720p(tmp_path_factory):
    """A 3.5 s 720p 29.97 fps H.264 clip with AAC 48 kHz stereo speech-like audio."""
    frames = np.zeros((int(DURATION * FPS), 720, 1280, 3), dtype=np.uint8)
    frames[:, 200:520, 480:800] = (200, 150, 120)
    audio = media.speech_like_audio(duration=DURATION, sample_rate=SOURCE_RATE, channels=2)
    return write_clip(tmp_path_factory.mktemp("published_audio") / "clip.mp4", frames, FPS, audio, SOURCE_RATE)


def pcm16_track_as_librosa_loads_it(path) -> np.ndarray:
    """The whole audio track resampled to 44.1 kHz 16-bit PCM by libswresample (as `ffmpeg -ar 44100 out.wav`), its
    channels averaged and scaled by 1 / 32768 (as `librosa.load(out.wav, mono=True)`), shape (samples,)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout=stream.layout.name, rate=TARGET_RATE)
        chunks = [chunk for frame in container.decode(stream) for chunk in resampler.resample(frame)]
        chunks += resampler.resample(None)
        channels = stream.layout.nb_channels
    # packed s16: list of (1, samples * channels) -> (samples, channels)
    samples = np.concatenate([chunk.to_ndarray() for chunk in chunks], axis=1).reshape(-1, channels)
    return samples.astype(np.float32).mean(axis=1) / 32768.0


def published_mfcc(path, pad_mode: str) -> np.ndarray:
    """librosa's MFCC of the published window of the 16-bit track, shape (13, 212)."""
    window = pcm16_track_as_librosa_loads_it(path)[WINDOW_START : WINDOW_START + WINDOW_LENGTH]
    return librosa.feature.mfcc(
        y=window, sr=TARGET_RATE, n_mfcc=13, n_fft=2048, hop_length=512, center=True, pad_mode=pad_mode
    )


@pytest.mark.parametrize("pad_mode", ["constant", "reflect"])
def test_published_settings_give_librosa_mfcc_of_the_resampled_16_bit_track(clip_720p, pad_mode):
    feature_extractor = TACFNFeatureExtractor(**PUBLISHED, pad_mode=pad_mode)
    processor = TACFNProcessor(feature_extractor, TACFNVideoProcessor())
    with pytest.warns(UserWarning, match="no face detected"):
        features = processor(videos=str(clip_720p), return_tensors="np")["input_features"][0]
    reference = published_mfcc(clip_720p, pad_mode)
    assert features.shape == reference.shape == (13, 212)
    assert np.abs(features - reference).max() < 0.05


@pytest.mark.parametrize("pad_mode", ["constant", "reflect"])
def test_pad_mode_alone_gives_librosa_mfcc_of_the_same_window(clip_720p, pad_mode):
    track = pcm16_track_as_librosa_loads_it(clip_720p)
    features = TACFNFeatureExtractor(pad_mode=pad_mode)(track, sampling_rate=TARGET_RATE)["input_features"][0]
    reference = published_mfcc(clip_720p, pad_mode)
    assert np.abs(features - reference).max() < 1e-3


def test_the_two_paddings_differ_at_the_window_ends(clip_720p):
    waveform, rate = read_audio_head(clip_720p, TACFNFeatureExtractor(**PUBLISHED).audio_read_seconds)
    constant = TACFNFeatureExtractor(**PUBLISHED)(waveform, sampling_rate=rate)["input_features"][0]
    reflect = TACFNFeatureExtractor(**PUBLISHED, pad_mode="reflect")(waveform, sampling_rate=rate)["input_features"][0]
    assert np.abs(constant[:, [0, -1]] - reflect[:, [0, -1]]).max() > 1.0
    assert np.array_equal(constant[:, 4:-4], reflect[:, 4:-4])


def test_resampling_the_head_read_gives_the_window_of_the_whole_track(clip_720p):
    feature_extractor = TACFNFeatureExtractor(**PUBLISHED)
    head, rate = read_audio_head(clip_720p, feature_extractor.audio_read_seconds)
    track, _ = read_audio_head(clip_720p, DURATION + 1.0)
    assert len(head) < len(track)
    assert np.array_equal(feature_extractor.cut_window(head, rate), feature_extractor.cut_window(track, rate))


def test_defaults_are_unchanged():
    feature_extractor = TACFNFeatureExtractor()
    assert (feature_extractor.resampling, feature_extractor.pad_mode) == ("window_soxr", "constant")
    assert feature_extractor.audio_read_seconds == pytest.approx(2.95)
    assert TACFNFeatureExtractor(**PUBLISHED).audio_read_seconds == pytest.approx(3.05)


def test_settings_survive_save_and_load(tmp_path):
    TACFNFeatureExtractor(resampling="track_swr_s16", pad_mode="reflect").save_pretrained(tmp_path)
    loaded = TACFNFeatureExtractor.from_pretrained(tmp_path)
    assert (loaded.resampling, loaded.pad_mode) == ("track_swr_s16", "reflect")


@pytest.mark.parametrize("setting", [{"resampling": "soxr"}, {"pad_mode": "edge"}])
def test_unknown_settings_are_refused(setting):
    name = next(iter(setting))
    with pytest.raises(ValueError, match=f"{name} must be one of"):
        TACFNFeatureExtractor(**setting)
