"""Fit the LSTM regressor with a split by sequence and score it on held-out sequences.

::

    sequences -> split by sequence (val_fraction, or K folds) -> windows (T, S) of train sequences
      -> LatentLSTM, inputs and targets standardised on the train sequences, MSE, AdamW, fixed epochs
      -> held-out windows -> prediction per window -> mean per sequence
      -> R^2 and MAE per sequence (primary) and per window

No held-out sequence is seen during training or model selection: the number of epochs is fixed,
and with ``reduce_candidates`` the number of principal components K is chosen per split by an
inner cross-validation over that split's training sequences only::

    training sequences of the split -> inner folds -> R^2 per candidate K -> best K -> fit on all of them

With ``reduce_ensemble`` there is no choice: one LSTM per candidate K is fitted on the split's training
sequences and their predictions are averaged (:class:`~aecnn.sequence.ensemble.LatentLSTMEnsemble`).

With K folds every sequence is held out once and the metrics are computed on the pooled
out-of-fold predictions, which is steadier when there are few sequences.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch

from aecnn.sequence.dataset import LatentWindows
from aecnn.sequence.ensemble import LatentLSTMEnsemble
from aecnn.sequence.model import LatentLSTM, SequenceModelConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitConfig:
    """How :func:`fit_sequence_model` trains and evaluates.

    Attributes:
        window: frames per window T.
        stride: frames between window starts S.
        hidden_size, num_layers, head, projection, dropout: see :class:`SequenceModelConfig`.
        epochs: passes over the training windows.
        lr: AdamW learning rate (cosine decay to 5 %).
        weight_decay: AdamW weight decay.
        batch_size: windows per step.
        val_fraction: share of sequences held out (single split; ignored with ``folds``).
        folds: K-fold cross-validation over sequences when >= 2.
        seed: split, initialisation and shuffling seed.
        log_target: fit log(y) (targets must be > 0); metrics are in the original units.
        reduce: keep the first ``reduce`` principal components of the latents, fitted on the training
            frames of each fold (0: all values); see :class:`SequenceModelConfig`.
        passthrough: trailing per-frame values that are not latents (frame features), kept as they are.
        reduce_candidates: choose ``reduce`` among these K per split, by ``reduce_folds``-fold
            cross-validation on the split's training sequences (overrides ``reduce``; empty: no choice).
        reduce_folds: inner folds of that choice.
        reduce_ensemble: with ``reduce_candidates``, fit one LSTM per candidate K and average their
            predictions instead of choosing one K (no inner folds; as many fits as candidates).
        summary, grid, summary_window: a summary of the latent values before the reduction
            (``'width-fft'`` or ``'width-recentre'`` of a (C, h, w) spatial latent); see :class:`SequenceModelConfig`.
        reduce_method: ``'pca'`` (principal components) or ``'pls'`` (partial least squares against the
            target, fitted on the training frames of each fold); see :class:`SequenceModelConfig`.
    """

    window: int = 16
    stride: int = 4
    hidden_size: int = 64
    num_layers: int = 1
    head: str = "v1"
    projection: int = 0
    dropout: float = 0.1
    epochs: int = 60
    lr: float = 3e-3
    weight_decay: float = 1e-4
    batch_size: int = 32
    val_fraction: float = 0.25
    folds: int = 0
    seed: int = 0
    log_target: bool = False
    reduce: int = 0
    passthrough: int = 0
    reduce_candidates: tuple[int, ...] = ()
    reduce_folds: int = 4
    reduce_ensemble: bool = False
    summary: str = "none"
    grid: tuple[int, int, int] | None = None
    reduce_method: str = "pca"
    summary_window: int = 9

    def __post_init__(self) -> None:
        object.__setattr__(self, "reduce_candidates", tuple(int(k) for k in self.reduce_candidates))
        if any(k < 1 for k in self.reduce_candidates):
            raise ValueError(f"reduce_candidates must be positive, got {self.reduce_candidates}")
        if self.reduce_ensemble and not self.reduce_candidates:
            raise ValueError("reduce_ensemble averages over reduce_candidates; give at least one candidate K")
        if self.reduce_candidates and not self.reduce_ensemble and self.reduce_folds < 2:
            raise ValueError(f"reduce_folds must be >= 2 to choose K, got {self.reduce_folds}")


def r2_score(y_true: Sequence[float] | np.ndarray, y_pred: Sequence[float] | np.ndarray) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` (NaN for fewer than 2 values or constant y)."""
    t, p = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    if t.size < 2:
        return math.nan
    ss_tot = float(((t - t.mean()) ** 2).sum())
    return math.nan if ss_tot == 0 else 1.0 - float(((t - p) ** 2).sum()) / ss_tot


def mae(y_true: Sequence[float] | np.ndarray, y_pred: Sequence[float] | np.ndarray) -> float:
    t, p = np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64)
    return float(np.abs(t - p).mean()) if t.size else math.nan


@dataclass
class FitResult:
    """Held-out scores and predictions.

    Attributes:
        r2, mae: per held-out sequence (mean of its window predictions).
        r2_window, mae_window: per held-out window.
        sequences: one dict per held-out sequence: sequence, fold, true, pred, n_windows.
        n_train_sequences, n_test_sequences: per fold summed (test) / of the last fold (train).
        config: the :class:`FitConfig` as a dict.
        history: training loss per epoch (last fold; with ``reduce_ensemble``, its last member).
        model: the trained model of the last fold (a :class:`LatentLSTMEnsemble` with ``reduce_ensemble``).
        reduce_choice: with ``reduce_candidates``, per split: the chosen K and the inner-CV R^2 of each K
            (with ``reduce_ensemble``: the members' K, ``"ensemble"``).
    """

    r2: float
    mae: float
    r2_window: float
    mae_window: float
    sequences: list[dict]
    n_train_sequences: int
    n_test_sequences: int
    n_test_windows: int
    config: dict
    history: list[float] = field(default_factory=list)
    model: LatentLSTM | LatentLSTMEnsemble | None = field(default=None, repr=False)
    reduce_choice: list[dict] = field(default_factory=list)

    def line(self) -> str:
        return (f"held-out sequences: R2 {self.r2:.3f}, MAE {self.mae:.4g} (n={self.n_test_sequences} sequences); "
                f"per window: R2 {self.r2_window:.3f}, MAE {self.mae_window:.4g} (n={self.n_test_windows} windows)")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("model", None)
        return d


def _resolve(wanted: Sequence[str], names: list[str]) -> list[str]:
    """Names of ``wanted`` among ``names``: exact, else by last path component when unambiguous."""
    by_base: dict[str, list[str]] = {}
    for n in names:
        by_base.setdefault(n.rsplit("/", 1)[-1], []).append(n)
    out = []
    for w in wanted:
        if w in names:
            out.append(w)
        elif len(by_base.get(w.rsplit("/", 1)[-1], [])) == 1:
            out.append(by_base[w.rsplit("/", 1)[-1]][0])
    return out


def _splits(names: list[str], cfg: FitConfig,
            split: tuple[Sequence[str], Sequence[str]] | None = None) -> list[tuple[list[str], list[str]]]:
    from aecnn.data.dataset import split_sequences

    if split is not None:
        train, test = _resolve(split[0], names), _resolve(split[1], names)
        if set(train) & set(test):
            raise ValueError(f"the split names sequences in both train and held-out: {sorted(set(train) & set(test))[:3]}")
        if not train or not test:
            raise ValueError(f"the split leaves {len(train)} training and {len(test)} held-out sequences among the "
                             f"{len(names)} with latents and targets (e.g. {names[:3]})")
        rest = [n for n in names if n not in set(train) | set(test)]
        if rest:
            logger.warning("%d sequences are in neither part of the split and are not used: %s%s", len(rest),
                           ", ".join(rest[:5]), " ..." if len(rest) > 5 else "")
        return [(train, test)]
    if cfg.folds and cfg.folds >= 2:
        if cfg.folds > len(names):
            raise ValueError(f"{cfg.folds} folds need at least {cfg.folds} sequences, have {len(names)}")
        perm = np.random.default_rng(cfg.seed).permutation(len(names))
        parts = np.array_split(perm, cfg.folds)
        return [([names[i] for i in perm if i not in set(p.tolist())], [names[i] for i in p]) for p in parts]
    if len(names) < 2:
        raise ValueError(f"need at least 2 sequences with targets to hold one out, have {len(names)}")
    return [split_sequences(names, cfg.val_fraction, cfg.seed)]


def _gather(ds: LatentWindows, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for i in idx:
        x, y, _ = ds[int(i)]
        xs.append(x)
        ys.append(y)
    return torch.stack(xs), torch.stack(ys)


def _train(train: LatentWindows, cfg: FitConfig, device: torch.device) -> tuple[LatentLSTM, list[float]]:
    torch.manual_seed(cfg.seed)
    model = LatentLSTM(_model_config(train.latent_size, cfg))
    model.set_normalisation(train.frames(), train.y, train.frame_targets())
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train) / cfg.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs * steps_per_epoch, eta_min=cfg.lr * 0.05)
    gen = torch.Generator().manual_seed(cfg.seed)
    history = []
    for _ in range(cfg.epochs):
        model.train()
        perm = torch.randperm(len(train), generator=gen)
        total = 0.0
        for b in range(steps_per_epoch):
            x, y = _gather(train, perm[b * cfg.batch_size:(b + 1) * cfg.batch_size].tolist())
            x, y = x.to(device), y.to(device)
            loss = torch.nn.functional.mse_loss(model.forward_standardised(x), (y - model.y_mean) / model.y_std)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(y)
        history.append(total / len(train))
    return model.eval(), history


def _heldout_r2(sequences: Mapping[str, np.ndarray], y_fit: Mapping[str, float], train_names: list[str],
                test_names: list[str], cfg: FitConfig, device: torch.device) -> float:
    """R^2 per sequence (in ``y_fit`` units) of a model trained on ``train_names``, on ``test_names``."""
    train = LatentWindows(sequences, y_fit, cfg.window, cfg.stride, train_names)
    test = LatentWindows(sequences, y_fit, cfg.window, cfg.stride, test_names)
    model, _ = _train(train, cfg, device)
    means = _sequence_means(predict_windows(model, test), test)
    return r2_score([y_fit[n] for n in test.names], means)


def _sequence_means(pred: np.ndarray, ds: LatentWindows) -> list[float]:
    """Mean of the window predictions ``pred`` of each sequence of ``ds``, in ``ds.names`` order."""
    owner = np.array([k for k, _ in ds.windows])
    return [float(pred[owner == i].mean()) for i in range(len(ds.names))]


def _model_config(latent_size: int, cfg: FitConfig, reduce: int | None = None) -> SequenceModelConfig:
    """The :class:`SequenceModelConfig` that ``cfg`` fits on ``latent_size`` values per frame."""
    return SequenceModelConfig(latent_size, cfg.hidden_size, cfg.num_layers, cfg.head, cfg.projection, cfg.dropout,
                               cfg.reduce if reduce is None else reduce, cfg.passthrough, cfg.summary, cfg.grid,
                               cfg.reduce_method, cfg.summary_window)


def _usable_candidates(sequences: Mapping[str, np.ndarray], cfg: FitConfig) -> list[int]:
    """``cfg.reduce_candidates`` without repeats and without those above the latent values (after
    the summary, if any)."""
    n_values = _model_config(next(iter(sequences.values())).shape[-1], cfg, reduce=0).n_values if sequences else 0
    return [k for k in dict.fromkeys(cfg.reduce_candidates) if k <= n_values]


def _checked_candidates(sequences: Mapping[str, np.ndarray], cfg: FitConfig) -> list[int]:
    """:func:`_usable_candidates`, or ValueError if none is left."""
    cands = _usable_candidates(sequences, cfg)
    if not cands:
        n_values = _model_config(next(iter(sequences.values())).shape[-1], cfg, reduce=0).n_values
        raise ValueError(f"no candidate K in {cfg.reduce_candidates} is <= the {n_values} latent values")
    return cands


def choose_reduce(sequences: Mapping[str, np.ndarray], y_fit: Mapping[str, float], train_names: list[str],
                  cfg: FitConfig, device: torch.device, bar: Any = None) -> tuple[int, dict[int, float]]:
    """The K of ``cfg.reduce_candidates`` with the best mean R^2 over ``cfg.reduce_folds`` folds of
    ``train_names`` (only those sequences are read), and every candidate's score (R^2 of the fitted
    target: log(y) with ``log_target``). Candidates larger than the latent values (latent size
    minus ``passthrough``, after the summary) are skipped.

    Raises:
        ValueError: no candidate fits the latent size, or fewer training sequences than folds.
    """
    cands = _checked_candidates(sequences, cfg)
    if len(train_names) < cfg.reduce_folds:
        raise ValueError(f"choosing K by {cfg.reduce_folds}-fold cross-validation needs at least "
                         f"{cfg.reduce_folds} training sequences, have {len(train_names)}")
    perm = np.random.default_rng(cfg.seed).permutation(len(train_names))
    parts = [set(p.tolist()) for p in np.array_split(perm, cfg.reduce_folds)]
    scores = {}
    for k in cands:
        inner = replace(cfg, reduce=k, reduce_candidates=())
        r2s = []
        for part in parts:
            fit = [n for i, n in enumerate(train_names) if i not in part]
            held = [n for i, n in enumerate(train_names) if i in part]
            r2s.append(_heldout_r2(sequences, y_fit, fit, held, inner, device))
            if bar is not None:
                bar.update(cfg.epochs)
        scores[k] = float(np.nanmean(r2s)) if not all(math.isnan(v) for v in r2s) else math.nan
    valid = {k: v for k, v in scores.items() if not math.isnan(v)}
    return (max(valid, key=valid.get) if valid else cands[0]), scores


@torch.no_grad()
def predict_windows(model: LatentLSTM | LatentLSTMEnsemble, ds: LatentWindows, batch_size: int = 256) -> np.ndarray:
    """Prediction per window of ``ds``, in the model's target units."""
    dev = next(model.parameters()).device
    model.eval()
    out = []
    for b in range(0, len(ds), batch_size):
        x, _ = _gather(ds, range(b, min(b + batch_size, len(ds))))
        out.append(model(x.to(dev)).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros(0)


def fit_sequence_model(sequences: Mapping[str, np.ndarray], targets: Mapping[str, float],
                       config: FitConfig | None = None, device: str | torch.device = "cpu",
                       progress: bool = True,
                       split: tuple[Sequence[str], Sequence[str]] | None = None) -> FitResult:
    """Train on some sequences, score on the others (see the module docstring).

    Args:
        sequences: ``name -> (T_s, L)`` latents in frame order (e.g. ``Embeddings.by_sequence()``).
        targets: ``name -> y`` (sequences without one are ignored).
        config: a :class:`FitConfig`.
        device: torch device.
        progress: tqdm bar over folds x epochs.
        split: a fixed ``(train, held_out)`` pair of sequence names (e.g. the autoencoder's
            ``split.json``, so the held-out sequences are unseen by both stages); overrides
            ``val_fraction`` and ``folds``.

    Returns:
        The :class:`FitResult`.

    Raises:
        ValueError: too few sequences, a held-out set without windows, or non-positive targets
            with ``log_target``.
    """
    from tqdm.auto import tqdm

    cfg = config or FitConfig()
    device = torch.device(device)
    names = [n for n in sequences if n in targets and len(sequences[n]) >= cfg.window]
    short = [n for n in sequences if n in targets and len(sequences[n]) < cfg.window]
    if short:
        logger.warning("%d sequences shorter than the window (%d frames) are left out: %s%s (a smaller "
                       "--window keeps them)", len(short), cfg.window, ", ".join(short[:5]),
                       " ..." if len(short) > 5 else "")
    if not names and short:
        raise ValueError(f"every sequence with a target is shorter than the window of {cfg.window} frames (the "
                         f"longest has {max(len(sequences[n]) for n in short)}): pass a smaller --window")
    y_all = {n: float(targets[n]) for n in names}
    if cfg.log_target:
        bad = [n for n, v in y_all.items() if v <= 0]
        if bad:
            raise ValueError(f"log_target needs targets > 0; {len(bad)} are not (e.g. {bad[0]}={y_all[bad[0]]})")
        y_fit = {n: math.log(v) for n, v in y_all.items()}
    else:
        y_fit = y_all
    splits = _splits(names, cfg, split)
    rows: list[dict] = []
    win_true: list[np.ndarray] = []
    win_pred: list[np.ndarray] = []
    model, history, n_train, choices = None, [], 0, []
    n_cands = len(_usable_candidates(sequences, cfg))
    # epochs per split beyond the final fit: the inner CV's fits, or the ensemble's other members
    n_choice = max(0, n_cands - 1) if cfg.reduce_ensemble else n_cands * cfg.reduce_folds
    bar = tqdm(total=len(splits) * cfg.epochs * (1 + n_choice), desc="fit-sequence", unit="epoch",
               disable=not progress, leave=False)
    for fold, (train_names, test_names) in enumerate(splits):
        train = LatentWindows(sequences, y_fit, cfg.window, cfg.stride, train_names)
        test = LatentWindows(sequences, y_fit, cfg.window, cfg.stride, test_names)
        if len(train) == 0 or len(test) == 0:
            raise ValueError(f"fold {fold}: {len(train)} training and {len(test)} held-out windows; "
                             "lower --window or use more sequences")
        fold_cfg = cfg
        if cfg.reduce_ensemble:
            ks = _checked_candidates(sequences, cfg)
            members = []
            for k in ks:
                member, history = _train(train, replace(cfg, reduce=k), device)
                members.append(member)
                bar.update(cfg.epochs)
            model = LatentLSTMEnsemble(members)
            choices.append({"fold": fold, "reduce": ks, "ensemble": True})
        else:
            if cfg.reduce_candidates:
                k, scores = choose_reduce(sequences, y_fit, train.names, cfg, device, bar)
                choices.append({"fold": fold, "reduce": k, "cv_r2": scores})
                logger.info("fold %d: K = %d principal components (inner CV R2 %s)", fold, k,
                            ", ".join(f"{c}: {v:.3f}" for c, v in scores.items()))
                fold_cfg = replace(cfg, reduce=k)
            model, history = _train(train, fold_cfg, device)
            bar.update(cfg.epochs)
        pred = predict_windows(model, test)
        k = np.array([k for k, _ in test.windows])
        if cfg.log_target:
            pred = np.exp(pred)
        true = np.array([y_all[test.names[i]] for i in k])
        win_true.append(true)
        win_pred.append(pred)
        for i, (name, mean) in enumerate(zip(test.names, _sequence_means(pred, test))):
            rows.append({"sequence": name, "fold": fold, "true": y_all[name], "pred": mean,
                         "n_windows": int((k == i).sum())})
        n_train = len(train.names)
    bar.close()
    t, p = np.concatenate(win_true), np.concatenate(win_pred)
    seq_t, seq_p = [r["true"] for r in rows], [r["pred"] for r in rows]
    return FitResult(r2_score(seq_t, seq_p), mae(seq_t, seq_p), r2_score(t, p), mae(t, p), rows, n_train,
                     len(rows), int(t.size), asdict(cfg), history, model, choices)


def prediction_figure(result: FitResult, target: str = "target", title: str | None = None):
    """Predicted vs true per held-out sequence (with the identity line)."""
    from matplotlib.figure import Figure

    t = np.array([r["true"] for r in result.sequences])
    p = np.array([r["pred"] for r in result.sequences])
    fig = Figure(figsize=(4.6, 4.4), layout="constrained")
    ax = fig.subplots()
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    pad = 0.05 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", linestyle="--", linewidth=1)
    folds = np.array([r["fold"] for r in result.sequences])
    colour = {"c": folds, "cmap": "tab10"} if folds.max() > 0 else {"color": "tab:blue"}
    ax.scatter(t, p, s=28, edgecolor="k", linewidth=0.4, **colour)
    ax.set_xlabel(f"true {target}")
    ax.set_ylabel(f"predicted {target}")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_title(title or f"held-out sequences: R$^2$ {result.r2:.3f}, MAE {result.mae:.3g}", fontsize=9)
    return fig


def save_sequence_model(path: Any, model: LatentLSTM | LatentLSTMEnsemble, **extra: Any) -> None:
    """Save a trained :class:`LatentLSTM` or :class:`LatentLSTMEnsemble` (config + state) atomically; loads
    with weights_only=True."""
    from aecnn.checkpoint import atomic_save

    atomic_save({"format": "aecnn-sequence-model", "config": model.get_config(),
                 "model": {k: v.cpu() for k, v in model.state_dict().items()}, **extra}, path)


def load_sequence_model(path: Any, map_location: str = "cpu") -> LatentLSTM | LatentLSTMEnsemble:
    """Inverse of :func:`save_sequence_model`."""
    obj = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(obj, dict) or obj.get("format") != "aecnn-sequence-model":
        raise ValueError(f"{path} is not an aecnn sequence model")
    cls = LatentLSTMEnsemble if "ensemble" in obj["config"] else LatentLSTM
    model = cls.from_config(obj["config"])
    model.load_state_dict(obj["model"])
    return model.eval()


__all__ = ["FitConfig", "FitResult", "choose_reduce", "fit_sequence_model", "load_sequence_model", "mae", "predict_windows",
           "prediction_figure", "r2_score", "save_sequence_model"]
