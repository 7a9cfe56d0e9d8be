"""Shared test set-up: offline Hub, markers for what a plain CPU machine lacks, and small model configurations."""

import os

import pytest
import torch


os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# tests run on 2 cores shared with DataLoader workers and subprocesses
torch.set_num_threads(min(2, torch.get_num_threads()))


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA device; skipped without one")
    config.addinivalue_line("markers", "network: needs the Hugging Face Hub; skipped offline")
    config.addinivalue_line("markers", "real_data: needs the real RAVDESS or IEMOCAP; skipped when absent")


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="no CUDA device on this machine")
    skip_network = pytest.mark.skip(reason="tests run offline (HF_HUB_OFFLINE=1); set TACFN_TEST_NETWORK=1 to run")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
        if "network" in item.keywords and os.environ.get("TACFN_TEST_NETWORK") != "1":
            item.add_marker(skip_network)


# a video feature map of (2, 3, 3): the fusion weights vary over time and space
TINY_MODEL_KWARGS = dict(
    num_frames=12,
    image_size=48,
    video_stem_channels=8,
    video_layers=[1, 1, 1],
    video_hidden_sizes=[16, 32, 64],
    video_cardinality=4,
    audio_hidden_sizes=[8, 8, 16],
    fusion_num_heads=4,
    fusion_num_layers=2,
)


@pytest.fixture
def tiny_config():
    from modeling_tacfn import TACFNConfig

    return TACFNConfig(**TINY_MODEL_KWARGS)
