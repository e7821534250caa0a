"""Is aecnn's sequence-stage R² really below PCA's? Repeated LSTM fits on the benchmark's own crop latents (CPU).

The quality benchmark fits each sequence stage once (seed 0), so its ``r2_lstm_pc`` column (LSTM on
the first K principal components of the latents plus the crop displacement, as ``aecnn
fit-sequence --reduce K --frame-features``) cannot resolve differences of about 0.01. This script
rebuilds the benchmark's crop data (same generator, seeds, 192 training and 64 held-out
sequences), takes PCA latents (fitted on the training frames) and the latents of saved aecnn
checkpoints (``eval-quality --save-models``), and repeats the fit with several seeds for each K.
It also picks K per latent space by cross-validation on the training sequences alone, so the
comparison does not rest on a K chosen by looking at the held-out score. With several K it also
reports the K-ensemble (per seed, the mean log-prediction of the fits at every K; no choice needed:
``aecnn fit-sequence --reduce ensemble``) from the same fits.

    PYTHONPATH=$PWD python3 benchmarks/seq_repeats.py --model spatial=/tmp/m/crop-aecnn-spatial-L512-images.pt \\
        --seeds 0 1 2 3 4 5 6 7 8 9 --reduce 2 4 8 16 --cache /tmp/latents.npz --out seq_repeats.json
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
import torch

from aecnn.checkpoint import load_model
from aecnn.data.synth import parse_override
from aecnn.io import atomic_write_text
from aecnn.quality import data as qdata
from aecnn.quality.loop import evaluate, model_codec
from aecnn.quality.pca import PCA, pca_codec
from aecnn.quality.seqstage import _by_sequence, ensemble_r2, lstm_predict, r2, spread


def _fit(job: tuple) -> tuple[str, int, int, float, np.ndarray, float]:
    name, k, seed, tr, y_tr, te, y_te, n_extra, epochs, method = job
    t = time.perf_counter()
    torch.set_num_threads(1)
    pred = lstm_predict(tr, y_tr, te, y_te, epochs=epochs, seed=seed, reduce=k, passthrough=n_extra,
                        reduce_method=method)
    return name, k, seed, r2(y_te, np.exp(pred)), pred, time.perf_counter() - t


def _latents(train: np.ndarray, val: np.ndarray, latent: int, models: list[str]) -> dict:
    """{name: (train latents, val latents)}: PCA fitted on ``train``, then each NAME=CKPT."""
    tr_f, va_f = torch.from_numpy(train), torch.from_numpy(val)
    pca = PCA(latent).fit(tr_f)
    codec = pca_codec(pca, latent)
    out = {"PCA": (evaluate(codec, tr_f, decode=False).latents, evaluate(codec, va_f, decode=False).latents)}
    del pca
    for item in models:
        name, _, path = item.partition("=")
        codec = model_codec(load_model(path))
        out[name] = (evaluate(codec, tr_f, decode=False, batch=64).latents,
                     evaluate(codec, va_f, decode=False, batch=64).latents)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", default=[], metavar="NAME=CKPT", help="aecnn checkpoint (repeatable)")
    p.add_argument("--latent", type=int, default=512, help="PCA components (the checkpoints' latent size)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--reduce", type=int, nargs="+", default=[8], help="principal components the LSTM reads")
    p.add_argument("--train-sequences", type=int, default=192)
    p.add_argument("--val-sequences", type=int, default=64)
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--val-seed", type=int, default=1000, help="generator seed of the held-out sequences (the "
                   "benchmark's: 1000); another seed scores the same fits on new held-out sequences")
    p.add_argument("--reduce-method", choices=("pca", "pls"), default="pca",
                   help="components the LSTM reads: principal components (the benchmark's) or PLS directions")
    p.add_argument("--epochs", type=int, default=None, help="LSTM epochs (default: the benchmark's, 60)")
    p.add_argument("--workers", type=int, default=2, help="processes for the fits (0 or 1: inline)")
    p.add_argument("--cv-folds", type=int, default=4, help="choose K per latent space by this many folds of the "
                   "training sequences (seed 0), never looking at the held-out ones; 0: no choice")
    p.add_argument("--synth", action="append", default=[], metavar="FIELD=VALUE",
                   help="SynthConfig field of the data, as the benchmark's --synth (the checkpoints' generator)")
    p.add_argument("--no-motion", action="store_true", help="withhold the crops' displacement from the LSTM (a harder "
                   "task: the latents alone must carry where the drop is; twenty-first session, exploratory)")
    p.add_argument("--fit-sequences", type=int, default=None, help="fit on the first N training sequences only "
                   "(default all; the latents and the PCA stay those of all of them, as in the cache)")
    p.add_argument("--cache", default=None, help="npz of the latents: written on the first run, read on later ones")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    try:
        synth = dict(parse_override(t, exclude=qdata.SPLIT_FIELDS) for t in a.synth)
    except ValueError as e:
        p.error(str(e))
    if a.val_seed == 0:
        p.error("--val-seed 0 is the training sequences' seed")
    if a.fit_sequences is not None and not 2 * max(a.cv_folds, 1) <= a.fit_sequences <= a.train_sequences:
        p.error(f"--fit-sequences must be between {2 * max(a.cv_folds, 1)} (two per CV fold) and --train-sequences "
                f"({a.train_sequences}), got {a.fit_sequences}")
    t0 = time.perf_counter()
    train = qdata.make_split(a.train_sequences, a.frames, (152, 1280), (201, 201), 0, **synth)["crop"]
    val = qdata.make_split(a.val_sequences, a.frames, (152, 1280), (201, 201), a.val_seed, **synth)["crop"]
    cache = Path(a.cache) if a.cache else None
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            latents = {k[:-6]: (z[k], z[k[:-6] + "_val"]) for k in z.files if k.endswith("_train")}
    else:
        latents = _latents(train.frames, val.frames, a.latent, a.model)
        if cache is not None:
            np.savez(cache, **{f"{k}_{s}": v[i] for k, v in latents.items() for i, s in enumerate(("train", "val"))})
    print(f"latents ready in {time.perf_counter() - t0:.0f} s: {[(k, v[0].shape) for k, v in latents.items()]}")
    jobs = []
    n_fit = a.fit_sequences or a.train_sequences
    y_tr = train.viscosity[:n_fit]
    for name, (ltr, lva) in latents.items():
        if a.no_motion:
            tr, te, n_extra = ltr, lva, 0
        else:  # latents + crop displacement, as the benchmark's r2_lstm_pc
            tr, te = np.concatenate([ltr, train.motion], 1), np.concatenate([lva, val.motion], 1)
            n_extra = train.motion.shape[1]
        tr, te = _by_sequence(tr, a.frames)[:n_fit], _by_sequence(te, a.frames)
        for k in a.reduce:
            for s in a.seeds:
                jobs.append((name, k, s, tr, y_tr, te, val.viscosity, n_extra, a.epochs, a.reduce_method))
            folds = np.array_split(np.random.default_rng(0).permutation(len(tr)), a.cv_folds) if a.cv_folds > 1 else []
            for f, held in enumerate(folds):
                fit = np.setdiff1d(np.arange(len(tr)), held)
                jobs.append((f"{name} cv{f}", k, 0, tr[fit], y_tr[fit], tr[held], y_tr[held],
                             n_extra, a.epochs, a.reduce_method))
    rows, preds = [], {}
    pool = mp.get_context("spawn").Pool(a.workers) if a.workers > 1 else None
    try:
        for name, k, seed, r, pred, secs in (pool.imap_unordered(_fit, jobs) if pool else map(_fit, jobs)):
            rows.append({"latents": name, "reduce": k, "seed": seed, "r2": r})
            preds[(name, k, seed)] = pred
            print(f"{name:10s} K={k:3d} seed {seed}: R² {r:.4f} ({secs:.0f} s)", flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    summary, chosen = {}, {}
    for name in latents:
        cv = {k: float(np.mean([r["r2"] for r in rows if r["latents"].startswith(name + " cv") and r["reduce"] == k]))
              for k in a.reduce} if a.cv_folds > 1 else {}
        if cv:
            chosen[name] = {"cv_r2": cv, "k": max(cv, key=cv.get)}
        for k in a.reduce:
            v = np.array([r["r2"] for r in rows if r["latents"] == name and r["reduce"] == k])
            summary[f"{name} K={k}"] = spread(v)
        if len(a.reduce) > 1:  # the K-ensemble: per seed, the mean log-prediction of the fits at every K
            summary[f"{name} K-ensemble"] = spread([ensemble_r2(val.viscosity, [preds[(name, k, s)] for k in a.reduce])
                                                    for s in a.seeds])
    meta = {"torch": torch.__version__, "argv": sys.argv, "wall_s": round(time.perf_counter() - t0, 1),
            "date": time.strftime("%Y-%m-%d")}
    atomic_write_text(a.out, json.dumps({"meta": meta, "summary": summary, "cv_choice": chosen, "rows": rows}, indent=1))
    for key, s in summary.items():
        print(f"{key:16s} R² {s['mean']:.4f} ± {s['sd'] or 0:.4f} (min {s['min']:.4f}, max {s['max']:.4f}, n {s['n']})")
    for name, c in chosen.items():
        k = c["k"]
        print(f"{name}: K chosen by {a.cv_folds}-fold CV on the training sequences = {k} "
              f"(CV R² {', '.join(f'{kk}: {v:.4f}' for kk, v in c['cv_r2'].items())}); held-out R² "
              f"{summary[f'{name} K={k}']['mean']:.4f} ± {summary[f'{name} K={k}']['sd'] or 0:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
