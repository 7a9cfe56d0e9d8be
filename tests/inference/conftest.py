"""Shared fixtures of the inference tests: a tiny TACFN model folder with its processor and pipeline, and real clips
(H.264/AAC mp4, MPEG-4/PCM avi) written once per session."""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from tests import media
from tests.conftest import TINY_MODEL_KWARGS


os.environ["HF_HUB_OFFLINE"] = "1"

FPS = 15
SAMPLE_RATE = 48000
DURATION = 3.0
HEIGHT, WIDTH = 120, 160


@dataclass
class Clips:
    """Real clip files of the session, and the frames and audio they were written from."""

    mp4: Path
    avi: Path
    silent: Path
    voice: Path
    sound_only_mp4: Path
    landmarks_csv: Path
    frames: np.ndarray
    audio: np.ndarray


def tiny_processor(do_face_crop: bool = False):
    """A processor whose outputs fit the tiny model: 12 frames of 48x48, whole frames unless `do_face_crop` (then
    cropped by landmarks or the face detector)."""
    from processing import TACFNFeatureExtractor, TACFNProcessor, TACFNVideoProcessor

    video_processor = TACFNVideoProcessor(
        num_frames=TINY_MODEL_KWARGS["num_frames"],
        size={"height": TINY_MODEL_KWARGS["image_size"], "width": TINY_MODEL_KWARGS["image_size"]},
        do_face_crop=do_face_crop,
    )
    return TACFNProcessor(TACFNFeatureExtractor(), video_processor)


def tiny_model(modality: str = "both", seed: int = 0):
    """A randomly initialised tiny TACFN classifier in eval mode."""
    from modeling_tacfn import TACFNConfig, TACFNForAudioVisualClassification

    torch.manual_seed(seed)
    return TACFNForAudioVisualClassification(TACFNConfig(**TINY_MODEL_KWARGS, modality=modality)).eval()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A tiny fused model saved with its processor, made loadable as a pipeline by `save_pipeline`."""
    from processing import save_pipeline

    folder = tmp_path_factory.mktemp("tiny-tacfn")
    tiny_model().save_pretrained(folder)
    tiny_processor().save_pretrained(folder)
    save_pipeline(folder)
    return folder


@pytest.fixture(scope="session")
def audio_only_model_dir(tmp_path_factory) -> Path:
    """A tiny audio-only model with its processor: it has no fusion weights."""
    folder = tmp_path_factory.mktemp("tiny-tacfn-audio")
    tiny_model("audio").save_pretrained(folder)
    tiny_processor().save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def face_crop_model_dir(tmp_path_factory) -> Path:
    """The tiny fused model with a processor that crops faces (by landmarks when given)."""
    folder = tmp_path_factory.mktemp("tiny-tacfn-face-crop")
    tiny_model().save_pretrained(folder)
    tiny_processor(do_face_crop=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def classifier(model_dir):
    """The pipeline of `model_dir`, built in this process from the package's classes."""
    from inference import load_classifier

    return load_classifier(str(model_dir), device="cpu")


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Clips:
    """A talking-face mp4 (H.264/AAC) with the OpenFace CSV of its face (in its own folder), the clip reversed as avi
    (MPEG-4/PCM), an mp4 without an audio track, and its audio alone as m4a (AAC) and as an mp4 without video."""
    folder = tmp_path_factory.mktemp("clips")
    num_frames = int(DURATION * FPS)
    face_box = (40, 20, 100, 95)
    frames = media.face_frames(num_frames, HEIGHT, WIDTH, face_box=face_box, seed=1)
    audio = media.speech_like_audio(DURATION, SAMPLE_RATE, seed=1)
    landmarks_folder = tmp_path_factory.mktemp("landmarks")
    landmarks = media.face_landmarks(num_frames, face_box)
    return Clips(
        mp4=Path(media.write_video(folder / "talking.mp4", frames, FPS, audio, SAMPLE_RATE)),
        avi=Path(
            media.write_video(folder / "talking.avi", frames[::-1].copy(), FPS, audio[:, ::-1].copy(), SAMPLE_RATE)
        ),
        silent=Path(media.write_video(folder / "silent.mp4", frames, FPS)),
        voice=Path(media.write_video(folder / "voice.m4a", None, audio=audio, sample_rate=SAMPLE_RATE)),
        sound_only_mp4=Path(media.write_video(folder / "sound_only.mp4", None, audio=audio, sample_rate=SAMPLE_RATE)),
        landmarks_csv=Path(media.write_openface_csv(landmarks_folder / "talking.csv", landmarks, FPS)),
        frames=frames,
        audio=audio,
    )


@pytest.fixture(scope="session")
def broken_files(tmp_path_factory, clips) -> dict:
    """Files the pipeline must refuse with a clear message: text named .mp4, a truncated mp4, and a missing file."""
    folder = tmp_path_factory.mktemp("broken")
    text = folder / "notes.mp4"
    text.write_text("this is not a video\n")
    truncated = Path(media.truncate_file(clips.mp4, 0.3, folder / "cut_off.mp4"))
    return {"text": text, "truncated": truncated, "missing": folder / "never_written.mp4"}
