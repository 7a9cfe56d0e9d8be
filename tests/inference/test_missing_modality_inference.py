"""Pipeline, `tacfn predict` and the web demo on clips with a modality missing (real files): an audio-only m4a, an mp4
without a video stream, an mp4 without an audio track. The fused model answers each from the modality it has, with the
scores the model gives those inputs directly, and every output names the modalities the prediction used."""

import json

import gradio as gr
import pytest
import torch

from inference.cli import main
from inference.web_demo import recognise


def direct_scores(model_dir, **inputs) -> dict:
    """Softmax scores of the saved model for model inputs given directly (no pipeline)."""
    from modeling_tacfn import TACFNForAudioVisualClassification

    model = TACFNForAudioVisualClassification.from_pretrained(model_dir).eval()
    with torch.no_grad():
        scores = model(**inputs).logits[0].softmax(-1)
    return {model.config.id2label[index]: score for index, score in enumerate(scores.tolist())}


def processed(**call) -> dict:
    from tests.inference.conftest import tiny_processor

    return tiny_processor()(**call, missing_modality="mask")


def as_scores(predictions: list[dict]) -> dict:
    return {item["label"]: item["score"] for item in predictions}


def test_the_pipeline_answers_from_the_modality_a_clip_has(model_dir, classifier, clips):
    audio_features = processed(audio=str(clips.voice))["input_features"]
    frames = processed(videos=str(clips.silent))["pixel_values_videos"]
    expected_audio = direct_scores(model_dir, input_features=audio_features)
    for clip in (str(clips.voice), str(clips.sound_only_mp4), {"audio": str(clips.voice)}):
        predictions = classifier(clip, top_k=8)
        assert all(item["modalities"] == ["audio"] for item in predictions)
        if clip != str(clips.sound_only_mp4):  # the same AAC track, in another container
            assert as_scores(predictions) == pytest.approx(expected_audio, abs=1e-5)
    silent = classifier(str(clips.silent), top_k=8)
    assert silent[0]["modalities"] == ["video"]
    assert as_scores(silent) == pytest.approx(direct_scores(model_dir, pixel_values_videos=frames), abs=1e-5)
    assert classifier(str(clips.mp4))[0]["modalities"] == ["video", "audio"]
    # a batch mixing them gives each clip its answer alone
    batch = classifier([str(clips.mp4), str(clips.voice), str(clips.silent)], top_k=8, batch_size=3)
    assert as_scores(batch[1]) == pytest.approx(expected_audio, abs=1e-5)
    assert as_scores(batch[2]) == pytest.approx(as_scores(silent), abs=1e-5)
    without_video = classifier(str(clips.voice), return_fusion_weights=True)
    assert without_video["fusion_weights"] is None and without_video["frames"] is None


def test_a_unimodal_model_refuses_a_clip_without_its_modality(audio_only_model_dir, clips):
    from inference import load_classifier

    audio_model = load_classifier(str(audio_only_model_dir), device="cpu")
    assert audio_model(str(clips.voice))[0]["modalities"] == ["audio"]
    with pytest.raises(ValueError, match=r"silent.mp4' has no audio, which this 'audio' model needs"):
        audio_model(str(clips.silent))


def test_cli_predicts_audio_files_and_muted_videos_and_names_the_modalities(model_dir, classifier, clips, capsys):
    files = [clips.voice, clips.sound_only_mp4, clips.silent, clips.mp4]
    assert main(["predict", *map(str, files), "--model", str(model_dir), "--json", "--quiet"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["modalities"] for record in records] == [["audio"], ["audio"], ["video"], ["video", "audio"]]
    for record, path in zip(records, files):
        expected = classifier(str(path), top_k=3)
        assert [item["label"] for item in record["predictions"]] == [item["label"] for item in expected]
    assert main(["predict", str(clips.voice), str(clips.mp4), "--model", str(model_dir)]) == 0
    rows = capsys.readouterr().out.strip().splitlines()[2:]
    assert rows[0].endswith("from audio only") and not rows[1].endswith("only")


def test_the_web_demo_takes_a_voice_recording(classifier, clips):
    scores, picture = recognise(classifier, None, str(clips.voice))
    assert picture is None
    assert scores == pytest.approx(as_scores(classifier(str(clips.voice), top_k=8)), abs=1e-6)
    # a video with a separate recording as its audio
    scores, picture = recognise(classifier, str(clips.silent), str(clips.voice))
    assert picture is not None
    expected = classifier({"video": str(clips.silent), "audio": str(clips.voice)}, top_k=8)
    assert expected[0]["modalities"] == ["video", "audio"]
    assert scores == pytest.approx(as_scores(expected), abs=1e-6)
    with pytest.raises(gr.Error, match="Upload a clip or a voice recording"):
        recognise(classifier, None, None)
