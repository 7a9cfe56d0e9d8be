"""The fuzz harness of the media path: real seed files, byte- and field-level mutations of them, and the targets that
feed a mutated file to the processor.

A target passes when the processor either returns model inputs of the usual shapes holding only finite numbers, or
raises the documented `ValueError`; any other exception is a bug (and a hang is caught by the deadline of the runner:
hypothesis's per-example deadline in the suite, libFuzzer's `-timeout` in the long run of `tests/fuzzing/run.py`).

Seeds (`write_seeds`) are small real files written with the project's writer: an H.264/AAC mp4, an MPEG-4 part 2/PCM
avi, a PCM wav and an OpenFace 2 landmark CSV with every OpenFace column. Each kind has its target:

- `mp4`, `avi`: the mutated file is the clip (`processor(videos=file)`, faces found by the detector);
- `wav`: the mutated file is the separate audio of the seed mp4 (`processor(videos=seed.mp4, audio=file)`);
- `csv`: the mutated file is the landmark CSV of the seed mp4 (`processor(videos=seed.mp4, landmarks=file)`).
"""

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from tests import media
from tests.conftest import TINY_MODEL_KWARGS
from tests.robustness.conftest import tiny_processor


KINDS = ("mp4", "avi", "wav", "csv")
SEED_FPS = 10
SEED_FRAMES = 12
SEED_SAMPLE_RATE = 16000
SEED_HEIGHT, SEED_WIDTH = 64, 80
SEED_FACE_BOX = (20, 10, 60, 54)
# values that break parsers more often than random ones: zero, one, sign bits, all ones, sizes near a boundary
INTERESTING_INTEGERS = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
# fields a landmark CSV may be damaged to: empty, not a number, not finite, out of float range, huge, negative
INTERESTING_FIELDS = (b"", b"nan", b"inf", b"-inf", b"1e309", b"-", b"x", b"1" * 400, b"-1e30", b"0x10", b'"')


@dataclass(frozen=True)
class Mutation:
    """One change to a file's bytes.

    Attributes:
        operation: `"flip"` (xor one byte with `value`), `"set"` (one byte to `value`), `"int32"` (4 bytes to the
            big-endian `value`, as MP4 box sizes are stored), `"int32le"` (little-endian, as RIFF chunk sizes are),
            `"cut"` (drop everything from `position`), `"delete"` (drop `length` bytes), `"repeat"` (insert a copy of
            the `length` bytes at `position`), `"field"` (replace the comma-separated field around `position` by
            `INTERESTING_FIELDS[value]`).
        position: Where, as a fraction of the file's length in [0, 1).
        value: The byte, integer or field index the operation writes.
        length: Bytes that `delete` and `repeat` touch.
    """

    operation: str
    position: float
    value: int = 0
    length: int = 1


OPERATIONS = ("flip", "set", "int32", "int32le", "cut", "delete", "repeat", "field")


def mutate(data: bytes, mutations: list[Mutation]) -> bytes:
    """Apply `mutations` to `data` one after the other."""
    for mutation in mutations:
        data = _apply(bytearray(data), mutation)
    return bytes(data)


def _apply(data: bytearray, mutation: Mutation) -> bytearray:
    """One mutation; positions are fractions of the current length, so every mutation lands inside the file."""
    if not data:
        return data
    at = min(int(mutation.position * len(data)), len(data) - 1)
    if mutation.operation == "flip":
        data[at] ^= mutation.value & 0xFF or 1
    elif mutation.operation == "set":
        data[at] = mutation.value & 0xFF
    elif mutation.operation in ("int32", "int32le"):
        order = "big" if mutation.operation == "int32" else "little"
        data[at : at + 4] = (mutation.value & 0xFFFFFFFF).to_bytes(4, order)
    elif mutation.operation == "cut":
        del data[at:]
    elif mutation.operation == "delete":
        del data[at : at + mutation.length]
    elif mutation.operation == "repeat":
        data[at:at] = data[at : at + mutation.length]
    elif mutation.operation == "field":
        start = data.rfind(b",", 0, at) + 1
        end = data.find(b",", at)
        data[start : end if end >= 0 else len(data)] = INTERESTING_FIELDS[mutation.value % len(INTERESTING_FIELDS)]
    else:
        raise ValueError(f"unknown mutation {mutation.operation!r}.")
    return data


def write_seeds(folder: str | os.PathLike) -> dict[str, Path]:
    """Write one small real file of each kind into `folder`; returns `{kind: path}`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = media.face_frames(SEED_FRAMES, SEED_HEIGHT, SEED_WIDTH, face_box=SEED_FACE_BOX)
    audio = media.speech_like_audio(SEED_FRAMES / SEED_FPS, SEED_SAMPLE_RATE)
    seeds = {kind: folder / f"seed.{kind}" for kind in KINDS}
    for kind in ("mp4", "avi"):
        media.write_video(seeds[kind], frames, SEED_FPS, audio=audio, sample_rate=SEED_SAMPLE_RATE)
    media.write_wav(seeds["wav"], audio, SEED_SAMPLE_RATE)
    landmarks = media.face_landmarks(SEED_FRAMES, SEED_FACE_BOX)
    media.write_openface_csv(seeds["csv"], landmarks, SEED_FPS)
    return seeds


class Target:
    """Feeds mutated files of one kind to the tiny test processor.

    Args:
        kind (`str`): One of `KINDS`.
        seeds (`dict`): The seed files, as `write_seeds` returns them.
    """

    def __init__(self, kind: str, seeds: dict[str, Path]):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
        self.kind = kind
        self.seeds = seeds
        self.processor = tiny_processor()

    def __call__(self, path: str | os.PathLike) -> str:
        """Run the processor on the mutated file at `path` (named with the kind's extension).

        Returns:
            `"inputs"` or `"ValueError"`, what came of it. Any other exception propagates: it is a finding. So does an
            `AssertionError` for model inputs of the wrong shape or with non-finite numbers.
        """
        path = os.fspath(path)
        given = {
            "mp4": {"videos": path},
            "avi": {"videos": path},
            "wav": {"videos": str(self.seeds["mp4"]), "audio": path},
            "csv": {"videos": str(self.seeds["mp4"]), "landmarks": path},
        }[self.kind]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                outputs = self.processor(**given, require_audio=False)
            except ValueError:
                return "ValueError"
        check_model_inputs(outputs)
        return "inputs"


def check_model_inputs(outputs) -> None:
    """Model inputs of the tiny model's shapes with finite numbers only."""
    size = TINY_MODEL_KWARGS["image_size"]
    assert outputs["pixel_values_videos"].shape == (1, TINY_MODEL_KWARGS["num_frames"], 3, size, size)
    assert outputs["input_features"].shape == (1, 13, 212)
    for tensor in outputs.values():
        assert torch.isfinite(tensor).all(), "non-finite model inputs"


def random_mutations(rng: np.random.Generator, count: int) -> list[Mutation]:
    """`count` random mutations (for the plain random run of `run.py --engine random`)."""
    return [
        Mutation(
            operation=str(rng.choice(OPERATIONS)),
            position=float(rng.random()),
            value=int(rng.choice(INTERESTING_INTEGERS)) if rng.random() < 0.5 else int(rng.integers(0, 2**32)),
            length=int(rng.integers(1, 2048)),
        )
        for _ in range(count)
    ]
