"""Loss spikes: a stretch of training whose loss jumps far above the lowest it had reached.

In the quality benchmark's saved trainings that kept their loss curves, 16 of 37 had a segment whose
mean loss was >= 10x the lowest segment before it, and where the same settings were trained with and
without one, those with one ended 0.3-2.4 dB lower on average over one or two trainings a side (one
medium training lost 4 dB; benchmarks/QUALITY.md, "Thirteenth session"). A
check that only compares the end of a training with its lowest point (``loss_rose``) misses a spike the
training half recovers from, so both the benchmark's report and ``aecnn train`` look for spikes.

``find_spike`` reads a whole curve afterwards; ``SpikeWatch`` is the same rule fed one segment at a
time during training.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

FACTOR = 10.0  # a segment this many times the lowest before it is a spike
SKIP = 3  # segments at the start that are not a baseline (warm-up, the steep start)


@dataclass(frozen=True)
class Spike:
    """One spike: where its highest segment ended (images seen or step, as the curve counts), how large
    it was there, from which level, the loss the curve ended at (or stood at when it was found), and
    where the spike's first segment ended."""

    at: int
    ratio: float
    before: float
    final: float
    start: int | None = None

    def note(self, unit: str = "images") -> str:
        return (f"loss spike: {self.ratio:.0f}x its lowest before it ({self.before:.2e}) at {self.at:,} {unit}; "
                f"final loss {self.final:.2e}, {self.final / self.before:.2f}x that level")


class SpikeWatch:
    """Segment means in, the start of each spike out.

    A spike starts at a segment >= ``factor`` times the lowest segment before it and lasts while the
    segments stay there; a later rise after the loss came back below is a new spike. The steep start is
    left out: the first ``skip`` segments are never a spike, and the lowest is taken from segment ``skip``
    (1-based) on. ``spikes`` holds each one at its peak (with its ``start``). Non-finite values are
    ignored (divergence is another check's business); so is a lowest of 0 (nothing to be a multiple of).
    """

    def __init__(self, factor: float = FACTOR, skip: int = SKIP) -> None:
        if factor <= 1 or skip < 1:
            raise ValueError(f"factor must be > 1 and skip >= 1, got {factor}, {skip}")
        self.factor, self.skip = factor, skip
        self.lowest = math.inf
        self.segments = 0
        self.spikes: list[Spike] = []
        self._inside = False
        self.last = math.nan

    def update(self, value: float, at: int) -> Spike | None:
        """Feed one segment's mean loss, ending at ``at``; returns a new spike when one starts here."""
        n = self.segments
        self.segments += 1
        if not math.isfinite(value):
            return None
        self.last = value
        started = None
        high = n >= self.skip and 0 < self.lowest < math.inf and value >= self.factor * self.lowest
        if high:
            if not self._inside:
                started = Spike(at, value / self.lowest, self.lowest, value, start=at)
                self.spikes.append(started)
            elif value / self.lowest > self.spikes[-1].ratio:  # the same spike, higher
                self.spikes[-1] = Spike(at, value / self.lowest, self.lowest, value, start=self.spikes[-1].start)
        self._inside = high
        if n >= self.skip - 1:
            self.lowest = min(self.lowest, value)
        return started


def find_spike(curve: Sequence[Sequence[float]], factor: float = FACTOR, skip: int = SKIP) -> Spike | None:
    """The largest spike of a ``[(at, segment mean loss), ...]`` curve, with the curve's final (finite)
    loss, or ``None``."""
    watch = SpikeWatch(factor, skip)
    for at, value in curve:
        watch.update(value, int(at))
    if not watch.spikes:
        return None
    best = max(watch.spikes, key=lambda s: s.ratio)
    return Spike(best.at, best.ratio, best.before, watch.last, best.start)  # last: the last finite segment
