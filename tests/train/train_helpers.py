"""Helpers for the training tests (imported as ``train_helpers``; conftest holds the fixtures)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

# tiny model + tiny images: every run below takes seconds on 2 CPU cores
TINY = ["--preset", "tiny", "--channels", "8", "16", "16", "--device", "cpu", "--no-progress"]
SYNTH = ["--synthetic", "--synthetic-sequences", "4", "--synthetic-frames", "6", "--input-size", "32", "32"]


def droplet(h: int, w: int, cx: float, r: float, rng: np.random.Generator) -> np.ndarray:
    """A dark disc on a light background with a baseline: a cartoon of the users' frames."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full((h, w), 235.0)
    base = h - 4
    img[((xx - cx) ** 2 + (yy - base) ** 2 < r**2) & (yy <= base)] = 30.0
    img[base:base + 1] = 20.0
    img += rng.normal(0, 3, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def write_frames(root: Path, n_seq: int = 3, n_frames: int = 4, size: tuple[int, int] = (32, 40)) -> Path:
    rng = np.random.default_rng(0)
    for s in range(n_seq):
        d = root / f"exp_{s}"
        d.mkdir(parents=True, exist_ok=True)
        for t in range(n_frames):
            Image.fromarray(droplet(*size, 8 + 4 * t + s, 6 + s, rng)).save(d / f"frame_{t}.png")
    return root


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2]) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable
