"""Media readers: PyAV frames equal decord's in every container, audio tracks land on their timeline, and OpenFace CSVs
are read by column name."""

from fractions import Fraction

import av
import decord
import numpy as np
import pytest

from processing.frame_boxes_tacfn import read_landmark_csv
from processing.media_io_tacfn import read_audio_head, read_video_frames
from processing.media_writing import OPENFACE_2_COLUMNS, to_int16, write_clip
from tests import media
from tests.processing.conftest import FPS, NUM_FRAMES


@pytest.mark.parametrize(
    "name, codec",
    [("clip.mp4", None), ("clip.mov", None), ("clip.mkv", None), ("clip.avi", None), ("mjpeg.avi", "mjpeg")],
)
def test_frames_equal_decords_in_every_container(box_clip, tmp_path, name, codec):
    path = media.write_video(tmp_path / name, box_clip.frames, FPS, audio=box_clip.audio, video_codec=codec)
    frames, indices, info = read_video_frames(path, lambda total: (np.arange(30) * total) // 30)
    reader = decord.VideoReader(path)
    assert info.num_frames == len(reader) == NUM_FRAMES  # mkv states no count: counted from its packets
    assert (info.height, info.width, info.has_audio) == (120, 160, True)
    assert info.fps == pytest.approx(FPS)
    np.testing.assert_array_equal(np.stack(frames), reader.get_batch(indices.tolist()).asnumpy())


def test_frames_can_be_scaled_while_decoding(box_clip):
    frames, _, info = read_video_frames(box_clip.path, lambda total: np.array([0, 0, 5]), size=(60, 80))
    assert [frame.shape for frame in frames] == [(60, 80, 3)] * 3
    assert frames[0] is frames[1]  # a repeated index is decoded once
    assert (info.height, info.width) == (120, 160)


def test_ntsc_frame_rate_is_kept(tmp_path):
    frames = media.face_frames(6, 32, 32)
    path = write_clip(tmp_path / "ntsc.mp4", frames, 30000 / 1001)
    _, _, info = read_video_frames(path, lambda total: np.arange(total))
    assert info.fps == pytest.approx(29.97003, abs=1e-4) and info.has_audio is False


def test_audio_head_is_the_channel_mean_of_a_pcm_track(box_clip_avi, speech):
    waveform, rate = read_audio_head(box_clip_avi, 1.5)
    expected = to_int16(speech).astype(np.float32).mean(axis=0) / 32768
    assert rate == 48000 and waveform.shape == (72000,)
    np.testing.assert_allclose(waveform, expected[:72000], atol=1e-6)


def test_audio_that_starts_late_is_preceded_by_silence(tmp_path):
    tone = np.sin(2 * np.pi * 440 * np.arange(24000) / 48000).astype(np.float32)
    path = tmp_path / "late.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(to_int16(tone[None]), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, 12000, Fraction(1, 48000)  # starts at 0.25 s
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    waveform, _ = read_audio_head(path, 1.0)
    assert np.abs(waveform[:11900]).max() == 0
    assert np.abs(waveform[12100:36000]).max() > 0.9


def test_files_without_audio_give_none(silent_clip):
    assert read_audio_head(silent_clip, 1.0) is None


def test_openface_csv_columns_are_picked_by_name(tmp_path):
    landmarks = np.random.default_rng(0).uniform(0, 100, (5, 68, 2)).astype(np.float32)
    csv = media.write_openface_csv(tmp_path / "face.csv", landmarks, fps=25, success=[1, 1, 0, 1, 1])
    track = read_landmark_csv(csv)
    np.testing.assert_allclose(track.points, landmarks, atol=0.051)  # written with one decimal, like OpenFace
    np.testing.assert_allclose(track.timestamps, np.arange(5) / 25, atol=5e-4)
    np.testing.assert_array_equal(track.frame_numbers, np.arange(1, 6))
    np.testing.assert_array_equal(track.success, [True, True, False, True, True])


def test_malformed_csv_rows_are_reported(tmp_path):
    csv = tmp_path / "broken.csv"
    header = ", ".join(OPENFACE_2_COLUMNS)
    csv.write_text(header + "\n" + ", ".join(["1.0"] * 20) + "\n")
    with pytest.raises(ValueError, match="broken.csv.*malformed rows"):
        read_landmark_csv(csv)
    nan_rows = tmp_path / "nan.csv"
    nan_rows.write_text(header + "\n" + ", ".join(["nan"] * len(OPENFACE_2_COLUMNS)) + "\n")
    with pytest.raises(ValueError, match="NaN"):
        read_landmark_csv(nan_rows)
