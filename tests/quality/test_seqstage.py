"""The quality benchmark's sequence-stage scores (``aecnn.quality.seqstage``): the reduced LSTM
with per-frame extra columns (``r2_lstm_pc``) reads a target that only the extra columns carry."""
from __future__ import annotations

import math

import numpy as np
import pytest

from aecnn.quality.seqstage import sequence_scores


def _data(n_seq: int, t: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.uniform(0.5, 5.0, n_seq)
    latents = rng.normal(size=(n_seq * t, 12)).astype(np.float32)  # nothing about y
    motion = np.stack([np.repeat(-4 * y, t) + rng.normal(scale=0.3, size=n_seq * t),
                       rng.normal(size=n_seq * t)], axis=1).astype(np.float32)  # speed = -4 y
    return latents, motion, y


def test_reduced_lstm_reads_the_extra_columns():
    tr_lat, tr_mot, y_tr = _data(40, 8, 0)
    te_lat, te_mot, y_te = _data(16, 8, 1)
    s = sequence_scores(tr_lat, y_tr, te_lat, y_te, 8, lstm_epochs=40, reduce=3, train_extra=tr_mot,
                        test_extra=te_mot)
    assert s["r2_lstm"] < 0.3 and s["r2_ridge"] < 0.3  # the latents alone hold nothing
    assert s["r2_lstm_pc"] > 0.8, s
    # without reduce there is no such score; with lstm=False neither LSTM runs
    assert math.isnan(sequence_scores(tr_lat, y_tr, te_lat, y_te, 8, lstm_epochs=1)["r2_lstm_pc"])
    off = sequence_scores(tr_lat, y_tr, te_lat, y_te, 8, lstm=False, reduce=3, train_extra=tr_mot, test_extra=te_mot)
    assert math.isnan(off["r2_lstm"]) and math.isnan(off["r2_lstm_pc"]) and math.isfinite(off["r2_ridge"])


def test_lstm_predict_and_ensemble_r2():
    from aecnn.quality.seqstage import ensemble_r2, lstm_predict, lstm_r2, r2

    tr_lat, tr_mot, y_tr = _data(24, 8, 0)
    te_lat, te_mot, y_te = _data(8, 8, 1)
    tr = np.concatenate([tr_lat, tr_mot], 1).reshape(24, 8, -1)
    te = np.concatenate([te_lat, te_mot], 1).reshape(8, 8, -1)
    kw = {"epochs": 3, "seed": 0, "reduce": 2, "passthrough": 2}
    pred = lstm_predict(tr, y_tr, te, y_te, **kw)
    assert pred.shape == (8,)  # log-viscosity per held-out sequence, within the training range +- 0.5
    assert np.log(y_tr).min() - 0.5 <= pred.min() and pred.max() <= np.log(y_tr).max() + 0.5
    assert lstm_r2(tr, y_tr, te, y_te, **kw) == r2(y_te, np.exp(pred))  # the same fit, scored
    # the ensemble averages log-predictions: errors of opposite sign cancel
    assert ensemble_r2(y_te, [np.log(y_te) + 0.3, np.log(y_te) - 0.3]) == pytest.approx(1.0)
    assert ensemble_r2(y_te, [np.log(y_te) + 0.3]) < 1.0


def test_a_one_thread_fit_leaves_the_process_threads_as_they_were():
    # scored in the benchmark's own process (no workers), the fit used to leave torch at one thread, so every
    # later network trained on one core, and differently from the first (another summation order)
    import torch

    from aecnn.quality.seqstage import sequence_scores

    tr_lat, _, y_tr = _data(8, 8, 0)
    te_lat, _, y_te = _data(4, 8, 1)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        sequence_scores(tr_lat, y_tr, te_lat, y_te, 8, 1, 1)  # the benchmark's call: lstm_epochs 1, threads 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
