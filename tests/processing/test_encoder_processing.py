"""The processor of a TACFN model over pretrained encoders: a real talking-face mp4 to the speech encoder's
`input_values` (16 kHz, normalised per clip) and the video encoder's frames, saved and loaded with the model folder."""

import numpy as np
import torch
from transformers import AutoProcessor

from hub_configs.presets import processor_for
from modeling_tacfn import TACFNForAudioVisualClassification
from processing import TACFNWaveformFeatureExtractor
from tests.encoder_configs import encoder_config


def test_a_clip_becomes_the_encoders_inputs_and_the_processor_round_trips(face_clip, tmp_path):
    config = encoder_config("wav2vec2", "videomae")
    processor = processor_for(config)
    inputs = processor(videos=str(face_clip))
    assert inputs["pixel_values_videos"].shape == (1, 4, 3, 32, 32)
    assert inputs["input_values"].shape == (1, 3 * 16000)
    assert "input_features" not in inputs
    waveform = inputs["input_values"][0].numpy()
    np.testing.assert_allclose([waveform.mean(), waveform.std()], [0.0, 1.0], atol=1e-3)

    torch.manual_seed(0)
    model = TACFNForAudioVisualClassification(config).eval()
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    loaded = AutoProcessor.from_pretrained(tmp_path)
    assert type(loaded.feature_extractor) is TACFNWaveformFeatureExtractor
    assert loaded.feature_extractor.to_dict() == processor.feature_extractor.to_dict()
    again = loaded(videos=str(face_clip))
    torch.testing.assert_close(again["input_values"], inputs["input_values"], atol=0, rtol=0)
    with torch.no_grad():
        assert model(**again).logits.shape == (1, 8)


def test_the_waveform_window_is_cut_at_the_input_rate_and_resampled():
    extractor = TACFNWaveformFeatureExtractor(audio_offset=0.5, audio_duration=1.0, do_normalize=False)
    time = np.arange(96000) / 48000
    tone = np.sin(2 * np.pi * 440 * time).astype(np.float32)
    values = extractor([tone, tone[:48000]], sampling_rate=48000)["input_values"]
    expected = np.sin(2 * np.pi * 440 * (0.5 + np.arange(16000) / 16000))
    np.testing.assert_allclose(values[0][100:-100], expected[100:-100], atol=2e-3)
    np.testing.assert_allclose(values[1][8200:], 0.0, atol=1e-6)  # past the end of a 1 s clip: zero padding
