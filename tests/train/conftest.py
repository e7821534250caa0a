"""Fixtures for the training tests."""
from __future__ import annotations

from pathlib import Path

import pytest
from train_helpers import write_frames


@pytest.fixture
def frames_dir(tmp_path: Path) -> Path:
    """3 sequences x 4 PNG frames of 32x40 (H x W)."""
    return write_frames(tmp_path / "frames")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny convolutions gain nothing from a second thread, and on a busy 2-core machine the
    OpenMP threads wait on each other (10x slower); use one, then restore."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
