"""The corpus of broken inputs the robustness tests feed to every entry point (processor, pipeline, CLI, data
preparation), written once per session with real codecs, and a deadline that turns a hang into a failure.

Every case says what each entry point must do with it: raise a `ValueError` that names the input and the problem, or
take a documented fallback (with a warning), or simply work.
"""

import faulthandler
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile

from processing.media_writing import write_clip
from tests import media
from tests.conftest import TINY_MODEL_KWARGS


os.environ["HF_HUB_OFFLINE"] = "1"

# a test of this folder that runs longer than this is stuck (each takes well under a minute here, fixtures aside: the
# training runs have timeouts of their own): the process is ended with the traceback of every thread, so a hang inside
# a decoder fails loudly instead of stalling the suite
TEST_DEADLINE_SECONDS = 240

FPS = 10
SAMPLE_RATE = 48000
DURATION = 3.0
HEIGHT, WIDTH = 240, 320
# large enough for dlib's face detector
FACE_BOX = (110, 50, 210, 190)
UHD_HEIGHT, UHD_WIDTH = 2160, 3840
UHD_FACE_BOX = (1320, 450, 2520, 1710)
NON_UTF8_NAME = os.fsdecode(b"clip-\xff\xfe.mp4")
NON_UTF8_BROKEN_NAME = os.fsdecode(b"cut-\xff.mp4")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


@dataclass(frozen=True)
class Case:
    """One broken (or unusual) input and what must come of it.

    Attributes:
        name: Test id.
        video: The video file given (for every case).
        audio: A separate audio input (a file or a waveform), or `None` for the video's own audio track.
        sampling_rate: Sampling rate of a waveform `audio`.
        outcome: `"error"` (a `ValueError`), `"fallback"` (a result and a warning) or `"works"` (a result).
        message: Regular expression the error or the warning matches.
        culprit: How the error names the offending input (`repr` of its path, or e.g. `audio[0]`); `None` for cases
            that work.
    """

    name: str
    video: Path
    outcome: str
    message: str = ""
    audio: Path | np.ndarray | None = None
    sampling_rate: int | None = None
    culprit: str | None = None

    @property
    def given_as_one_file(self) -> bool:
        """Whether the case is one video file and nothing else (what the CLI and the data preparation take)."""
        return self.audio is None


@dataclass
class Corpus:
    """The good clips and the broken cases of the session."""

    good: Path
    other: Path
    cases: dict


def quoted(path: str | Path) -> str:
    """How the project's errors quote a path: `repr`, which also keeps non-UTF-8 names printable."""
    return repr(os.fspath(path))


def write_uhd_clip(path: Path, audio: np.ndarray) -> Path:
    """A 3840x2160 clip of 12 frames (one drawn face frame shown 12 times, cheap to draw and to encode)."""
    frame = media.face_frames(1, UHD_HEIGHT, UHD_WIDTH, face_box=UHD_FACE_BOX)
    frames = np.repeat(frame, TINY_MODEL_KWARGS["num_frames"], axis=0)
    return Path(media.write_video(path, frames, FPS, audio=audio, sample_rate=SAMPLE_RATE))


def build_cases(folder: Path, good: Path, frames: np.ndarray, audio: np.ndarray) -> list:
    """Write every broken input into `folder` and describe what must come of it."""
    cut = Path(media.truncate_file(good, 0.4, folder / "cut_off.mp4"))
    indexed = media.write_video(
        folder / "indexed.mp4", frames, FPS, audio=audio, sample_rate=SAMPLE_RATE, faststart=True
    )
    cut_indexed = Path(media.truncate_file(indexed, 0.4, folder / "cut_off_indexed.mp4"))
    empty = folder / "zero_bytes.mp4"
    empty.write_bytes(b"")
    audio_only = write_clip(folder / "audio_only.mp4", None, None, audio, SAMPLE_RATE)
    video_only = Path(media.write_video(folder / "video_only.mp4", frames, FPS))
    one_frame = Path(
        media.write_video(folder / "one_frame.mp4", frames[:1], FPS, audio=audio, sample_rate=SAMPLE_RATE)
    )
    uhd = write_uhd_clip(folder / "uhd.mp4", audio)
    narrowband = Path(media.write_wav(folder / "narrowband_8khz.wav", media.speech_like_audio(DURATION, 8000), 8000))
    nan_wav = folder / "nan.wav"
    # a float wav holding NaN samples, which the project's own writer refuses to write
    soundfile.write(nan_wav, np.full(SAMPLE_RATE * 3, np.nan), SAMPLE_RATE, subtype="FLOAT")
    nan_waveform = np.full(SAMPLE_RATE * 3, np.nan, dtype=np.float32)
    non_utf8 = folder / NON_UTF8_NAME
    shutil.copyfile(good, non_utf8)
    non_utf8_broken = folder / NON_UTF8_BROKEN_NAME
    shutil.copyfile(cut, non_utf8_broken)
    directory = folder / "a_folder.mp4"
    directory.mkdir()
    return [
        Case("truncated_mp4", cut, "error", "is not a readable media file", culprit=quoted(cut)),
        Case("truncated_indexed_mp4", cut_indexed, "error", "damaged or truncated", culprit=quoted(cut_indexed)),
        Case("zero_byte_file", empty, "error", "is empty", culprit=quoted(empty)),
        Case("audio_only_mp4", audio_only, "error", "has no video stream", culprit=quoted(audio_only)),
        Case("video_only_mp4", video_only, "error", "has no audio track", culprit=quoted(video_only)),
        Case("one_frame_video", one_frame, "fallback", "has only 1 frames, fewer than the 12 sampled"),
        Case("uhd_4k_frames", uhd, "works"),
        Case("wav_8khz_mono", good, "works", audio=narrowband),
        Case(
            "nan_waveform",
            good,
            "error",
            "holds NaN",
            audio=nan_waveform,
            sampling_rate=SAMPLE_RATE,
            culprit="audio[0]",
        ),
        Case("nan_wav_file", good, "error", "NaN", audio=nan_wav, culprit=quoted(nan_wav)),
        Case("non_utf8_file_name", non_utf8, "works"),
        Case(
            "non_utf8_truncated",
            non_utf8_broken,
            "error",
            "is not a readable media file",
            culprit=quoted(non_utf8_broken),
        ),
        Case("directory_as_file", directory, "error", "is not a file", culprit=quoted(directory)),
    ]


CASE_NAMES = [
    "truncated_mp4", "truncated_indexed_mp4", "zero_byte_file", "audio_only_mp4", "video_only_mp4", "one_frame_video",
    "uhd_4k_frames", "wav_8khz_mono", "nan_waveform", "nan_wav_file", "non_utf8_file_name", "non_utf8_truncated",
    "directory_as_file",
]  # fmt: skip
# the cases whose error names a file (every error case but the waveform given as an array)
FILE_ERROR_CASE_NAMES = [
    "truncated_mp4", "truncated_indexed_mp4", "zero_byte_file", "audio_only_mp4", "video_only_mp4", "nan_wav_file",
    "non_utf8_truncated", "directory_as_file",
]  # fmt: skip


@pytest.fixture(autouse=True)
def deadline():
    """Ends the test process, printing every thread's traceback, when a test runs past `TEST_DEADLINE_SECONDS`."""
    faulthandler.dump_traceback_later(TEST_DEADLINE_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Corpus:
    """Two different good talking-face clips (H.264/AAC mp4, 320x240, 3 s, stereo 48 kHz) and every broken case."""
    folder = tmp_path_factory.mktemp("corpus")
    frames = media.face_frames(int(DURATION * FPS), HEIGHT, WIDTH, face_box=FACE_BOX)
    audio = media.speech_like_audio(DURATION, SAMPLE_RATE, channels=2)
    good = Path(media.write_video(folder / "good.mp4", frames, FPS, audio=audio, sample_rate=SAMPLE_RATE))
    other_frames = media.face_frames(int(DURATION * FPS), HEIGHT, WIDTH, face_box=FACE_BOX, seed=1, mouth_open=0.9)
    other_audio = media.speech_like_audio(DURATION, SAMPLE_RATE, channels=2, seed=1)
    other = Path(
        media.write_video(folder / "other.mp4", other_frames, FPS, audio=other_audio, sample_rate=SAMPLE_RATE)
    )
    cases = {case.name: case for case in build_cases(folder, good, frames, audio)}
    assert list(cases) == CASE_NAMES
    assert [
        name for name, case in cases.items() if case.culprit and case.culprit != "audio[0]"
    ] == FILE_ERROR_CASE_NAMES
    return Corpus(good, other, cases)


def holds_pickle(path: Path) -> bool:
    """Whether a file holds pickled data: a pickle stream (protocols 2 and up begin with byte 0x80) or a zip archive
    with a `.pkl` member (what `torch.save` writes)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:1] == b"\x80":
        return True
    if head == b"PK\x03\x04":
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith(".pkl") for name in archive.namelist())
    return False


def pickled_files(folder: Path) -> list[str]:
    """Files under `folder` that are pickles by name or by content, relative to it."""
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and (path.suffix in PICKLE_SUFFIXES or holds_pickle(path))
    )


def tiny_processor():
    """The processor whose outputs fit the tiny test model (12 frames of 48x48), cropping faces with the detector."""
    from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor

    size = TINY_MODEL_KWARGS["image_size"]
    video_processor = TACFNVideoProcessor(
        num_frames=TINY_MODEL_KWARGS["num_frames"], size={"height": size, "width": size}
    )
    return TACFNProcessor(TACFNFeatureExtractor(), video_processor)
