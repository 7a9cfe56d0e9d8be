"""The TACFN pipeline: loaded from a model folder in a process without this project's packages, in process under its
own task name, on paths, lists (batched through a DataLoader), frames plus audio, and bad input."""

import json
import os

import numpy as np
import pytest
import torch

from tests.inference.conftest import tiny_model, tiny_processor
from tests.isolation import run_isolated


os.environ["HF_HUB_OFFLINE"] = "1"


def reference_scores(model_dir, clip) -> np.ndarray:
    """Softmax scores of every label for one clip, computed from the saved model and processor without a pipeline."""
    from modeling_tacfn import TACFNForAudioVisualClassification
    from processing import TACFNProcessor

    model = TACFNForAudioVisualClassification.from_pretrained(model_dir).eval()
    inputs = TACFNProcessor.from_pretrained(model_dir)(videos=str(clip), return_tensors="pt")
    with torch.no_grad():
        return model(**inputs).logits[0].softmax(-1).numpy()


def as_score_dict(predictions: list[dict]) -> dict:
    return {item["label"]: item["score"] for item in predictions}


def test_pipeline_from_model_folders_without_the_packages(model_dir, classifier, clips, tmp_path):
    # a folder completed by save_pipeline (model_dir) and one written by the pipeline's own save_pretrained
    saved = tmp_path / "saved"
    classifier.save_pretrained(saved)
    config = json.loads((saved / "config.json").read_text())
    assert config["custom_pipelines"]["video-classification"]["impl"] == (
        "pipeline_tacfn.TACFNAudioVisualClassificationPipeline"
    )
    assert (saved / "pipeline_tacfn.py").is_file() and (saved / "processor_config.json").is_file()

    result = run_isolated(
        f"""
        import json, sys
        class BlockInference:  # this package too: the folder's copy of the pipeline must do without it
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "inference":
                    raise ImportError(f"{{name}} is blocked in this process")
        sys.meta_path.insert(0, BlockInference())
        from transformers import pipeline
        pipe = pipeline("video-classification", model={str(model_dir)!r}, trust_remote_code=True, device="cpu")
        single = pipe({str(clips.mp4)!r}, top_k=8)
        batched = pipe([{str(clips.mp4)!r}, {str(clips.avi)!r}, {str(clips.mp4)!r}], batch_size=2, top_k=3)
        resaved = pipeline(model={str(saved)!r}, trust_remote_code=True, device="cpu")  # task from custom_pipelines
        print(json.dumps({{"class": type(pipe).__name__, "module": type(pipe).__module__, "single": single,
                          "batched": batched, "resaved": resaved({str(clips.mp4)!r}, top_k=2)}}))
        """,
        tmp_path,
    )
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["class"] == "TACFNAudioVisualClassificationPipeline"
    assert output["module"].startswith("transformers_modules.")  # the folder's copy, not this package

    expected = reference_scores(model_dir, clips.mp4)
    labels = [tiny_model().config.id2label[index] for index in range(len(expected))]
    got = as_score_dict(output["single"])
    assert sorted(got) == sorted(labels)
    np.testing.assert_allclose([got[label] for label in labels], expected, rtol=1e-4, atol=1e-6)
    assert [item["score"] for item in output["single"]] == sorted(got.values(), reverse=True)

    expected_avi = reference_scores(model_dir, clips.avi)
    for predictions, reference in zip(output["batched"], (expected, expected_avi, expected)):
        assert len(predictions) == 3
        top_ids = np.argsort(-reference)[:3]
        assert [item["label"] for item in predictions] == [labels[index] for index in top_ids]
        np.testing.assert_allclose([item["score"] for item in predictions], reference[top_ids], rtol=1e-4, atol=1e-6)

    in_process = classifier(str(clips.mp4), top_k=2)
    assert [item["label"] for item in output["resaved"]] == [item["label"] for item in in_process]
    assert as_score_dict(output["resaved"]) == pytest.approx(as_score_dict(in_process), rel=1e-5, abs=1e-7)


def test_registration_keeps_the_builtin_video_classification_task():
    from transformers.pipelines import PIPELINE_REGISTRY

    import modeling_tacfn  # noqa: F401  (registers the pipeline task)
    from processing import TASK, TACFNAudioVisualClassificationPipeline

    builtin = PIPELINE_REGISTRY.check_task("video-classification")[1]["impl"]
    assert builtin == "transformers.pipelines.video_classification.VideoClassificationPipeline"
    assert PIPELINE_REGISTRY.check_task(TASK)[1]["impl"] is TACFNAudioVisualClassificationPipeline


def test_registered_task_uses_the_package_classes(classifier, model_dir, clips):
    from modeling_tacfn import TACFNForAudioVisualClassification
    from processing import TACFNProcessor

    assert type(classifier.model) is TACFNForAudioVisualClassification
    assert type(classifier.processor) is TACFNProcessor
    predictions = classifier(str(clips.mp4), top_k=8)
    np.testing.assert_allclose(
        [as_score_dict(predictions)[classifier.model.config.id2label[index]] for index in range(8)],
        reference_scores(model_dir, clips.mp4),
        rtol=1e-5,
        atol=1e-7,
    )


def test_top_k_is_capped_at_the_number_of_labels(classifier, clips):
    assert len(classifier(str(clips.mp4), top_k=1)) == 1
    everything = classifier(str(clips.mp4), top_k=50)
    assert len(everything) == 8
    assert sum(item["score"] for item in everything) == pytest.approx(1.0, abs=1e-5)


def test_a_clip_is_scored_the_same_alone_and_in_any_batch(classifier, clips):
    alone = [classifier(str(path), top_k=8) for path in (clips.mp4, clips.avi)]
    for batch_size in (2, 3):
        batched = classifier([str(clips.avi), str(clips.mp4), str(clips.avi)], batch_size=batch_size, top_k=8)
        for predictions, expected in zip(batched, (alone[1], alone[0], alone[1])):
            assert as_score_dict(predictions) == pytest.approx(as_score_dict(expected), rel=1e-4, abs=1e-6)


def test_frames_plus_audio_match_the_processor_and_model(classifier, clips):
    frames, waveform = clips.frames, clips.audio[0]
    predictions = classifier({"video": frames, "audio": waveform, "sampling_rate": 48000}, top_k=8)
    inputs = tiny_processor()(videos=frames, audio=waveform, sampling_rate=48000, return_tensors="pt")
    with torch.no_grad():
        expected = classifier.model(**inputs).logits[0].softmax(-1).numpy()
    got = as_score_dict(predictions)
    np.testing.assert_allclose(
        [got[classifier.model.config.id2label[i]] for i in range(8)], expected, rtol=1e-5, atol=1e-7
    )


def test_frames_without_audio_are_answered_from_the_frames_or_given_silence(classifier, clips):
    # the fused model answers from the frames alone; require_audio=False gives them silence instead
    assert classifier(clips.frames, top_k=2)[0]["modalities"] == ["video"]
    with pytest.warns(UserWarning, match="silence"):
        predictions = classifier(clips.frames, require_audio=False, top_k=2)
    assert len(predictions) == 2 and predictions[0]["modalities"] == ["video", "audio"]


def test_fusion_weights_and_frames_are_returned_on_request(classifier, clips):
    output = classifier(str(clips.mp4), top_k=3, return_fusion_weights=True)
    expected = classifier(str(clips.mp4), top_k=3)
    assert as_score_dict(output["predictions"]) == pytest.approx(as_score_dict(expected), rel=1e-5, abs=1e-7)
    weights = output["fusion_weights"]
    assert weights.shape == (2, 3, 3)  # the tiny model's (time, height, width) feature map
    assert weights.sum() == pytest.approx(1.0, abs=1e-5)  # one softmax over all positions (the default)
    assert weights.std() > 0

    # the frames are what the processor fed the model, before rescaling and normalisation
    raw = tiny_processor()(videos=str(clips.mp4), do_rescale=False, do_normalize=False, return_tensors="pt")
    expected = raw["pixel_values_videos"][0].permute(0, 2, 3, 1).round().to(torch.uint8).numpy()
    assert output["frames"].dtype == np.uint8 and output["frames"].shape == (12, 48, 48, 3)
    assert np.abs(output["frames"].astype(int) - expected.astype(int)).max() <= 1


def test_fusion_weights_of_a_batch_belong_to_each_clip(classifier, clips):
    alone = [classifier(str(path), return_fusion_weights=True) for path in (clips.mp4, clips.avi)]
    batched = classifier([str(clips.mp4), str(clips.avi)], batch_size=2, return_fusion_weights=True)
    for got, expected in zip(batched, alone):
        np.testing.assert_allclose(got["fusion_weights"], expected["fusion_weights"], rtol=1e-4, atol=1e-7)
        assert np.array_equal(got["frames"], expected["frames"])
    assert not np.allclose(batched[0]["fusion_weights"], batched[1]["fusion_weights"])


@pytest.mark.parametrize("kind", ["text", "truncated", "missing"])
def test_unreadable_files_raise_value_errors_naming_them(classifier, broken_files, kind):
    path = broken_files[kind]
    with pytest.raises(ValueError, match=path.name):
        classifier(str(path))


def test_bad_inputs_and_arguments_raise_value_errors(classifier, clips, audio_only_model_dir):
    from inference import load_classifier

    with pytest.raises(ValueError, match="needs a 'video' entry .*, an 'audio' entry, or both"):
        classifier({"sampling_rate": 48000})
    # a waveform alone is a clip without video, which the fused model answers
    assert classifier({"audio": clips.audio[0], "sampling_rate": 48000})[0]["modalities"] == ["audio"]
    with pytest.raises(ValueError, match="unknown keys \\['sound'\\]"):
        classifier({"video": str(clips.mp4), "sound": clips.audio[0]})
    with pytest.raises(ValueError, match="each input must be"):
        classifier(42)
    with pytest.raises(ValueError, match="pass a list for several clips"):
        classifier(clips.frames[None], require_audio=False)
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        classifier(str(clips.mp4), top_k=0)
    with pytest.raises(ValueError, match="unknown arguments \\['num_frames'\\]"):
        classifier(str(clips.mp4), num_frames=8)
    with pytest.raises(ValueError, match="audio' only and has no fusion weights"):
        load_classifier(str(audio_only_model_dir), device="cpu")(str(clips.mp4), return_fusion_weights=True)


def test_audio_only_model_predicts(audio_only_model_dir, clips):
    from inference import load_classifier

    predictions = load_classifier(str(audio_only_model_dir), device="cpu")(str(clips.mp4), top_k=8)
    assert sum(item["score"] for item in predictions) == pytest.approx(1.0, abs=1e-5)


def test_loading_a_missing_model_names_it(tmp_path):
    from inference import load_classifier

    with pytest.raises(ValueError, match="no_such_model"):
        load_classifier(str(tmp_path / "no_such_model"))


def test_save_pipeline_refuses_folders_it_cannot_complete(tmp_path):
    from processing import save_pipeline

    with pytest.raises(ValueError, match="holds no config.json"):
        save_pipeline(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="'bert' model, not a TACFN model"):
        save_pipeline(tmp_path)
    tiny_model().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="no processor_config.json"):
        save_pipeline(tmp_path)
    (tmp_path / "config.json").write_text("{ broken")
    with pytest.raises(ValueError, match="not valid JSON"):
        save_pipeline(tmp_path)


def test_save_pipeline_keeps_the_rest_of_the_config(model_dir):
    from modeling_tacfn import TACFNConfig

    config = TACFNConfig.from_pretrained(model_dir)
    assert config.custom_pipelines["video-classification"]["pt"] == ["AutoModelForVideoClassification"]
    assert config.auto_map["AutoModelForVideoClassification"] == "modeling_tacfn.TACFNForAudioVisualClassification"
    assert config.num_frames == 12 and config.id2label[2] == "happy"


@pytest.mark.gpu
def test_pipeline_on_the_gpu_matches_the_cpu(model_dir, classifier, clips):
    from inference import load_classifier

    on_gpu = load_classifier(str(model_dir), device="cuda")
    assert on_gpu.model.device.type == "cuda"
    got = on_gpu([str(clips.mp4), str(clips.avi)], batch_size=2, top_k=8, return_fusion_weights=True)
    expected = [classifier(str(path), top_k=8, return_fusion_weights=True) for path in (clips.mp4, clips.avi)]
    for gpu_output, cpu_output in zip(got, expected):
        assert as_score_dict(gpu_output["predictions"]) == pytest.approx(
            as_score_dict(cpu_output["predictions"]), rel=1e-3, abs=1e-5
        )
        np.testing.assert_allclose(gpu_output["fusion_weights"], cpu_output["fusion_weights"], rtol=1e-3, atol=1e-6)
        assert np.array_equal(gpu_output["frames"], cpu_output["frames"])
