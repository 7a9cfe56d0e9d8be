"""The broken-input corpus inside a RAVDESS-format tree through the data preparation, in this process and through its
command line: every broken file is skipped and reported with its reason, and every usable clip is kept."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import load_from_disk

from training.data.ravdess import prepare_ravdess


REPO_ROOT = Path(__file__).resolve().parents[2]
PREPARATION_TIMEOUT_SECONDS = 120
KEPT = None
KEPT_RECORDING_MODALITIES = ("audio-video", "audio-only")

# (place in the tree, what is put there: a corpus case name, "good" / "other" for the good clips, or "folder" for a
# directory named like a clip; the reason the preparation must give for skipping it, or KEPT)
TREE = [
    ("Actor_01/01-01-01-01-01-01-01.mp4", "good", KEPT),
    ("Actor_02/01-01-02-01-01-01-02.mp4", "other", KEPT),
    ("Actor_01/01-01-03-01-01-01-01.mp4", "truncated_mp4", "not a readable media file"),
    ("Actor_01/01-01-04-01-01-01-01.mp4", "truncated_indexed_mp4", "truncated|damaged"),
    ("Actor_01/01-01-05-01-01-01-01.mp4", "zero_byte_file", "empty"),
    ("Actor_01/01-01-06-01-01-01-01.mp4", "audio_only_mp4", "no video stream"),
    ("Actor_01/01-01-07-01-01-01-01.mp4", "video_only_mp4", "no audio stream"),
    ("Actor_01/01-01-08-01-01-01-01.mp4", "one_frame_video", KEPT),
    ("Actor_02/01-01-03-01-01-01-02.mp4", "uhd_4k_frames", KEPT),
    ("Actor_02/03-01-04-01-01-01-02.wav", "wav_8khz_mono", KEPT),
    ("Actor_02/03-01-05-01-01-01-02.wav", "nan_wav_file", "NaN"),
    (os.fsdecode(b"Actor_02/01-01-06-01-01-01-02\xff.mp4"), "good", "is not a RAVDESS file name"),
    ("Actor_02/01-01-07-01-01-01-02.mp4", "folder", KEPT),
]  # fmt: skip


def source_file(corpus, source: str) -> Path:
    """The corpus file behind a `TREE` source name."""
    if source in ("good", "other"):
        return getattr(corpus, source)
    case = corpus.cases[source]
    return case.audio if isinstance(case.audio, Path) else case.video


def write_tree(root: Path, corpus) -> None:
    """Copy the corpus into a RAVDESS-format tree laid out as `TREE` says."""
    for place, source, _ in TREE:
        path = root / place
        path.parent.mkdir(parents=True, exist_ok=True)
        if source == "folder":
            path.mkdir()
        else:
            shutil.copyfile(source_file(corpus, source), path)


@pytest.fixture(scope="module")
def ravdess_root(tmp_path_factory, corpus) -> Path:
    root = tmp_path_factory.mktemp("ravdess")
    write_tree(root, corpus)
    return root


def expected_kept(root: Path) -> set:
    """Resolved paths of the clips that must be kept (a folder named like a clip is no clip: it is not listed)."""
    return {str((root / place).resolve()) for place, source, reason in TREE if reason is KEPT and source != "folder"}


def assert_skipped_with_reasons(root: Path, skipped: list[dict]) -> None:
    """Every broken file is skipped once, with its reason, and nothing else is."""
    reasons = {os.path.realpath(item["path"]): item["reason"] for item in skipped}
    expected = {os.path.realpath(root / place): reason for place, _, reason in TREE if reason is not KEPT}
    assert sorted(reasons) == sorted(expected), skipped
    for path, pattern in expected.items():
        assert re.search(pattern, reasons[path]), (path, reasons[path])


def test_each_broken_file_is_skipped_with_its_reason_and_every_usable_clip_kept(ravdess_root):
    dataset, report = prepare_ravdess(ravdess_root, modalities=KEPT_RECORDING_MODALITIES, progress=False)
    assert set(dataset["path"]) == expected_kept(ravdess_root)
    assert len(dataset) == len(expected_kept(ravdess_root))
    assert_skipped_with_reasons(ravdess_root, report.skipped)
    folder = str(ravdess_root / "Actor_02/01-01-07-01-01-01-02.mp4")
    assert not any(item["path"].startswith(folder) for item in report.skipped + report.warnings)


def test_command_line_saves_every_usable_clip_and_reports_the_rest_on_a_strict_utf8_terminal(ravdess_root, tmp_path):
    output = tmp_path / "prepared"
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONIOENCODING": "utf-8:strict",
        "PYTHONPATH": str(REPO_ROOT),
    }
    command = [
        sys.executable, "-m", "training.data.ravdess", str(ravdess_root), "--output", str(output), "--no-progress",
        "--modality", *KEPT_RECORDING_MODALITIES,
    ]  # fmt: skip
    result = subprocess.run(command, env=environment, capture_output=True, timeout=PREPARATION_TIMEOUT_SECONDS)
    stderr = result.stderr.decode("utf-8", errors="backslashreplace")
    assert result.returncode == 0, stderr[-3000:]

    assert set(load_from_disk(str(output))["path"]) == expected_kept(ravdess_root)
    report = json.loads((output / "preparation_report.json").read_text())
    assert_skipped_with_reasons(ravdess_root, report["skipped"])
    summary = result.stdout.decode("utf-8", errors="surrogateescape")
    assert f"skipped ({len(report['skipped'])})" in summary


def test_a_clip_under_a_non_utf8_folder_name_is_kept_or_reported_and_the_others_kept(corpus, tmp_path):
    root = tmp_path / "ravdess"
    (root / "Actor_01").mkdir(parents=True)
    shutil.copyfile(corpus.good, root / "Actor_01/01-01-01-01-01-01-01.mp4")
    odd_folder = root / os.fsdecode(b"extra-\xe9t\xe9")
    odd_folder.mkdir()
    odd_clip = odd_folder / "01-01-02-01-01-01-01.mp4"
    shutil.copyfile(corpus.other, odd_clip)

    dataset, report = prepare_ravdess(root, progress=False)
    assert str((root / "Actor_01/01-01-01-01-01-01-01.mp4").resolve()) in dataset["path"]
    if len(dataset) == 2:
        # kept: the stored path must still open the clip
        stored = next(path for path in dataset["path"] if "01-01-02-01-01-01-01" in path)
        assert Path(stored).read_bytes() == odd_clip.read_bytes()
    else:
        assert [os.path.realpath(item["path"]) for item in report.skipped] == [os.path.realpath(odd_clip)]


def test_a_file_given_as_the_data_root_or_the_landmarks_folder_is_refused(ravdess_root):
    clip = ravdess_root / "Actor_01/01-01-01-01-01-01-01.mp4"
    with pytest.raises(ValueError, match=re.escape(f"RAVDESS root {clip} is not a folder")):
        prepare_ravdess(clip, progress=False)
    with pytest.raises(ValueError, match=re.escape(f"landmarks folder {clip} is not a folder")):
        prepare_ravdess(ravdess_root, landmarks_dir=clip, progress=False)
