"""Real test media for the processing tests, written once per session with real codecs (H.264/AAC, MPEG-4/PCM)."""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests import media


os.environ["HF_HUB_OFFLINE"] = "1"

FPS = 15
NUM_FRAMES = 45  # 3 s
HEIGHT, WIDTH = 120, 160
SAMPLE_RATE = 48000
BOX_COLOUR = (230, 40, 200)
# the rectangle jumps between two far-apart places on alternate frames, so matching a landmark row to the wrong frame
# puts the crop mostly on background
EVEN_FRAME_BOX = (24, 16, 80, 88)
ODD_FRAME_BOX = (72, 32, 128, 104)


@dataclass
class BoxClip:
    """A clip whose frames show one solid rectangle at known per-frame boxes, and its OpenFace CSV."""

    path: Path
    csv: Path
    boxes: np.ndarray
    frames: np.ndarray
    audio: np.ndarray


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def speech() -> np.ndarray:
    """3 s of stereo speech-like audio at 48 kHz, (2, samples)."""
    return media.speech_like_audio(3.0, SAMPLE_RATE, channels=2, seed=1)


@pytest.fixture(scope="session")
def speech_wav(media_dir, speech) -> Path:
    return Path(media.write_wav(media_dir / "speech.wav", speech, SAMPLE_RATE))


@pytest.fixture(scope="session")
def box_boxes() -> np.ndarray:
    return np.array([EVEN_FRAME_BOX if index % 2 == 0 else ODD_FRAME_BOX for index in range(NUM_FRAMES)])


@pytest.fixture(scope="session")
def box_clip(media_dir, speech, box_boxes) -> BoxClip:
    """H.264/AAC mp4, 160x120 at 15 fps, 3 s, stereo 48 kHz audio, with a matching OpenFace CSV."""
    frames = media.box_frames(box_boxes, HEIGHT, WIDTH, BOX_COLOUR)
    path = Path(media.write_video(media_dir / "box.mp4", frames, FPS, audio=speech, sample_rate=SAMPLE_RATE))
    csv = Path(media.write_openface_csv(media_dir / "box.csv", media.face_landmarks(NUM_FRAMES, box_boxes), FPS))
    return BoxClip(path, csv, box_boxes, frames, speech)


@pytest.fixture(scope="session")
def box_clip_avi(media_dir, box_clip) -> Path:
    """The same clip as MPEG-4 part 2 video with 16-bit PCM audio in avi (lossless audio)."""
    return Path(media.write_video(media_dir / "box.avi", box_clip.frames, FPS, audio=box_clip.audio))


@pytest.fixture(scope="session")
def face_clip(media_dir, speech) -> Path:
    """A drawn face (box (110, 50)-(210, 190)) in 320x240 H.264/AAC, 30 frames at 10 fps."""
    frames = media.face_frames(30, 240, 320, face_box=(110, 50, 210, 190))
    return Path(media.write_video(media_dir / "face.mp4", frames, 10, audio=speech, sample_rate=SAMPLE_RATE))


@pytest.fixture(scope="session")
def silent_clip(media_dir) -> Path:
    """An mp4 with a video stream and no audio track."""
    frames = media.face_frames(NUM_FRAMES, HEIGHT, WIDTH)
    return Path(media.write_video(media_dir / "silent.mp4", frames, FPS))


@pytest.fixture(scope="session")
def ten_frame_clip(media_dir, speech) -> Path:
    """An mp4 of only 10 frames (fewer than the 30 sampled)."""
    frames = media.face_frames(10, HEIGHT, WIDTH)
    return Path(media.write_video(media_dir / "ten.mp4", frames, FPS, audio=speech, sample_rate=SAMPLE_RATE))


@pytest.fixture(scope="session")
def truncated_clip(media_dir, box_clip) -> Path:
    """The first 40% of the bytes of an mp4 whose index (moov) is at the end, as a download cut short."""
    return Path(media.truncate_file(box_clip.path, 0.4, media_dir / "truncated.mp4"))


@pytest.fixture(scope="session")
def truncated_faststart_clip(media_dir, box_clip) -> Path:
    """The first 40% of an mp4 whose index (moov) comes first: the index promises frames the file no longer has."""
    complete = media.write_video(
        media_dir / "faststart.mp4", box_clip.frames, FPS, audio=box_clip.audio, faststart=True
    )
    return Path(media.truncate_file(complete, 0.4, media_dir / "truncated_faststart.mp4"))


@pytest.fixture(scope="session")
def audio_only_files(media_dir, speech) -> dict:
    """The speech without any picture, as each kind of audio-only file: 16-bit wav, AAC in m4a, MP3 and an mp4 holding
    an AAC track and no video stream."""
    files = {"wav": media_dir / "voice.wav", "m4a": media_dir / "voice.m4a", "mp3": media_dir / "voice.mp3"}
    files["mp4"] = media_dir / "sound_only.mp4"
    return {kind: Path(media.write_video(path, None, audio=speech, sample_rate=SAMPLE_RATE)) for kind, path in files.items()}
