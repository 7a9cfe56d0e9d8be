"""`tacfn predict` over a folder with `--output`: every result written as it finishes (JSON lines or CSV rows), broken
files summarised at the end, and a run killed half way (a real process, killed) resumed without redoing its clips."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.cli import main
from tests.inference.test_cli import scores


GOOD_COPIES = 6


@pytest.fixture(scope="module")
def folder(tmp_path_factory, clips, broken_files):
    """A folder of real clips (copies of the session's mp4 and avi, one in a subfolder), two broken files and a file
    that is no video by name."""
    folder = tmp_path_factory.mktemp("batch")
    (folder / "actor_2").mkdir()
    for index in range(GOOD_COPIES):
        source = clips.mp4 if index % 2 == 0 else clips.avi
        shutil.copyfile(source, folder / ("actor_2" if index == 0 else "") / f"clip_{index}{source.suffix}")
    shutil.copyfile(broken_files["text"], folder / "notes.mp4")
    shutil.copyfile(broken_files["truncated"], folder / "cut_off.mp4")
    (folder / "readme.txt").write_text("not a clip\n")
    return folder


def good_clips(folder: Path) -> list[str]:
    return sorted(str(path) for path in folder.rglob("clip_*"))


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_folder_streams_json_lines_and_summarises_failures(model_dir, classifier, folder, tmp_path, capsys):
    output = tmp_path / "results.jsonl"
    code = main(["predict", str(folder), "--model", str(model_dir), "--output", str(output), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""  # no table: the results are in the file
    records = read_records(output)
    assert sorted(record["file"] for record in records) == sorted([*good_clips(folder), str(folder / "notes.mp4"),
                                                                   str(folder / "cut_off.mp4")])  # fmt: skip
    for record in records:
        if Path(record["file"]).name.startswith("clip_"):
            expected = classifier(record["file"], top_k=3)
            assert scores(record["predictions"]) == pytest.approx(scores(expected), abs=1e-6)
        else:
            assert "error" in record and "predictions" not in record
    assert "2 of 8 clips could not be read; the others were predicted." in err
    assert f"error: {folder / 'notes.mp4'}: " in err and "not a readable media file" in err

    # run again: the good clips are skipped, the two broken files tried again
    code = main(["predict", str(folder), "--model", str(model_dir), "--output", str(output), "--quiet"])
    _, err = capsys.readouterr()
    assert code == 1
    assert f"6 clips already in {str(output)!r} were skipped." in err
    assert "2 of 2 clips could not be read" in err
    assert len(read_records(output)) == len(records) + 2


def test_csv_rows_and_a_rerun_adds_nothing_for_done_clips(model_dir, classifier, clips, tmp_path, capsys):
    output = tmp_path / "out" / "results.csv"
    arguments = ["predict", str(clips.mp4), str(clips.avi), "--model", str(model_dir), "--output", str(output)]
    assert main([*arguments, "--top-k", "2"]) == 0
    rows = list(csv.DictReader(output.open()))
    assert [row["file"] for row in rows] == [str(clips.mp4), str(clips.avi)]
    for row in rows:
        expected = classifier(row["file"], top_k=2)
        assert [row["label_1"], row["label_2"]] == [item["label"] for item in expected]
        assert float(row["score_1"]) == pytest.approx(expected[0]["score"], abs=1e-5)
        assert row["error"] == ""
        assert (row["modalities"], row["crop_source"]) == ("video audio", "whole_frame")
    before = output.read_text()
    assert main([*arguments, "--top-k", "2"]) == 0
    assert output.read_text() == before
    assert "2 clips already in" in capsys.readouterr().err
    # another --top-k would need other columns: refused, the file untouched
    assert main([*arguments, "--top-k", "3"]) == 2
    assert "has the columns" in capsys.readouterr().err
    assert output.read_text() == before


def test_a_killed_run_keeps_its_results_and_the_rerun_skips_them(model_dir, classifier, folder, tmp_path, capsys):
    output = tmp_path / "results.jsonl"
    command = [sys.executable, "-m", "inference.cli", "predict", str(folder), "--model", str(model_dir)]
    command += ["--output", str(output), "--quiet"]
    # one thread per library, as on the shared test machine
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]), "HF_HUB_OFFLINE": "1"}
    environment.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    process = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (output.exists() and output.read_text().count("\n") >= 2):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    written = read_records(output)
    assert 2 <= len(written) < 8, "the run was killed half way"
    # a line the kill cut off is dropped on resuming
    with output.open("a") as handle:
        handle.write('{"file": "half a rec')

    code = main(["predict", str(folder), "--model", str(model_dir), "--output", str(output), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    done_before = [record["file"] for record in written if "predictions" in record]
    if done_before:
        assert f"{len(done_before)} clips already in" in err
    records = read_records(output)
    assert records[: len(written)] == written
    predicted = [record["file"] for record in records if "predictions" in record]
    assert sorted(predicted) == good_clips(folder)  # every good clip once: none redone, none lost
    for record in records:
        if "predictions" in record:
            expected = classifier(record["file"], top_k=3)
            assert scores(record["predictions"]) == pytest.approx(scores(expected), abs=1e-6)

