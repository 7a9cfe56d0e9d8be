"""The processor of a fused model (`missing_modality="mask"`) on clips with a modality missing, all real files with
real codecs: an mp4 without an audio track, audio-only files (wav, m4a, mp3, an mp4 without a video stream), audio given
without videos, and batches mixing them; and the default processor, which still refuses them."""

import json
import os

import av
import numpy as np
import pytest
import torch

from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor


def processor(missing_modality: str = "mask") -> TACFNProcessor:
    video_processor = TACFNVideoProcessor(num_frames=8, size={"height": 32, "width": 32}, do_face_crop=False)
    return TACFNProcessor(TACFNFeatureExtractor(), video_processor, missing_modality=missing_modality)


def test_a_video_without_audio_track_is_marked_without_audio(silent_clip):
    outputs = processor()(silent_clip)
    assert outputs["video_mask"].tolist() == [True] and outputs["audio_mask"].tolist() == [False]
    assert outputs["audio_mask"].dtype == torch.bool
    assert not outputs["input_features"].any() and outputs["input_features"].shape == (1, 13, 212)
    # the frames are what the processor gives the clip anyway; the silence fallback is still there on request
    with pytest.warns(UserWarning, match="no audio track.*using silence"):
        silent = processor("error")(silent_clip, require_audio=False)
    assert torch.equal(outputs["pixel_values_videos"], silent["pixel_values_videos"])
    with pytest.warns(UserWarning, match="using silence"):
        assert processor()(silent_clip, require_audio=False)["audio_mask"].tolist() == [True]


@pytest.mark.parametrize("kind", ["wav", "m4a", "mp3", "mp4"])
def test_an_audio_only_file_is_marked_without_video(audio_only_files, box_clip, kind):
    path = audio_only_files[kind]
    outputs = processor()(path)
    assert outputs["video_mask"].tolist() == [False] and outputs["audio_mask"].tolist() == [True]
    assert outputs["pixel_values_videos"].shape == (1, 8, 3, 32, 32) and not outputs["pixel_values_videos"].any()
    # the file's audio, as the processor reads it for a video given this file as its audio
    expected = processor("error")(box_clip.path, audio=path)["input_features"]
    assert torch.equal(outputs["input_features"], expected)
    assert expected.std() > 1.0


def test_audio_without_videos(audio_only_files, speech):
    outputs = processor()(audio=audio_only_files["wav"])
    assert set(outputs) == {"input_features", "video_mask", "audio_mask"}
    assert outputs["video_mask"].tolist() == [False] and outputs["audio_mask"].tolist() == [True]
    waveforms = processor()(audio=[speech, speech[0]], sampling_rate=48000)
    assert waveforms["input_features"].shape == (2, 13, 212)
    assert waveforms["video_mask"].tolist() == [False, False]
    with pytest.raises(ValueError, match="for audio alone pass missing_modality='mask'"):
        processor("error")(audio=audio_only_files["wav"])
    with pytest.raises(ValueError, match="needs videos"):
        processor()()


def test_a_mixed_batch_gives_every_clip_its_own_rows(box_clip, silent_clip, audio_only_files):
    files = [box_clip.path, audio_only_files["mp3"], silent_clip]
    batch = processor()(files)
    assert batch["video_mask"].tolist() == [True, False, True]
    assert batch["audio_mask"].tolist() == [True, True, False]
    for index, path in enumerate(files):
        alone = processor()(path)
        for name in ("pixel_values_videos", "input_features", "video_mask", "audio_mask"):
            assert torch.equal(batch[name][index], alone[name][0]), (path, name)
    numpy_batch = processor()(files, return_tensors="np")
    assert isinstance(numpy_batch["video_mask"], np.ndarray) and numpy_batch["video_mask"].dtype == bool


def test_the_default_processor_still_refuses_a_missing_modality(silent_clip, audio_only_files, box_clip):
    with pytest.raises(ValueError, match=r"silent.mp4' has no audio track \(pass audio=..., missing_modality='mask'"):
        processor("error")(silent_clip)
    with pytest.raises(ValueError, match=r"voice.wav' has no video stream"):
        processor("error")(audio_only_files["wav"])
    complete = processor("error")(box_clip.path)
    assert set(complete) == {"pixel_values_videos", "input_features"}
    masked = processor()(box_clip.path)
    assert torch.equal(masked["pixel_values_videos"], complete["pixel_values_videos"])
    assert torch.equal(masked["input_features"], complete["input_features"])
    with pytest.raises(ValueError, match="missing_modality must be one of"):
        processor("silence")


def face_cropping_processor(no_face: str) -> TACFNProcessor:
    video_processor = TACFNVideoProcessor(num_frames=8, size={"height": 32, "width": 32}, face_box_source="detector")
    return TACFNProcessor(TACFNFeatureExtractor(), video_processor, missing_modality="mask", no_face=no_face)


def test_a_video_without_a_face_can_be_marked_without_video(box_clip, face_clip):
    # the box clip shows no face to the detector, the face clip a drawn face
    with pytest.warns(UserWarning, match="no face detected"):
        kept = face_cropping_processor("centre_crop")([box_clip.path, face_clip], return_crop_sources=True)
    assert kept["crop_sources"] == ["centre", "detector"] and kept["video_mask"].tolist() == [True, True]
    with pytest.warns(UserWarning, match=r"box.mp4' shows no face: its video is marked missing"):
        marked = face_cropping_processor("missing")([box_clip.path, face_clip])
    assert marked["video_mask"].tolist() == [False, True] and marked["audio_mask"].tolist() == [True, True]
    assert not marked["pixel_values_videos"][0].any()
    assert torch.equal(marked["pixel_values_videos"][1], kept["pixel_values_videos"][1])
    assert torch.equal(marked["input_features"], kept["input_features"])
    with pytest.raises(ValueError, match="needs missing_modality='mask'"):
        face_cropping_processor("missing")(face_clip, missing_modality="error")
    with pytest.raises(ValueError, match="no_face must be one of"):
        TACFNProcessor(TACFNFeatureExtractor(), TACFNVideoProcessor(), no_face="blur")


def test_the_setting_is_saved_with_the_processor(tmp_path):
    processor().save_pretrained(tmp_path)
    assert json.loads((tmp_path / "processor_config.json").read_text())["missing_modality"] == "mask"
    assert TACFNProcessor.from_pretrained(tmp_path).missing_modality == "mask"
    face_cropping_processor("missing").save_pretrained(tmp_path)
    assert TACFNProcessor.from_pretrained(tmp_path).no_face == "missing"


def test_every_file_is_opened_once(monkeypatch, box_clip, silent_clip, audio_only_files):
    # the fused training path: videos with their own audio, a muted video, an audio file and a video with a separate
    # audio file; each file's container is opened once for everything the processor reads from it
    files = [box_clip.path, silent_clip, audio_only_files["m4a"], box_clip.path]
    expected = processor()(files, audio=[None, None, None, audio_only_files["wav"]])
    opened = []
    open_container = av.open

    def counting_open(path, *args, **kwargs):
        opened.append(os.path.basename(path))
        return open_container(path, *args, **kwargs)

    monkeypatch.setattr(av, "open", counting_open)
    batch = processor()(files, audio=[None, None, None, audio_only_files["wav"]])
    assert sorted(opened) == sorted(os.path.basename(str(path)) for path in [*files, audio_only_files["wav"]])
    assert batch["video_mask"].tolist() == [True, True, False, True]
    assert batch["audio_mask"].tolist() == [True, False, True, True]
    for name in ("pixel_values_videos", "input_features"):
        assert torch.equal(batch[name], expected[name])
