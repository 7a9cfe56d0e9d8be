"""The web demo's own clips: real H.264/AAC takes of the demo data with a face the detector finds, a voice, and a look
of their own."""

import os
import warnings

import numpy as np

from inference.demo_clips import DEMO_EMOTIONS, write_demo_clips
from processing.media_io_tacfn import read_audio_head, read_video_frames
from tests.inference.conftest import tiny_processor


os.environ["HF_HUB_OFFLINE"] = "1"


def test_demo_clips_are_real_talking_faces(tmp_path):
    paths = write_demo_clips(tmp_path)
    assert [path.stem for path in paths] == list(DEMO_EMOTIONS)

    first_frames = []
    for path in paths:
        frames, _, info = read_video_frames(path, lambda total: np.array([0, total // 2]))
        assert (info.width, info.height, info.has_audio) == (256, 256, True) and info.num_frames == 52
        assert info.fps == 15
        waveform, rate = read_audio_head(path, 3.0)
        assert rate == 44100 and 0.05 < np.abs(waveform).max() <= 1.0
        first_frames.append(frames[0].astype(float))

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "no face detected" would fail the test
            inputs = tiny_processor(do_face_crop=True)(videos=str(path), return_tensors="pt")
        assert inputs["pixel_values_videos"].shape == (1, 12, 3, 48, 48)

    for index, frame in enumerate(first_frames[1:], start=1):  # every expression looks different
        assert np.abs(frame - first_frames[0]).mean() > 1, paths[index].name


def test_existing_demo_clips_are_kept(tmp_path):
    first = write_demo_clips(tmp_path)
    stamps = [path.stat().st_mtime_ns for path in first]
    first[1].unlink()
    second = write_demo_clips(tmp_path)
    assert second == first and second[1].is_file()
    assert [second[0].stat().st_mtime_ns, second[2].stat().st_mtime_ns] == [stamps[0], stamps[2]]
