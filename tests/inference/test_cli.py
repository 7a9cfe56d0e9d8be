"""`tacfn predict`: a table or JSON lines for many clips, attention pictures, landmark CSVs, and bad files reported
(exit code 1) while every other file is still predicted."""

import json
import os
import shutil

import numpy as np
import pytest
from matplotlib.image import imread

from inference.cli import main


os.environ["HF_HUB_OFFLINE"] = "1"


def scores(predictions: list[dict]) -> dict:
    return {item["label"]: item["score"] for item in predictions}


def top_labels(classifier, path, k: int = 3) -> list[str]:
    return [item["label"] for item in classifier(str(path), top_k=k)]


def test_table_predicts_good_files_and_reports_bad_ones(model_dir, classifier, clips, broken_files, capsys):
    videos = [
        clips.mp4,
        broken_files["text"],
        clips.avi,
        broken_files["truncated"],
        broken_files["missing"],
        clips.silent,
    ]
    code = main(["predict", *map(str, videos), "--model", str(model_dir)])
    out, err = capsys.readouterr()
    assert code == 1

    lines = out.strip().splitlines()
    assert lines[0].split() == ["clip", "top", "1", "top", "2", "top", "3"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert list(rows) == [str(path) for path in videos]
    for good in (clips.mp4, clips.avi):
        assert rows[str(good)].split()[1:7:2] == top_labels(classifier, good)
        assert rows[str(good)].split()[7:] == ["crop:", "whole_frame"]
    for bad in videos[1:2] + videos[3:5]:
        assert "FAILED: " in rows[str(bad)] and bad.name in rows[str(bad)]
    assert "not a readable media file" in rows[str(broken_files["text"])]
    assert "does not exist" in rows[str(broken_files["missing"])]
    # the fused model answers the clip without an audio track from its frames, and says so
    assert rows[str(clips.silent)].split()[1:7:2] == top_labels(classifier, clips.silent)
    assert rows[str(clips.silent)].endswith("from video only")

    for bad in videos[1:2] + videos[3:5]:
        assert f"error: {bad}: " in err
    assert "3 of 6 clips could not be read; the others were predicted." in err
    assert "6/6" in err  # the progress bar reached the end


def test_json_lines_with_attention_pictures_and_batches(model_dir, classifier, clips, broken_files, tmp_path, capsys):
    pictures = tmp_path / "pictures"
    videos = [clips.mp4, broken_files["text"], clips.avi]
    code = main(
        [
            "predict",
            *map(str, videos),
            "--model",
            str(model_dir),
            "--json",
            "--heatmap",
            str(pictures),
            "--top-k",
            "2",
            "--batch-size",
            "2",
            "--num-workers",
            "1",
            "--quiet",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1
    records = [json.loads(line) for line in out.strip().splitlines()]
    assert [record["file"] for record in records] == [str(path) for path in videos]

    assert "not a readable media file" in records[1]["error"] and "predictions" not in records[1]
    for record, path in ((records[0], clips.mp4), (records[2], clips.avi)):
        expected = classifier(str(path), top_k=2)
        assert [item["label"] for item in record["predictions"]] == [item["label"] for item in expected]
        assert scores(record["predictions"]) == pytest.approx(scores(expected), rel=1e-4, abs=1e-6)
        picture = imread(record["attention_picture"])
        assert picture.shape[0] > 200 and picture.shape[1] > 600
    # talking.mp4 and talking.avi share a stem: their pictures are told apart by position
    assert sorted(path.name for path in pictures.iterdir()) == ["talking_0_attention.png", "talking_2_attention.png"]
    assert "clip/s" not in err  # --quiet


def test_clips_without_audio_pass_with_allow_silent(model_dir, clips, capsys):
    code = main(["predict", str(clips.silent), "--model", str(model_dir), "--allow-silent", "--top-k", "1"])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.strip().splitlines()[2].startswith(str(clips.silent))
    assert f"warning: {clips.silent}: " in err and "using silence" in err


def test_same_clip_names_get_separate_pictures(model_dir, clips, tmp_path, capsys):
    copy = tmp_path / "copy" / clips.mp4.name
    copy.parent.mkdir()
    shutil.copyfile(clips.mp4, copy)
    pictures = tmp_path / "pictures"
    code = main(["predict", str(clips.mp4), str(copy), "--model", str(model_dir), "--heatmap", str(pictures)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert sorted(path.name for path in pictures.iterdir()) == ["talking_0_attention.png", "talking_1_attention.png"]
    assert f"picture: {pictures / 'talking_1_attention.png'}" in out


def test_landmark_csvs_crop_the_faces(face_crop_model_dir, clips, tmp_path, capsys):
    from inference import load_classifier
    from inference.batch_prediction import predict_files

    without_csv = tmp_path / "other.mp4"  # the same clip under a name that has no CSV
    shutil.copyfile(clips.mp4, without_csv)
    code = main(["predict", str(clips.mp4), str(without_csv), "--model", str(face_crop_model_dir), "--json",
                 "--top-k", "8", "--landmarks-dir", str(clips.landmarks_csv.parent)])  # fmt: skip
    records = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert code == 0
    assert "warnings" not in records[0]  # cropped by its CSV: no fallback

    # the frames the model saw are the CSV's face crops, not the detector's fallback
    classifier = load_classifier(str(face_crop_model_dir), device="cpu")
    results = list(
        predict_files(classifier, [str(clips.mp4), str(without_csv)], [str(clips.landmarks_csv), None],
                      top_k=8, return_fusion_weights=True)
    )  # fmt: skip
    by_csv = classifier({"video": str(clips.mp4), "landmarks": str(clips.landmarks_csv)}, return_fusion_weights=True)
    assert np.array_equal(results[0].frames, by_csv["frames"])
    by_detector = classifier(str(without_csv), return_fusion_weights=True)  # no CSV: the face detector's box
    assert np.array_equal(results[1].frames, by_detector["frames"])
    assert np.abs(results[0].frames.astype(float) - results[1].frames.astype(float)).mean() > 10
    assert scores(results[0].predictions) == pytest.approx(scores(records[0]["predictions"]), rel=1e-4, abs=1e-6)

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "talking.csv").write_text("frame, timestamp, success\n1, 0.0, 1\n")
    code = main(["predict", str(clips.mp4), "--model", str(face_crop_model_dir), "--landmarks-dir", str(broken)])
    _, err = capsys.readouterr()
    assert code == 1
    assert f"error: {clips.mp4}: landmark CSV" in err and "lacks the OpenFace 2-D landmark columns" in err


def test_predict_files_refuses_bad_arguments_at_once(classifier, audio_only_model_dir, clips):
    from inference import load_classifier
    from inference.batch_prediction import predict_files

    with pytest.raises(ValueError, match="got 2 landmark entries for 1 clips"):
        predict_files(classifier, [str(clips.mp4)], landmarks=[None, None])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        predict_files(classifier, [str(clips.mp4)], batch_size=0)
    audio_only = load_classifier(str(audio_only_model_dir), device="cpu")
    with pytest.raises(ValueError, match="'audio'-only model has no fusion weights"):
        predict_files(audio_only, [str(clips.mp4)], return_fusion_weights=True)


def test_usage_errors_exit_with_2(model_dir, audio_only_model_dir, clips, tmp_path, capsys):
    assert main(["predict", str(clips.mp4), "--model", str(tmp_path / "no_model_here")]) == 2
    assert "cannot load the TACFN model" in capsys.readouterr().err
    assert main(["predict", str(clips.mp4), "--model", str(audio_only_model_dir), "--heatmap", str(tmp_path)]) == 2
    assert "--heatmap needs the fused model" in capsys.readouterr().err
    assert main(["predict", str(clips.mp4), "--model", str(model_dir), "--top-k", "0"]) == 2
    assert main(["predict", str(clips.mp4), "--model", str(model_dir), "--landmarks-dir", str(tmp_path / "none")]) == 2
    assert "--landmarks-dir" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(clips.mp4)])
    assert exit_info.value.code == 2
    assert "--model" in capsys.readouterr().err
