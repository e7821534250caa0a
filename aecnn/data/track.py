"""Where the drop is in a frame: the centroid of its dark pixels.

The simplest tracker, and the one the crops are cut around: pixels darker than a threshold, rows that
are dark across most of the width (the baseline, the substrate) left out. Its frame-to-frame change
is the drop's displacement, which crops centred on the drop no longer show and which the sequence
stage needs for speed-dependent targets such as viscosity (``aecnn track``, then
``aecnn fit-sequence --frame-features``; benchmarks/QUALITY.md measures what it adds).
"""
from __future__ import annotations

import math

import numpy as np


def drop_centre(frame: np.ndarray, threshold: float = 0.5, row_fraction: float = 0.5) -> tuple[float, float, float]:
    """``(x, y, dark_fraction)`` of a 2-D frame: the centroid (column, row; pixel units) of the
    pixels below ``threshold`` (in the frame's own units, e.g. 0.5 for [0, 1] floats, 128 for uint8)
    outside rows whose dark share exceeds ``row_fraction``, and that share of the frame's pixels.
    ``x`` and ``y`` are NaN when no such pixel exists (no drop in view).

    Raises:
        ValueError: ``frame`` is not 2-D.
    """
    frame = np.asarray(frame)
    if frame.ndim != 2:
        raise ValueError(f"a frame must be 2-D (H, W), got shape {frame.shape}")
    dark = frame < threshold
    dark[dark.mean(axis=1) > row_fraction] = False
    n = int(dark.sum())
    if n == 0:
        return math.nan, math.nan, 0.0
    ys, xs = np.nonzero(dark)
    return float(xs.mean()), float(ys.mean()), n / dark.size


__all__ = ["drop_centre"]
