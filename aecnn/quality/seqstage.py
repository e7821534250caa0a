"""Sequence-stage score of a latent space: R^2 of the hidden viscosity of held-out sequences.

Two regressors, both fitted on the latents of the TRAINING sequences only and scored on the
held-out sequences (never seen by the autoencoder nor by the regressor):

* ``lstm``: the project's sequence stage, :class:`aecnn.sequence.LatentLSTM` over windows
  (:class:`aecnn.sequence.LatentWindows`), trained like :func:`aecnn.sequence.fit_sequence_model`
  trains it (its :class:`~aecnn.sequence.FitConfig` defaults: window 16, stride 4, hidden 64,
  AdamW 3e-3 with cosine decay to 5 %, batch 32, 60 epochs), but on an explicit split;
  prediction per sequence = mean over its windows.
* ``ridge``: ridge regression (scikit-learn ``RidgeCV``, leave-one-out alpha) on per-sequence
  statistics of the standardised latents: mean, standard deviation and mean absolute
  frame-to-frame change of every latent value.

Both fit log(viscosity) and report R^2 in viscosity units (as ``FitConfig(log_target=True)``).
"""
from __future__ import annotations

import math

import numpy as np
import torch

FIT_DEFAULTS = {"window": 16, "stride": 4, "hidden_size": 64, "num_layers": 1, "head": "v1", "projection": 0,
                "dropout": 0.1, "epochs": 60, "lr": 3e-3, "weight_decay": 1e-4, "batch_size": 32}


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    t, p = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    ss = float(((t - t.mean()) ** 2).sum())
    return math.nan if t.size < 2 or ss == 0 else 1.0 - float(((t - p) ** 2).sum()) / ss


def spread(values: np.ndarray) -> dict:
    """``{"mean", "sd", "min", "max", "n"}`` of repeated scores (``sd`` None for a single one)."""
    v = np.asarray(values, np.float64)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else None,
            "min": float(v.min()), "max": float(v.max()), "n": int(v.size)}


def _clip_log(pred_log: np.ndarray, y_train: np.ndarray, margin: float = 0.5) -> np.ndarray:
    """Keep log-predictions within the training targets' range +- ``margin`` (no exp overflow)."""
    lo, hi = np.log(y_train).min() - margin, np.log(y_train).max() + margin
    return np.clip(pred_log, lo, hi)


def _by_sequence(latents: np.ndarray, frames_per_sequence: int) -> np.ndarray:
    n, t = latents.shape[0], frames_per_sequence
    if n % t:
        raise ValueError(f"{n} latents are not a whole number of {t}-frame sequences")
    return latents.reshape(n // t, t, -1)


def ridge_r2(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray) -> float:
    """R^2 of ridge regression on per-sequence latent statistics; ``train``/``test`` are
    ``(S, T, L)`` latents, ``y`` ``(S,)`` viscosities."""
    from sklearn.linear_model import RidgeCV

    mu, sd = train.reshape(-1, train.shape[-1]).mean(0), train.reshape(-1, train.shape[-1]).std(0) + 1e-6

    def feats(z: np.ndarray) -> np.ndarray:
        z = (z - mu) / sd
        return np.concatenate([z.mean(1), z.std(1), np.abs(np.diff(z, axis=1)).mean(1)], axis=1)

    ftr, fte = feats(train), feats(test)
    fm, fs = ftr.mean(0), ftr.std(0) + 1e-6
    model = RidgeCV(alphas=np.logspace(-2, 6, 17)).fit((ftr - fm) / fs, np.log(y_train))
    return r2(y_test, np.exp(_clip_log(model.predict((fte - fm) / fs), y_train)))


def lstm_r2(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray, **kw) -> float:
    """R^2 of the project's LSTM sequence stage (see the module docstring), on the CPU; keywords as
    :func:`lstm_predict`."""
    return r2(y_test, np.exp(lstm_predict(train, y_train, test, y_test, **kw)))


def ensemble_r2(y_test: np.ndarray, log_preds: list[np.ndarray]) -> float:
    """R^2 of the mean of several :func:`lstm_predict` outputs (log-viscosity per sequence), e.g. the LSTMs
    fitted on K = 2, 4 and 8 components: what ``aecnn fit-sequence --reduce ensemble`` predicts."""
    return r2(y_test, np.exp(np.mean(np.stack(log_preds), 0)))


def lstm_predict(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray,
                 epochs: int | None = None, seed: int = 0, threads: int = 0, reduce: int = 0, passthrough: int = 0,
                 reduce_method: str = "pca", summary: str = "none", grid: tuple[int, int, int] | None = None,
                 summary_window: int = 9) -> np.ndarray:
    """log(viscosity) predicted for each test sequence by the LSTM sequence stage fitted on ``train``
    (clipped to the training range ± 0.5); ``reduce``, ``passthrough``, ``reduce_method``, ``summary``,
    ``grid`` and ``summary_window`` as in :class:`aecnn.sequence.SequenceModelConfig`. ``y_test`` only
    labels the test windows (it does not reach the fit)."""
    before = torch.get_num_threads()
    if threads:  # for this fit only: the benchmark's process trains its next network with all its threads
        torch.set_num_threads(threads)
    try:
        return _lstm_predict(train, y_train, test, y_test, epochs, seed, reduce, passthrough, reduce_method, summary,
                             grid, summary_window)
    finally:
        torch.set_num_threads(before)


def _lstm_predict(train, y_train, test, y_test, epochs, seed, reduce, passthrough, reduce_method, summary, grid,
                  summary_window) -> np.ndarray:
    from aecnn.sequence import LatentLSTM, LatentWindows, SequenceModelConfig

    cfg = dict(FIT_DEFAULTS)
    if epochs is not None:
        cfg["epochs"] = epochs
    window = min(cfg["window"], train.shape[1])
    stride = max(1, min(cfg["stride"], window // 2))
    tr_names = [f"tr{i}" for i in range(len(train))]
    te_names = [f"te{i}" for i in range(len(test))]
    tr = LatentWindows(dict(zip(tr_names, train)), dict(zip(tr_names, np.log(y_train))), window, stride)
    te = LatentWindows(dict(zip(te_names, test)), dict(zip(te_names, np.log(y_test))), window, stride)
    torch.manual_seed(seed)
    model = LatentLSTM(SequenceModelConfig(train.shape[-1], cfg["hidden_size"], cfg["num_layers"], cfg["head"],
                                           cfg["projection"], cfg["dropout"], reduce, passthrough,
                                           summary=summary, grid=grid, reduce_method=reduce_method,
                                           summary_window=summary_window))
    model.set_normalisation(tr.frames(), tr.y, tr.frame_targets())
    x, y, _ = tr.tensors()
    bs = cfg["batch_size"]
    steps = max(1, math.ceil(len(y) / bs))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg["epochs"] * steps, eta_min=cfg["lr"] * 0.05)
    gen = torch.Generator().manual_seed(seed)
    yz = (y - model.y_mean) / model.y_std
    for _ in range(cfg["epochs"]):
        model.train()
        perm = torch.randperm(len(y), generator=gen)
        for b in range(steps):
            idx = perm[b * bs:(b + 1) * bs]
            loss = torch.nn.functional.mse_loss(model.forward_standardised(x[idx]), yz[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
    model.eval()
    xt, _, k = te.tensors()
    with torch.no_grad():
        pred = model(xt).numpy()
    per_seq = np.array([pred[k.numpy() == i].mean() for i in range(len(te.names))])
    return _clip_log(per_seq, y_train)


def sequence_scores(train_latents: np.ndarray, y_train: np.ndarray, test_latents: np.ndarray,
                    y_test: np.ndarray, frames_per_sequence: int, lstm_epochs: int | None = None,
                    threads: int = 0, lstm: bool = True, *, reduce: int = 0, train_extra: np.ndarray | None = None,
                    test_extra: np.ndarray | None = None) -> dict[str, float]:
    """``{"r2_lstm", "r2_ridge", "r2_lstm_pc"}`` from flat latents ``(S*T, L)`` in sequence-major order.

    ``r2_lstm_pc`` (with ``reduce`` = K > 0): the LSTM over the first K principal components of the
    latents (fitted on the training frames) plus the per-frame ``*_extra`` columns ``(S*T, E)`` if
    given, e.g. the crop displacement: what ``aecnn fit-sequence --reduce K --frame-features`` fits.
    A regressor that cannot run (e.g. scikit-learn missing), or the LSTMs with ``lstm=False``,
    gives NaN.
    """
    tr = _by_sequence(np.asarray(train_latents, np.float32), frames_per_sequence)
    te = _by_sequence(np.asarray(test_latents, np.float32), frames_per_sequence)
    out = {"r2_lstm": math.nan, "r2_lstm_pc": math.nan}
    try:
        if lstm:
            out["r2_lstm"] = lstm_r2(tr, y_train, te, y_test, epochs=lstm_epochs, threads=threads)
    except ImportError:
        out["r2_lstm"] = math.nan
    k = min(reduce, tr.shape[-1])
    if lstm and k > 0:
        n_extra = 0
        tr_x, te_x = tr, te
        if train_extra is not None and test_extra is not None:
            n_extra = train_extra.shape[-1]
            tr_x = np.concatenate([tr, _by_sequence(np.asarray(train_extra, np.float32), frames_per_sequence)], -1)
            te_x = np.concatenate([te, _by_sequence(np.asarray(test_extra, np.float32), frames_per_sequence)], -1)
        out["r2_lstm_pc"] = lstm_r2(tr_x, y_train, te_x, y_test, epochs=lstm_epochs, threads=threads, reduce=k,
                                    passthrough=n_extra)
    try:
        out["r2_ridge"] = ridge_r2(tr, y_train, te, y_test)
    except ImportError:
        out["r2_ridge"] = math.nan
    return out
