"""Timing device work: CUDA events after warm-up, several repeats, the median.

On the CPU the same protocol runs with :func:`time.perf_counter`. Device work is
asynchronous, so a CUDA measurement synchronises before the first event and after
the last one; each repeat times ``iters`` back-to-back calls so that the launch
gaps between steps are part of the number (as they are in a training loop).
"""
from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch


@dataclass
class Timing:
    """Result of :func:`measure`.

    Attributes:
        median_s: median seconds per call over the repeats.
        per_call_s: seconds per call of each repeat.
        iters: calls per repeat.
        warmup_s: wall seconds of the warm-up calls (includes compilation, autotuning).
    """

    median_s: float
    per_call_s: list[float] = field(default_factory=list)
    iters: int = 1
    warmup_s: float = 0.0

    @property
    def spread(self) -> float:
        """(max - min) / median over the repeats: the run-to-run noise."""
        if len(self.per_call_s) < 2 or self.median_s <= 0:
            return 0.0
        return (max(self.per_call_s) - min(self.per_call_s)) / self.median_s

    def to_dict(self) -> dict:
        d = asdict(self)
        d["spread"] = self.spread
        return d


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_block(fn: Callable[[int], object], iters: int, device: torch.device, start: int) -> float:
    """Seconds per call of ``iters`` calls ``fn(start), fn(start+1), ...``."""
    if device.type == "cuda":
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        synchronize(device)
        begin.record()
        for i in range(iters):
            fn(start + i)
        end.record()
        end.synchronize()
        return begin.elapsed_time(end) / 1e3 / iters
    t0 = time.perf_counter()
    for i in range(iters):
        fn(start + i)
    return (time.perf_counter() - t0) / iters


def measure(fn: Callable[[int], object], device: torch.device, warmup: int = 3, repeats: int = 5,
            min_time: float = 0.25, max_iters: int = 200, iters: int | None = None) -> Timing:
    """Time ``fn(i)`` (``i`` counts calls, e.g. to rotate among inputs).

    Args:
        fn: the work of one step; it must leave nothing pending that the next step needs
            the host to wait for (the events bracket the whole block).
        device: where the work runs (CUDA events there, ``perf_counter`` elsewhere).
        warmup: untimed calls first (compilation, cuDNN autotuning, allocator growth).
        repeats: timed blocks; the median of their per-call times is reported.
        min_time: seconds each timed block should last; sets ``iters`` from one timed call.
        max_iters: upper bound on calls per block.
        iters: calls per block (overrides ``min_time``).

    Returns:
        The :class:`Timing`.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    t0 = time.perf_counter()
    for i in range(warmup):
        fn(i)
    synchronize(device)
    warmup_s = time.perf_counter() - t0
    calls = warmup
    if iters is None:
        one = _time_block(fn, 1, device, calls)
        calls += 1
        iters = max(1, min(max_iters, math.ceil(min_time / max(one, 1e-9))))
    per_call = []
    for _ in range(repeats):
        per_call.append(_time_block(fn, iters, device, calls))
        calls += iters
    return Timing(statistics.median(per_call), per_call, iters, warmup_s)
