"""Fixtures for the inference commands: a tiny untrained checkpoint and a few generated frames."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aecnn.checkpoint import save_checkpoint
from aecnn.models import create_autoencoder

TINY = {"channel_config": (8, 16, 16)}


def droplet(h: int, w: int, t: int, seed: int) -> np.ndarray:
    """A dark ellipse on a bright background with a baseline, moving with ``t`` (uint8)."""
    rng = np.random.default_rng(seed * 100 + t)
    yy, xx = np.mgrid[:h, :w]
    cx, cy = w * (0.3 + 0.05 * t), h * 0.6
    inside = ((xx - cx) / (0.18 * w)) ** 2 + ((yy - cy) / (0.25 * h)) ** 2 < 1
    img = np.full((h, w), 220.0) - 150 * inside
    img[int(h * 0.85):int(h * 0.85) + 2] = 40
    return np.clip(img + rng.normal(0, 3, (h, w)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def model_files(tmp_path_factory) -> dict[str, Path]:
    """Checkpoints of tiny untrained models: 'conv' and 'spatial' at 64x64, 'strip' at 48x256."""
    d = tmp_path_factory.mktemp("ckpt")
    out = {}
    for name, size, kw in (("conv", (64, 64), {"latent_strategy": "conv"}), ("spatial", (64, 64), {"latent_strategy": "spatial", "latent_size": 64}),
                           ("strip", (48, 256), {"latent_strategy": "spatial", "latent_size": 64})):
        out[name] = save_checkpoint(d / f"{name}.pt", create_autoencoder("tiny", input_size=size, **TINY, **kw))
    return out


@pytest.fixture(scope="session")
def ckpt(model_files) -> Path:
    return model_files["conv"]


@pytest.fixture(scope="session")
def frames_dir(tmp_path_factory) -> Path:
    """Two sequence folders of three 64x64 PNGs named so natural order differs from text order."""
    root = tmp_path_factory.mktemp("frames")
    for s, seq in enumerate(("seq_a", "seq_b")):
        (root / seq).mkdir()
        for t, name in enumerate(("frame_1.png", "frame_2.png", "frame_10.png")):
            Image.fromarray(droplet(64, 64, t, s)).save(root / seq / name)
    return root


@pytest.fixture(scope="session")
def frame_paths(frames_dir) -> list[Path]:
    """The frames of ``frames_dir`` in sequence and natural frame order."""
    return [frames_dir / s / f for s in ("seq_a", "seq_b") for f in ("frame_1.png", "frame_2.png", "frame_10.png")]
