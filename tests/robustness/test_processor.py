"""Every case of the broken-input corpus through `TACFNProcessor`: a `ValueError` that names the input and the problem,
or the documented fallback with a warning; a bad clip in a batch is named and harms none of the clips around it."""

import re
import warnings

import numpy as np
import pytest
import soundfile
import torch

from tests.robustness.conftest import (
    CASE_NAMES,
    FILE_ERROR_CASE_NAMES,
    SAMPLE_RATE,
    TINY_MODEL_KWARGS,
    quoted,
    tiny_processor,
)


@pytest.fixture(scope="module")
def processor():
    return tiny_processor()


def process(processor, case, **kwargs):
    """Run the processor on one case: its video, with its separate audio when it has one."""
    return processor(videos=case.video, audio=case.audio, sampling_rate=case.sampling_rate, **kwargs)


def assert_model_inputs(outputs, batch_size: int = 1) -> None:
    """Both model inputs are there, with the tiny model's shapes, and hold only finite numbers."""
    size = TINY_MODEL_KWARGS["image_size"]
    assert outputs["pixel_values_videos"].shape == (batch_size, TINY_MODEL_KWARGS["num_frames"], 3, size, size)
    assert outputs["input_features"].shape == (batch_size, 13, 212)
    for tensor in outputs.values():
        assert torch.isfinite(tensor).all()


@pytest.mark.parametrize("name", CASE_NAMES)
def test_each_case_gives_a_clear_error_or_its_documented_result(processor, corpus, name):
    case = corpus.cases[name]
    if case.outcome == "error":
        with pytest.raises(ValueError, match=case.message) as caught:
            process(processor, case)
        message = str(caught.value)
        assert case.culprit in message
        # printable on any UTF-8 terminal, also when the file name is not UTF-8 (UnicodeEncodeError otherwise)
        message.encode("utf-8")
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = process(processor, case)
    messages = [str(warning.message) for warning in caught]
    if case.outcome == "fallback":
        assert any(re.search(case.message, message) for message in messages), messages
    else:
        # no fallback taken: in particular the face detector found the face, also in 4K frames
        assert messages == []
    assert_model_inputs(outputs)


def test_a_one_frame_video_repeats_its_only_frame(processor, corpus):
    with pytest.warns(UserWarning, match="has only 1 frames"):
        frames = process(processor, corpus.cases["one_frame_video"])["pixel_values_videos"][0]
    assert torch.equal(frames, frames[:1].expand_as(frames))
    assert frames.std() > 0.1  # the real frame, not a blank


def test_a_video_without_audio_gets_silence_only_when_allowed(processor, corpus):
    case = corpus.cases["video_only_mp4"]
    with pytest.warns(UserWarning, match=r"video_only.mp4' has no audio track .*using silence"):
        outputs = processor(videos=case.video, require_audio=False)
    extractor = processor.feature_extractor
    silence = extractor(np.zeros(3 * extractor.sampling_rate, dtype=np.float32), sampling_rate=extractor.sampling_rate)["input_features"][0]
    np.testing.assert_array_equal(outputs["input_features"][0].numpy(), silence.astype(np.float32))
    # the frames are those of the good clip, which was encoded from the same pictures
    torch.testing.assert_close(outputs["pixel_values_videos"], processor(videos=corpus.good)["pixel_values_videos"])


def test_an_8khz_mono_wav_gives_the_features_of_its_samples(processor, corpus):
    case = corpus.cases["wav_8khz_mono"]
    from_file = process(processor, case)["input_features"]
    waveform, rate = soundfile.read(case.audio, dtype="float32")
    assert rate == 8000 and waveform.ndim == 1
    from_samples = processor(videos=case.video, audio=waveform, sampling_rate=rate)["input_features"]
    torch.testing.assert_close(from_file, from_samples)
    own_track = processor(videos=case.video)["input_features"]
    assert (from_file - own_track).abs().max() > 1.0  # the wav was used, not the clip's own 48 kHz track


def test_a_non_utf8_file_name_gives_the_inputs_of_the_same_file_under_an_ascii_name(processor, corpus):
    renamed = processor(videos=corpus.cases["non_utf8_file_name"].video)
    original = processor(videos=corpus.good)
    for key in ("pixel_values_videos", "input_features"):
        torch.testing.assert_close(renamed[key], original[key])


@pytest.fixture(scope="module")
def good_pair(processor, corpus):
    """The inputs of the two good clips processed together before any broken input."""
    outputs = processor(videos=[corpus.good, corpus.other])
    assert_model_inputs(outputs, batch_size=2)
    return outputs


@pytest.mark.parametrize("name", FILE_ERROR_CASE_NAMES)
def test_a_bad_clip_in_a_batch_is_named_and_the_clips_around_it_are_unharmed(processor, corpus, good_pair, name):
    case = corpus.cases[name]
    with pytest.raises(ValueError, match=case.message) as caught:
        processor(
            videos=[corpus.good, case.video, corpus.other],
            audio=[None, case.audio, None],
            sampling_rate=[None, case.sampling_rate, None],
        )
    message = str(caught.value)
    assert case.culprit in message
    assert quoted(corpus.good) not in message and quoted(corpus.other) not in message
    after = processor(videos=[corpus.good, corpus.other])
    for key in ("pixel_values_videos", "input_features"):
        torch.testing.assert_close(after[key], good_pair[key])


def test_a_nan_waveform_is_refused_whatever_its_layout(processor, corpus):
    stereo = np.full((2, SAMPLE_RATE), np.nan, dtype=np.float32)
    partly = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    partly[SAMPLE_RATE] = np.nan
    for waveform in (stereo, stereo.T, partly, torch.from_numpy(partly)):
        with pytest.raises(ValueError, match=r"audio\[0\] holds NaN"):
            processor(videos=corpus.good, audio=waveform, sampling_rate=SAMPLE_RATE)
