from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

SHARED = next((p for p in (Path(__file__).resolve().parents[1] / ".." / "shared",
                            Path("/work/shared")) if (p / "data" / "droplet_frames").is_dir()), None)


@pytest.fixture
def droplet_frames_dir() -> Path:
    """The users' real frames in ../shared (evaluation only); skips when absent."""
    if SHARED is None:
        pytest.skip("../shared/data/droplet_frames is not present")
    return SHARED / "data" / "droplet_frames"


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
