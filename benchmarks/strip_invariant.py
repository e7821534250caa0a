"""Do translation-invariant summaries of the spatial latent lift the strips' sequence-stage R²? (CPU)

On 152x1280 strips the drop slides along the width, and a 'spatial' aecnn latent is a
``(c, gh, gw)`` grid whose columns follow the width: the same drop at another position lights
other columns, so the principal components the sequence stage reads (``lstm_r2`` with
``reduce=8, passthrough=2``: first 8 PCs of the latents + the drop's tracked frame-to-frame
displacement) may mix position with shape. This script rebuilds the benchmark's strip data (same
generator and seeds: 192 training and 64 held-out sequences of 32 frames), takes PCA-of-pixels
latents (512, fitted on the training frames, as ``aecnn.quality.bench``) and the latent grids of a
strip aecnn checkpoint, and scores, with the same LSTM code, seeds and displacement columns:

* ``base``: the flat latent (PCA or the aecnn grid), first K=8 PCs + displacement (the benchmark);
* ``stats``: per (channel, row) mean, max and std of the grid over the width, K=0 (all 48 values);
* ``meanmax``: per (channel, row) mean and max over the width, K=0 (32 values);
* ``fft``: per (channel, row) magnitude of the FFT along the width (all bins), first K PCs;
* ``recentre``: the grid minus its per-column training mean, cut to ``--window`` columns centred on
  the column of largest deviation (outside the grid: zero deviation), first K PCs; computed inside the
  sequence model (``SequenceModelConfig(summary='width-recentre')``, the training mean fitted on each
  fit's own training sequences), exactly what ``aecnn fit-sequence --latent-summary width-recentre`` fits;
* ``stats+recentre``: both of the above concatenated, first K PCs.

Every summary is computed from the latent grid alone (no pixels, no tracker), frame by frame.
K for the PC-reduced variants (``--reduce``) and the window (``--window``) are chosen per variant by
``--cv-folds``-fold cross-validation on the TRAINING sequences only (LSTM seed 0); the held-out
R² is then reported for the chosen setting over ``--seeds`` (every candidate's held-out R² is
also written to the JSON, for the record, but never used to choose). Where several K were fitted, the
K-ensemble is reported beside the choice: per seed, the mean log-prediction of the fits at every K (at the
chosen window), which needs no choice (``aecnn fit-sequence --reduce ensemble``).

    PYTHONPATH=$PWD python3 benchmarks/strip_invariant.py --model /tmp/m2/strip/strip-aecnn-spatial-L512-images.pt \\
        --cache /tmp/strip_study/latents.npz --seeds 0 1 2 3 4 --out /tmp/strip_study/strip_invariant.json
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
from aecnn.quality.loop import evaluate
from aecnn.quality.pca import PCA, pca_codec
from aecnn.quality.seqstage import _by_sequence, ensemble_r2, lstm_predict, r2, spread
from aecnn.sequence.model import width_recentre

STRIP, CROP = (152, 1280), (201, 201)

# ----------------------------------------------------------------------------- latents


@torch.no_grad()
def _grids(model: torch.nn.Module, frames: np.ndarray, batch: int = 16) -> np.ndarray:
    """``(N, c, gh, gw)`` float32 native latent grids (``model.Embedding``) of uint8 ``(N, H, W)``, on the
    model's device."""
    model.eval()
    dev = next(model.parameters()).device
    out = []
    for b in range(0, len(frames), batch):
        x = torch.from_numpy(frames[b:b + batch]).to(dev).unsqueeze(1).float().mul_(1.0 / 255.0)
        out.append(model.Embedding(x).float().cpu().numpy())
        if (b // batch) % 64 == 0:
            print(f"  encoded {b + len(x)}/{len(frames)}", flush=True)
    return np.concatenate(out)


def build_latents(model_path: str, latent: int, n_train: int, n_val: int, frames: int, workers: int,
                  synth: dict | None = None, device: str = "cpu") -> dict:
    """Render the benchmark's strips (``synth``: further SynthConfig fields, the checkpoint's generator),
    fit PCA on the training frames, encode both splits (on ``device``; TF32 off, float32 as on the CPU)."""
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    t = time.perf_counter()
    synth = synth or {}
    train = qdata.make_split(n_train, frames, STRIP, CROP, seed=0, workers=workers, **synth)["strip"]
    val = qdata.make_split(n_val, frames, STRIP, CROP, seed=1000, workers=workers, **synth)["strip"]
    print(f"rendered {train.frames.shape} + {val.frames.shape} in {time.perf_counter() - t:.0f} s", flush=True)
    out = {"y_train": train.viscosity, "y_val": val.viscosity,
           "motion_train": train.motion, "motion_val": val.motion}
    t = time.perf_counter()
    tr_f, va_f = torch.from_numpy(train.frames).to(device), torch.from_numpy(val.frames).to(device)
    pca = PCA(latent).fit(tr_f)
    codec = pca_codec(pca, latent)  # as aecnn.quality.bench._run_pca at this latent
    out["pca_train"] = evaluate(codec, tr_f, decode=False, batch=64).latents
    out["pca_val"] = evaluate(codec, va_f, decode=False, batch=64).latents
    del pca, codec, tr_f, va_f
    print(f"PCA latents in {time.perf_counter() - t:.0f} s", flush=True)
    t = time.perf_counter()
    model = load_model(model_path).to(device)
    out["grid_train"] = _grids(model, train.frames)
    out["grid_val"] = _grids(model, val.frames)
    print(f"aecnn grids {out['grid_train'].shape} in {time.perf_counter() - t:.0f} s", flush=True)
    return out


# ----------------------------------------------------------------------------- invariant summaries


def width_stats(g: np.ndarray, which: tuple[str, ...] = ("mean", "max", "std")) -> np.ndarray:
    """``(N, c, gh, gw)`` -> ``(N, c*gh*len(which))``: statistics over the width axis."""
    f = {"mean": lambda a: a.mean(-1), "max": lambda a: a.max(-1), "std": lambda a: a.std(-1)}
    return np.concatenate([f[w](g).reshape(len(g), -1) for w in which], 1)


def fft_mag(g: np.ndarray) -> np.ndarray:
    """``(N, c, gh, gw)`` -> ``(N, c*gh*(gw//2+1))``: |FFT| along the width (shift-invariant for circular shifts)."""
    return np.abs(np.fft.rfft(g, axis=-1)).reshape(len(g), -1).astype(np.float32)


def recentre(g: np.ndarray, col_mean: np.ndarray, window: int) -> np.ndarray:
    """Deviation from the per-column training mean, ``window`` columns centred on the column whose
    deviation (L2 over channels and rows) is largest; columns beyond the grid are zero deviation
    (``aecnn.sequence.model.width_recentre``, what ``fit-sequence --latent-summary width-recentre`` reads)."""
    return width_recentre(torch.from_numpy(np.ascontiguousarray(g - col_mean)), window).reshape(len(g), -1).numpy()


def features(name: str, g_tr: np.ndarray, g_va: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    if name == "grid":
        return g_tr.reshape(len(g_tr), -1), g_va.reshape(len(g_va), -1)
    if name == "stats":
        return width_stats(g_tr), width_stats(g_va)
    if name == "meanmax":
        return width_stats(g_tr, ("mean", "max")), width_stats(g_va, ("mean", "max"))
    if name == "fft":
        return fft_mag(g_tr), fft_mag(g_va)
    col_mean = g_tr.mean(0, keepdims=True)  # training frames only ('recentre' alone runs in the sequence model)
    if name == "stats+recentre":
        return (np.concatenate([width_stats(g_tr), recentre(g_tr, col_mean, window)], 1),
                np.concatenate([width_stats(g_va), recentre(g_va, col_mean, window)], 1))
    raise ValueError(name)


# ----------------------------------------------------------------------------- fits


def _fit(job: tuple) -> tuple[dict, float, np.ndarray, float]:
    tag, tr, y_tr, te, y_te, k, n_extra, seed, epochs, method, summary = job
    t = time.perf_counter()
    torch.set_num_threads(1)
    pred = lstm_predict(tr, y_tr, te, y_te, epochs=epochs, seed=seed, reduce=k, passthrough=n_extra,
                        reduce_method=method, **summary)
    return tag, r2(y_te, np.exp(pred)), pred, time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="strip aecnn checkpoint "
                   "(spatial latent)")
    p.add_argument("--latent", type=int, default=512, help="PCA components (the checkpoint's latent size)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", default=["stats", "meanmax", "fft", "recentre", "stats+recentre"])
    p.add_argument("--reduce", type=int, nargs="+", default=[8, 16],
                   help="K candidates of the PC-reduced invariant variants (base stays at K=8)")
    p.add_argument("--base-reduce", type=int, nargs="+", default=[8],
                   help="K candidates of the base rows (PCA latents, flat aecnn grid); default 8, the benchmark's")
    p.add_argument("--reduce-method", choices=("pca", "pls"), default="pca",
                   help="components the LSTM reads: principal components (the benchmark's) or PLS directions")
    p.add_argument("--window", type=int, nargs="+", default=[5, 9], help="recentre window candidates (columns)")
    p.add_argument("--train-sequences", type=int, default=192)
    p.add_argument("--val-sequences", type=int, default=64)
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--epochs", type=int, default=None, help="LSTM epochs (default: the benchmark's, 60)")
    p.add_argument("--workers", type=int, default=2, help="processes for rendering and for the fits")
    p.add_argument("--cv-folds", type=int, default=4, help="folds of the training sequences choosing K / window")
    p.add_argument("--synth", action="append", default=[], metavar="FIELD=VALUE",
                   help="SynthConfig field of the strips, as the benchmark's --synth (the checkpoint's generator)")
    p.add_argument("--device", default="cpu", help="where the PCA fit and the encoding run (the fits: CPU)")
    p.add_argument("--cache", default=None, help="npz of the latents: written on the first run, read on later ones")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    try:
        synth = dict(parse_override(t, exclude=qdata.SPLIT_FIELDS) for t in a.synth)
    except ValueError as e:
        p.error(str(e))
    torch.set_num_threads(max(1, a.workers))
    t0 = time.perf_counter()
    cache = Path(a.cache) if a.cache else None
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            lat = {k: z[k] for k in z.files}
        print(f"latents read from {cache}", flush=True)
    else:
        lat = build_latents(a.model, a.latent, a.train_sequences, a.val_sequences, a.frames, a.workers, synth,
                            a.device)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cache, **lat)
    t_lat = time.perf_counter() - t0
    y_tr, y_va = lat["y_train"], lat["y_val"]
    m_tr, m_va = lat["motion_train"], lat["motion_val"]
    n_extra = m_tr.shape[1]
    print(f"latents ready in {t_lat:.0f} s: PCA {lat['pca_train'].shape}, grid {lat['grid_train'].shape}", flush=True)

    # settings[(space, variant)] = list of (k, window) candidates
    base = [(k, 0) for k in a.base_reduce]
    settings: dict[tuple[str, str], list[tuple[int, int]]] = {("PCA", "base"): base, ("aecnn", "base"): list(base)}
    for v in a.variants:
        ks = [0] if v in ("stats", "meanmax") else a.reduce
        ws = a.window if "recentre" in v else [0]
        settings[("aecnn", v)] = [(k, w) for k in ks for w in ws]
    data, summaries, widths = {}, {}, {}
    grid_shape = tuple(int(v) for v in lat["grid_train"].shape[1:])
    for (space, v), cands in settings.items():
        for k, w in cands:
            summaries[(space, v, k, w)] = {}
            if space == "PCA":
                ftr, fva = lat["pca_train"], lat["pca_val"]
            elif v == "recentre":  # inside the sequence model, as fit-sequence --latent-summary width-recentre
                ftr, fva = features("grid", lat["grid_train"], lat["grid_val"], w)
                summaries[(space, v, k, w)] = {"summary": "width-recentre", "grid": grid_shape, "summary_window": w}
            else:
                ftr, fva = features("grid" if v == "base" else v, lat["grid_train"], lat["grid_val"], w)
            n_in = ftr.shape[1] if v != "recentre" else grid_shape[0] * grid_shape[1] * w
            widths[(space, v, k, w)] = n_in + n_extra  # values per frame the reduction reads + displacement
            tr = _by_sequence(np.concatenate([ftr, m_tr], 1).astype(np.float32), a.frames)
            te = _by_sequence(np.concatenate([fva, m_va], 1).astype(np.float32), a.frames)
            data[(space, v, k, w)] = (tr, te)
    jobs = []
    folds = np.array_split(np.random.default_rng(0).permutation(a.train_sequences), a.cv_folds)
    for (space, v, k, w), (tr, te) in data.items():
        for s in a.seeds:
            jobs.append(((space, v, k, w, "heldout", s), tr, y_tr, te, y_va, k, n_extra, s, a.epochs, a.reduce_method,
                         summaries[(space, v, k, w)]))
        if len(settings[(space, v)]) > 1:  # only a choice to make needs the CV
            for f, held in enumerate(folds):
                fit = np.setdiff1d(np.arange(len(tr)), held)
                jobs.append(((space, v, k, w, f"cv{f}", 0), tr[fit], y_tr[fit], tr[held], y_tr[held], k, n_extra,
                             0, a.epochs, a.reduce_method, summaries[(space, v, k, w)]))
    print(f"{len(jobs)} LSTM fits", flush=True)
    rows, preds = [], {}
    pool = mp.get_context("spawn").Pool(a.workers) if a.workers > 1 else None
    try:
        for tag, r, pred, secs in (pool.imap_unordered(_fit, jobs) if pool else map(_fit, jobs)):
            space, v, k, w, split, s = tag
            rows.append({"latents": space, "variant": v, "reduce": k, "window": w, "split": split, "seed": s, "r2": r,
                         "width": widths[(space, v, k, w)]})
            if split == "heldout":
                preds[(space, v, k, w, s)] = pred
            print(f"{space:5s} {v:15s} K={k:2d} win={w:2d} {split:7s} seed {s}: R² {r:.4f} ({secs:.0f} s)", flush=True)
    finally:
        if pool is not None:
            pool.close()
            pool.join()

    def held(space, v, k, w):
        return np.array([r["r2"] for r in rows if (r["latents"], r["variant"], r["reduce"], r["window"], r["split"])
                         == (space, v, k, w, "heldout")])

    summary, candidates = {}, {}
    for (space, v), cands in settings.items():
        cv = {}
        for k, w in cands:
            c = [r["r2"] for r in rows if (r["latents"], r["variant"], r["reduce"], r["window"]) == (space, v, k, w)
                 and r["split"].startswith("cv")]
            cv[(k, w)] = float(np.mean(c)) if c else None
            h = held(space, v, k, w)
            candidates[f"{space} {v} K={k} win={w}"] = {"cv_r2": cv[(k, w)], "mean": float(h.mean()),
                                                       "sd": float(h.std(ddof=1)) if len(h) > 1 else None,
                                                       "n": len(h), "width": widths[(space, v, k, w)]}
        k, w = max(cv, key=lambda kw: cv[kw]) if len(cands) > 1 else cands[0]
        h = held(space, v, k, w)
        summary[f"{space} {v}"] = {"reduce": k, "window": w, **spread(h), "values": h.tolist(),
                                   "chosen_by": f"{a.cv_folds}-fold CV on training" if len(cands) > 1 else "fixed",
                                   "cv_r2": {f"K={kk} win={ww}": c for (kk, ww), c in cv.items()}}
        ks = [kk for kk, ww in cands if ww == w]
        if len(ks) > 1:  # the K-ensemble: mean log-prediction of the fits at every K (at the chosen window)
            e = np.array([ensemble_r2(y_va, [preds[(space, v, kk, w, s)] for kk in ks]) for s in a.seeds])
            summary[f"{space} {v}"]["ensemble"] = {"reduce": ks, "window": w, **spread(e), "values": e.tolist()}
    meta = {"torch": torch.__version__, "argv": sys.argv, "latents_s": round(t_lat, 1),
            "wall_s": round(time.perf_counter() - t0, 1), "date": time.strftime("%Y-%m-%d"),
            "grid_shape": list(lat["grid_train"].shape[1:]), "seeds": a.seeds}
    atomic_write_text(a.out, json.dumps({"meta": meta, "summary": summary, "candidates": candidates, "rows": rows},
                                        indent=1))
    print(f"\nheld-out R² (seeds {a.seeds}); K / window chosen on the training sequences only")
    for key, s in summary.items():
        print(f"{key:22s} K={s['reduce']:2d} win={s['window']:2d}  R² {s['mean']:.4f} ± {s['sd'] or 0:.4f} "
              f"(min {s['min']:.4f}, max {s['max']:.4f}, n {s['n']})  CV {s['cv_r2']}")
        if "ensemble" in s:
            e = s["ensemble"]
            print(f"{key:22s} K-ensemble {e['reduce']} win={e['window']:2d}  R² {e['mean']:.4f} ± {e['sd'] or 0:.4f} "
                  f"(min {e['min']:.4f}, max {e['max']:.4f})")
    print(f"wall {meta['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
