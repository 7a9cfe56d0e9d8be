"""TACFNProcessor: every input kind, the audio track of the video itself, bad inputs, and save / load round trips
(in this process and, through remote code, in a fresh one that cannot import this project)."""

import json
import pickle

import librosa
import numpy as np
import pytest
import torch
from safetensors.numpy import save_file
from transformers import AutoFeatureExtractor, AutoProcessor, AutoVideoProcessor

import modeling_tacfn  # noqa: F401  (registers the processors with the Auto classes, for remote code)
from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor
from processing.media_io_tacfn import read_audio_head
from tests import media
from tests.isolation import run_isolated
from tests.processing.conftest import FPS, NUM_FRAMES, SAMPLE_RATE


def small_processor(**video_settings) -> TACFNProcessor:
    settings = {"num_frames": 8, "size": {"height": 32, "width": 32}, **video_settings}
    return TACFNProcessor(TACFNFeatureExtractor(), TACFNVideoProcessor(**settings))


def librosa_mfcc(wav_path) -> np.ndarray:
    waveform, rate = librosa.load(str(wav_path), sr=44100, offset=0.5, duration=2.45)
    return librosa.feature.mfcc(y=waveform, sr=rate, n_mfcc=13)


def test_one_call_gives_both_model_inputs(box_clip):
    outputs = TACFNProcessor(TACFNFeatureExtractor(), TACFNVideoProcessor())(box_clip.path, landmarks=box_clip.csv)
    assert set(outputs) == {"pixel_values_videos", "input_features"}
    assert outputs["pixel_values_videos"].shape == (1, 30, 3, 224, 224)
    assert outputs["input_features"].shape == (1, 13, 212)
    assert outputs["pixel_values_videos"].dtype == outputs["input_features"].dtype == torch.float32


def test_audio_track_of_an_avi_matches_librosa_on_the_extracted_wav(box_clip_avi, speech_wav):
    # the avi holds the same 16-bit PCM stereo samples as the wav
    features = small_processor(do_face_crop=False)(str(box_clip_avi))["input_features"][0]
    assert np.abs(features.numpy() - librosa_mfcc(speech_wav)).max() < 1e-2


def test_audio_track_is_the_mean_of_the_channels_not_a_louder_mix(box_clip, speech):
    waveform, rate = read_audio_head(str(box_clip.path), 2.95)
    assert rate == SAMPLE_RATE and len(waveform) == round(2.95 * SAMPLE_RATE)
    mean_mix = speech.mean(axis=0)[: len(waveform)]
    # AAC is lossy and delays the signal by its priming samples; the level survives
    loudness = np.sqrt(np.mean(waveform**2)) / np.sqrt(np.mean(mean_mix**2))
    assert 0.95 < loudness < 1.05, loudness


def best_lag_correlation(decoded: np.ndarray, source: np.ndarray, max_lag: int = 2048) -> float:
    """Highest normalised correlation between `decoded` and `source` delayed by 0..max_lag samples (AAC encoders
    prepend priming samples)."""
    length = len(source) - max_lag
    reference = source[:length] / np.linalg.norm(source[:length])
    return max(
        float(np.dot(decoded[lag : lag + length], reference) / np.linalg.norm(decoded[lag : lag + length]))
        for lag in range(0, max_lag + 1, 1)
    )


@pytest.mark.parametrize("extension", [".mp4", ".avi", ".mov", ".mkv"])
def test_every_container_gives_the_clip_and_its_audio_track(box_clip, media_dir, extension):
    path = media.write_video(media_dir / f"kind{extension}", box_clip.frames, FPS, audio=box_clip.audio)
    processor = small_processor()
    outputs = processor(path, landmarks=box_clip.csv)
    reference = processor(
        box_clip.frames,
        landmarks=media.face_landmarks(NUM_FRAMES, box_clip.boxes),
        audio=box_clip.audio,
        sampling_rate=SAMPLE_RATE,
    )
    assert outputs["pixel_values_videos"].shape == (1, 8, 3, 32, 32)
    assert outputs["input_features"].shape == (1, 13, 212)
    assert (outputs["pixel_values_videos"] - reference["pixel_values_videos"]).abs().mean() < 0.1
    waveform, rate = read_audio_head(path, 1.0)
    assert rate == SAMPLE_RATE
    assert best_lag_correlation(waveform, box_clip.audio.mean(axis=0)[:SAMPLE_RATE]) > 0.95


def test_batches_of_paths_frames_and_waveforms(box_clip, face_clip, speech, speech_wav):
    processor = small_processor(do_face_crop=False)
    outputs = processor(
        videos=[box_clip.path, box_clip.frames, str(face_clip)],
        audio=[None, speech, speech_wav],
        sampling_rate=[None, SAMPLE_RATE, None],
    )
    assert outputs["pixel_values_videos"].shape == (3, 8, 3, 32, 32)
    assert outputs["input_features"].shape == (3, 13, 212)
    # the frame array gives what the file gives (up to H.264 losses on its noisy background); the wav gives what
    # librosa gives
    pixels = outputs["pixel_values_videos"]
    assert (pixels[1] - pixels[0]).abs().mean() < 0.25 < 0.5 < (pixels[2] - pixels[0]).abs().mean()
    separate = processor(box_clip.frames, audio=speech, sampling_rate=SAMPLE_RATE)
    torch.testing.assert_close(outputs["input_features"][1], separate["input_features"][0])
    assert np.abs(outputs["input_features"][2].numpy() - librosa_mfcc(speech_wav)).max() < 1e-2


def test_numpy_outputs(box_clip):
    outputs = small_processor()(box_clip.path, landmarks=box_clip.csv, return_tensors="np")
    assert isinstance(outputs["pixel_values_videos"], np.ndarray)
    assert isinstance(outputs["input_features"], np.ndarray)


def test_video_settings_pass_through_per_call(box_clip):
    processor = small_processor()
    outputs = processor(
        box_clip.path,
        landmarks=box_clip.csv,
        num_frames=4,
        size={"height": 20, "width": 24},
        channel_order="bgr",
        do_augment=True,
    )
    assert outputs["pixel_values_videos"].shape == (1, 4, 3, 20, 24)


def test_a_video_without_audio_needs_audio_or_permission_for_silence(silent_clip, speech):
    processor = small_processor(do_face_crop=False)
    with pytest.raises(ValueError, match=r"silent.mp4' has no audio track"):
        processor(silent_clip)
    with pytest.warns(UserWarning, match="no audio track.*using silence"):
        silent = processor(silent_clip, require_audio=False)
    silence = TACFNFeatureExtractor()(np.zeros(10, dtype=np.float32), sampling_rate=44100)["input_features"]
    torch.testing.assert_close(silent["input_features"], torch.from_numpy(silence))
    given = processor(silent_clip, audio=speech, sampling_rate=SAMPLE_RATE)
    assert given["input_features"].std() > 1.0
    with pytest.raises(ValueError, match="frame array and no audio"):
        processor(np.zeros((4, 8, 8, 3), dtype=np.uint8))


def test_a_ten_frame_clip_repeats_frames_with_a_warning(ten_frame_clip):
    with pytest.warns(UserWarning, match="only 10 frames"):
        outputs = TACFNProcessor(TACFNFeatureExtractor(), TACFNVideoProcessor(do_face_crop=False))(ten_frame_clip)
    assert outputs["pixel_values_videos"].shape == (1, 30, 3, 224, 224)


def test_bad_files_raise_value_errors_naming_the_file(
    tmp_path, truncated_clip, truncated_faststart_clip, speech_wav, box_clip
):
    processor = small_processor(do_face_crop=False)
    with pytest.raises(ValueError, match=r"nothing.mp4' does not exist"):
        processor(tmp_path / "nothing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    with pytest.raises(ValueError, match=r"notes.mp4' is not a readable media file"):
        processor(text)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty.mp4' is empty"):
        processor(empty)
    with pytest.raises(ValueError, match=r"speech.wav' has no video stream"):
        processor(speech_wav)
    with pytest.raises(ValueError, match=r"truncated.mp4' is not a readable media file"):
        processor(truncated_clip)
    with pytest.raises(ValueError, match=r"truncated_faststart.mp4' .*(truncated|damaged)"):
        processor(truncated_faststart_clip)
    with pytest.raises(ValueError, match=r"missing.wav' does not exist"):
        processor(box_clip.path, audio=tmp_path / "missing.wav")


def test_bad_audio_arguments_raise_value_errors(box_clip, speech):
    processor = small_processor(do_face_crop=False)
    with pytest.raises(ValueError, match=r"audio\[0\] holds NaN"):
        processor(box_clip.path, audio=np.full(48000, np.nan, dtype=np.float32), sampling_rate=SAMPLE_RATE)
    with pytest.raises(ValueError, match=r"audio\[0\] holds NaN or infinite"):
        processor(box_clip.path, audio=np.full((2, 48000), np.inf, dtype=np.float32), sampling_rate=SAMPLE_RATE)
    with pytest.raises(ValueError, match="sampling_rate"):
        processor(box_clip.path, audio=speech)
    with pytest.raises(ValueError, match="2 audio entries for 1 videos"):
        processor(box_clip.path, audio=[speech, speech], sampling_rate=SAMPLE_RATE)
    with pytest.raises(ValueError, match="one audio entry for 2 videos"):
        processor([box_clip.path, box_clip.path], audio=speech, sampling_rate=SAMPLE_RATE)
    with pytest.raises(ValueError, match="positive integer number of Hz, got 44100.5"):
        processor([box_clip.path, box_clip.path], audio=[speech, speech], sampling_rate=[SAMPLE_RATE, 44100.5])
    with pytest.raises(ValueError, match="3 sampling rates for 2 videos"):
        processor([box_clip.path, box_clip.path], audio=[speech, speech], sampling_rate=[SAMPLE_RATE] * 3)
    with pytest.raises(ValueError, match=r"audio\[0\] has shape \(2, 3, 4\)"):
        processor(box_clip.path, audio=np.zeros((2, 3, 4), dtype=np.float32), sampling_rate=SAMPLE_RATE)
    with pytest.raises(ValueError, match="needs videos"):
        processor(audio=speech, sampling_rate=SAMPLE_RATE)


def settings_of(config: dict) -> dict:
    """A saved configuration without its `auto_map` (where the code lives, not a setting), at every level."""
    return {
        key: settings_of(value) if isinstance(value, dict) else value
        for key, value in config.items()
        if key != "auto_map"
    }


def every_setting_processor() -> TACFNProcessor:
    """A processor whose settings all differ from the defaults."""
    return TACFNProcessor(
        TACFNFeatureExtractor(
            num_mfcc=12, audio_offset=0.4, audio_duration=2.0, n_fft=1024, hop_length=256, num_mel_bins=64, top_db=70.0
        ),
        TACFNVideoProcessor(
            num_frames=12,
            size={"height": 48, "width": 40},
            resample=3,
            do_face_crop=True,
            pre_crop_size={"height": 112, "width": 144},
            num_detection_frames=4,
            detection_max_side=480,
            do_augment=False,
            augment_scale=(0.6, 1.2),
            augment_ratio=(0.8, 1.25),
            flip_probability=0.3,
            channel_order="bgr",
            do_rescale=True,
            rescale_factor=1 / 127.5,
            do_normalize=True,
            image_mean=(0.5, 0.4, 0.3),
            image_std=(0.2, 0.25, 0.3),
        ),
    )


def test_save_and_load_round_trip_every_setting_in_process(tmp_path, box_clip):
    processor = every_setting_processor()
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert saved["auto_map"] == {
        "AutoProcessor": "processing_tacfn.TACFNProcessor",
        "AutoFeatureExtractor": "feature_extraction_tacfn.TACFNFeatureExtractor",
        "AutoVideoProcessor": "video_processing_tacfn.TACFNVideoProcessor",
    }
    code_files = {
        "processing_tacfn.py",
        "feature_extraction_tacfn.py",
        "video_processing_tacfn.py",
        "media_io_tacfn.py",
        "frame_boxes_tacfn.py",
    }
    assert code_files <= {path.name for path in tmp_path.iterdir()}
    for loaded in (TACFNProcessor.from_pretrained(tmp_path), AutoProcessor.from_pretrained(tmp_path)):
        assert type(loaded) is TACFNProcessor
        assert settings_of(loaded.to_dict()) == settings_of(processor.to_dict())
    extractor, video_processor = (
        AutoFeatureExtractor.from_pretrained(tmp_path),
        AutoVideoProcessor.from_pretrained(tmp_path),
    )
    assert (type(extractor), type(video_processor)) == (TACFNFeatureExtractor, TACFNVideoProcessor)
    assert settings_of(extractor.to_dict()) == settings_of(processor.feature_extractor.to_dict())
    assert settings_of(video_processor.to_dict()) == settings_of(processor.video_processor.to_dict())
    outputs = AutoProcessor.from_pretrained(tmp_path)(box_clip.path, landmarks=box_clip.csv)
    expected = processor(box_clip.path, landmarks=box_clip.csv)
    torch.testing.assert_close(outputs["pixel_values_videos"], expected["pixel_values_videos"], atol=0, rtol=0)
    torch.testing.assert_close(outputs["input_features"], expected["input_features"], atol=0, rtol=0)


def test_remote_code_round_trip_with_the_model_in_one_folder(tmp_path, box_clip, tiny_config):
    """Model and processor saved into one folder load from it in a fresh process that cannot import this project,
    keep every setting and give the same outputs."""
    from modeling_tacfn import TACFNForAudioVisualClassification

    folder = tmp_path / "tacfn-tiny"
    torch.manual_seed(0)
    TACFNForAudioVisualClassification(tiny_config).eval().save_pretrained(folder)
    processor = every_setting_processor()
    processor.video_processor.num_frames = tiny_config.num_frames
    processor.video_processor.size = {"height": tiny_config.image_size, "width": tiny_config.image_size}
    processor.feature_extractor = TACFNFeatureExtractor()
    processor.save_pretrained(folder)
    assert {"config.json", "model.safetensors", "processor_config.json"} <= {path.name for path in folder.iterdir()}
    assert type(AutoProcessor.from_pretrained(folder)) is TACFNProcessor  # with the package installed
    expected = processor(box_clip.path, landmarks=box_clip.csv, return_tensors="np")
    save_file(dict(expected), tmp_path / "expected.safetensors")
    (tmp_path / "expected.json").write_text(json.dumps(settings_of(processor.to_dict()), sort_keys=True))
    # and a processor whose audio settings differ from the defaults too, on its own
    every_setting_processor().save_pretrained(tmp_path / "all-settings")
    all_settings = settings_of(every_setting_processor().to_dict())
    (tmp_path / "all_settings.json").write_text(json.dumps(all_settings, sort_keys=True))

    result = run_isolated(
        f"""
        import json
        import numpy as np
        import torch
        from safetensors.numpy import load_file
        from transformers import (AutoFeatureExtractor, AutoModelForVideoClassification, AutoProcessor,
                                  AutoVideoProcessor)

        def settings_of(config):
            return {{key: settings_of(value) if isinstance(value, dict) else value
                    for key, value in config.items() if key != "auto_map"}}

        processor = AutoProcessor.from_pretrained("tacfn-tiny", trust_remote_code=True)
        assert type(processor).__module__.startswith("transformers_modules"), type(processor).__module__
        expected_settings = json.load(open("expected.json"))
        assert json.loads(json.dumps(settings_of(processor.to_dict()), sort_keys=True)) == expected_settings
        extractor = AutoFeatureExtractor.from_pretrained("tacfn-tiny", trust_remote_code=True)
        video_processor = AutoVideoProcessor.from_pretrained("tacfn-tiny", trust_remote_code=True)
        assert type(extractor).__name__ == "TACFNFeatureExtractor", type(extractor)
        assert type(video_processor).__name__ == "TACFNVideoProcessor", type(video_processor)
        assert settings_of(extractor.to_dict()) == settings_of(processor.feature_extractor.to_dict())
        assert settings_of(video_processor.to_dict()) == settings_of(processor.video_processor.to_dict())
        all_settings = AutoProcessor.from_pretrained("all-settings", trust_remote_code=True)
        loaded_settings = json.loads(json.dumps(settings_of(all_settings.to_dict()), sort_keys=True))
        assert loaded_settings == json.load(open("all_settings.json"))

        inputs = processor({str(box_clip.path)!r}, landmarks={str(box_clip.csv)!r})
        expected = load_file("expected.safetensors")
        for name, value in expected.items():
            np.testing.assert_array_equal(inputs[name].numpy(), value)
        model = AutoModelForVideoClassification.from_pretrained("tacfn-tiny", trust_remote_code=True).eval()
        with torch.no_grad():
            logits = model(**inputs).logits
        assert logits.shape == (1, model.config.num_labels), logits.shape
        print("remote processor and model loaded from one folder")
        """,
        cwd=tmp_path,
    )
    assert "remote processor and model loaded from one folder" in result.stdout


class AugmentedClips(torch.utils.data.Dataset):
    """The same clip four times through an augmenting processor, as a training set would use it."""

    def __init__(self, processor: TACFNProcessor, clip):
        self.processor, self.clip = processor, clip

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> dict:
        inputs = self.processor(self.clip.path, landmarks=self.clip.csv, do_augment=True)
        return {name: value[0] for name, value in inputs.items()}


def test_runs_in_dataloader_workers_with_independent_augmentation(box_clip):
    processor = pickle.loads(pickle.dumps(small_processor()))  # what a spawned worker receives
    loader = torch.utils.data.DataLoader(AugmentedClips(processor, box_clip), batch_size=2, num_workers=2)
    batches = list(loader)
    assert [batch["pixel_values_videos"].shape for batch in batches] == [(2, 8, 3, 32, 32)] * 2
    assert [batch["input_features"].shape for batch in batches] == [(2, 13, 212)] * 2
    # each worker draws its own crops: the first clip of one worker differs from the first clip of the other
    assert not torch.equal(batches[0]["pixel_values_videos"][0], batches[1]["pixel_values_videos"][0])
