"""aecnn.loss_spikes: the spike rule shared by the benchmark's report and aecnn train."""
import math

import pytest

from aecnn.loss_spikes import Spike, SpikeWatch, find_spike


def test_watch_names_each_spike_once_when_it_starts():
    watch = SpikeWatch()
    values = [1.0, 0.1, 0.01, 1e-3, 8e-4, 2e-2, 3e-2, 9e-3, 7e-4, 6e-4, 1e-2, 5e-4]
    started = [s for i, v in enumerate(values) if (s := watch.update(v, (i + 1) * 100))]
    # 2e-2 starts one (25x 8e-4), 3e-2 continues it, 9e-3 (11x) still inside it; 1e-2 after 7e-4, 6e-4
    # (below 10x) is a new one
    assert [(s.at, round(s.ratio, 1)) for s in started] == [(600, 25.0), (1100, 16.7)]
    # ``spikes`` holds each at its peak: 3e-2 for the first
    assert [(s.start, s.at, round(s.ratio, 1)) for s in watch.spikes] == [(600, 700, 37.5), (1100, 1100, 16.7)]
    assert watch.last == 5e-4


def test_watch_skips_the_start_and_ignores_non_finite_values():
    watch = SpikeWatch(skip=3)
    # the lowest counts from the third segment on and a spike from the fourth: 5.0 in the third is no
    # spike (after 0.01 and 0.02), and 1.0 later is measured against 0.05, not 0.01 or 0.02
    assert watch.update(0.01, 1) is None and watch.update(0.02, 2) is None and watch.update(5.0, 3) is None
    assert watch.update(0.05, 4) is None
    assert watch.update(math.nan, 5) is None and watch.update(math.inf, 6) is None
    spike = watch.update(1.0, 7)
    assert spike is not None and spike.ratio == pytest.approx(20.0) and spike.start == spike.at == 7
    with pytest.raises(ValueError):
        SpikeWatch(factor=1.0)


def test_find_spike_reports_the_largest_segment_and_the_final_loss():
    curve = [(i, v) for i, v in enumerate([1.0, 0.1, 0.01, 1e-3, 5e-3, 4e-2, 2e-3, 1.2e-3])]
    spike = find_spike(curve)
    assert spike == Spike(5, pytest.approx(40.0), 1e-3, 1.2e-3, start=5)  # 4e-2 is the peak, 5e-3 only 5x
    assert find_spike([*curve, (8, math.nan)]).final == 1.2e-3  # the last finite segment
    assert "40x its lowest before it (1.00e-03) at 5 images; final loss 1.20e-03, 1.20x that level" in spike.note()
    assert find_spike(curve, factor=50) is None and find_spike([]) is None
