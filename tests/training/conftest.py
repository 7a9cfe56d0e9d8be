"""Shared fixtures of the training tests: a clip store of a small demo tree, built once per session."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from processing.media_writing import write_openface_csv
from training.data.clip_store import load_clip_store, main as store_main
from training.data.demo import FPS, NUM_FRAMES, write_demo_ravdess


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory) -> SimpleNamespace:
    """A clip store of 8 demo actors with one clip per emotion (published folds 0 and 1), made by the command line,
    16 clips a shard; one clip of actor 1 has landmarks far outside its frames: preparation keeps it (the CSV has the
    columns), the processor refuses it, so the store skips it."""
    root = tmp_path_factory.mktemp("clip_store")
    clips = write_demo_ravdess(root / "tree", actors=8, clips_per_emotion=1, seed=3)
    bad = clips[3]
    write_openface_csv(bad.with_suffix(".csv"), np.full((NUM_FRAMES, 68, 2), 5000.0), FPS)
    store_main([str(root / "tree"), "--dataset", "demo", "--config", "tiny", "--output", str(root / "store"),
                "--clips-per-shard", "16", "--num-workers", "2", "--no-progress"])  # fmt: skip
    return SimpleNamespace(tree=root / "tree", root=root / "store", store=load_clip_store(root / "store"), bad=bad)
