"""TACFNConfig: published defaults, derived shapes, serialisation, and clear errors for impossible settings."""

import pytest

from modeling_tacfn import TACFNConfig


def test_defaults_are_the_published_ravdess_setting():
    config = TACFNConfig()
    assert config.id2label == {
        0: "neutral", 1: "calm", 2: "happy", 3: "sad", 4: "angry", 5: "fearful", 6: "disgust", 7: "surprised"
    }
    assert (config.num_frames, config.image_size, config.num_mfcc, config.num_audio_frames) == (30, 224, 13, 212)
    assert (config.video_layers, config.video_cardinality) == ([3, 4, 6, 3], 32)
    assert (config.fusion_hidden_size, config.fusion_num_heads, config.fusion_num_layers) == (64, 8, 5)
    assert (config.fusion_embed_dropout, config.fusion_dropout, config.audio_dropouts) == (0.3, 0.1, [0.2, 0.4])
    assert config.video_feature_shape == (2, 7, 7)
    assert config.audio_sequence_length == 26
    assert config.hidden_size == 3712


def test_round_trips_through_json(tmp_path):
    config = TACFNConfig(num_frames=16, fusion_softmax="space", video_stem_activation=False, id2label={0: "a", 1: "b"})
    config.save_pretrained(tmp_path)
    loaded = TACFNConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.num_labels == 2 and loaded.hidden_size == config.hidden_size


def test_modality_can_be_changed_on_load(tmp_path):
    TACFNConfig().save_pretrained(tmp_path)
    assert TACFNConfig.from_pretrained(tmp_path, modality="video").hidden_size == 2048
    assert TACFNConfig.from_pretrained(tmp_path, modality="audio").hidden_size == 1664


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fusion_num_heads": 7}, "does not divide the fusion width"),
        ({"num_audio_frames": 10}, "reduces it to nothing"),
        ({"hidden_size": 4096}, "does not match the architecture"),
        ({"modality": "text"}, "modality must be one of"),
        ({"fusion_softmax": "time"}, "fusion_softmax must be one of"),
        ({"video_hidden_sizes": [256, 512, 1024, 2000]}, "multiple of video_cardinality"),
        ({"video_layers": [3, 4, 6]}, "same length"),
        ({"audio_kernel_sizes": [7, 7]}, "three convolutions"),
        ({"audio_hidden_sizes": [32, 32, 2], "fusion_num_heads": 1}, "even and at least 4"),
        ({"num_frames": 0}, "must be positive"),
    ],
)
def test_impossible_settings_raise_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TACFNConfig(**kwargs)
