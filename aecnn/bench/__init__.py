"""Benchmarks: timing, roofline probes, the model sweep, memory cap search, data pipeline, DDP.

Importing this package imports torch and nothing optional (no pytorch_msssim, h5py or
tensorboard); the CLI is ``aecnn bench``.
"""
from __future__ import annotations

from aecnn.bench.ceiling import measure_ceilings
from aecnn.bench.runner import BenchSettings, ModelCase, expand_grid, fill_batch, run_case, run_grid
from aecnn.bench.timing import Timing, measure

__all__ = ["BenchSettings", "ModelCase", "Timing", "expand_grid", "fill_batch", "measure", "measure_ceilings",
           "run_case", "run_grid"]
