"""Does the drop's size per frame lift the strips' sequence-stage R²? (CPU, ~1-2 min on cached latents)

``benchmarks/strip_invariant.py`` scores the strips' sequence stage from the latents plus the drop's
tracked displacement. The drop's terminal speed grows with its volume as well as falling with
viscosity (``aecnn.data.synth``), so this adds the third column that ``aecnn track`` writes,
``dark_fraction`` (the drop's dark pixels as a share of the frame, here in %), and refits the same
LSTMs (``lstm_r2``, K = 8 PCs, the same seeds) on that study's cached latents for PCA, the aecnn grid
and its FFT summary along the width. The strips are re-rendered with the generator settings those
latents were made with (the blur before 8ce691a, no outline modes) and checked against the cached displacement.

    PYTHONPATH=$PWD python3 benchmarks/strip_size_check.py --cache /tmp/strip_study/latents.npz \\
        --seeds 0 1 2 --out benchmarks/quality_results/strip_size_check.json
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import strip_invariant as si

from aecnn.data.synth import parse_override
from aecnn.data.track import drop_centre
from aecnn.io import atomic_write_text
from aecnn.quality import data as qdata
from aecnn.quality.seqstage import _by_sequence, lstm_r2

#: the generator settings of strip_invariant.py's cached latents (the blur before 8ce691a, no outline
#: modes as before 9624fdc)
OLD_GENERATOR = {"blur_sigma": 0.8, "blur_spread": (0.8, 1.25), "outline_modes": 0.0}


def dark_percent(frames: np.ndarray) -> np.ndarray:
    """``(N,)`` the drop's dark pixels (< 128, baseline rows left out) in % of each uint8 frame."""
    return np.array([drop_centre(f, threshold=128)[2] for f in frames], dtype=np.float32) * 100.0


def _fit(job: tuple) -> tuple[tuple, float]:
    tag, tr, y_tr, te, y_te, k, n_extra, seed, epochs, method = job
    torch.set_num_threads(1)
    return tag, lstm_r2(tr, y_tr, te, y_te, epochs=epochs, seed=seed, reduce=k, passthrough=n_extra,
                        reduce_method=method)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", required=True, help="strip_invariant.py's latents (npz)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--epochs", type=int, default=None, help="LSTM epochs (default: the benchmark's)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--reduce", type=int, default=8, help="components the LSTM reads (default 8, the benchmark's)")
    p.add_argument("--reduce-method", choices=("pca", "pls"), default="pca",
                   help="principal components (the benchmark's) or PLS directions")
    p.add_argument("--synth", action="append", default=[], metavar="FIELD=VALUE",
                   help="the generator the cached latents were made with, as strip_invariant.py's --synth; "
                        "given, it replaces the default (the generator of 21ce71f: " + str(OLD_GENERATOR) + ")")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    try:
        generator = dict(parse_override(t, exclude=qdata.SPLIT_FIELDS) for t in a.synth) if a.synth else OLD_GENERATOR
    except ValueError as e:
        p.error(str(e))
    t0 = time.perf_counter()
    with np.load(a.cache) as z:
        lat = {k: z[k] for k in z.files}
    n_tr, n_va = len(lat["y_train"]), len(lat["y_val"])
    size = {}
    for split, n, seed in (("train", n_tr, 0), ("val", n_va, 1000)):
        s = qdata.make_split(n, a.frames, si.STRIP, si.CROP, seed=seed, workers=a.workers, **generator)["strip"]
        if not np.allclose(s.motion, lat[f"motion_{split}"]):
            print(f"the re-rendered {split} strips do not match the cached latents' displacement", file=sys.stderr)
            return 2
        size[split] = dark_percent(s.frames)
    print(f"sizes in {time.perf_counter() - t0:.0f} s (median {np.median(size['train']):.2f} %)", flush=True)
    fft_tr, fft_va = si.features("fft", lat["grid_train"], lat["grid_val"], 0)
    spaces = {"PCA": (lat["pca_train"], lat["pca_val"]),
              "aecnn": (lat["grid_train"].reshape(len(lat["grid_train"]), -1),
                        lat["grid_val"].reshape(len(lat["grid_val"]), -1)),
              "aecnn fft": (fft_tr, fft_va)}
    extras = {"displacement": (lat["motion_train"], lat["motion_val"]),
              "displacement + size": (np.concatenate([lat["motion_train"], size["train"][:, None]], 1),
                                      np.concatenate([lat["motion_val"], size["val"][:, None]], 1))}
    jobs = []
    for space, (f_tr, f_va) in spaces.items():
        for extra, (e_tr, e_va) in extras.items():
            tr = _by_sequence(np.concatenate([f_tr, e_tr], 1).astype(np.float32), a.frames)
            te = _by_sequence(np.concatenate([f_va, e_va], 1).astype(np.float32), a.frames)
            for s in a.seeds:
                jobs.append(((space, extra, s), tr, lat["y_train"], te, lat["y_val"], a.reduce, e_tr.shape[1], s,
                             a.epochs, a.reduce_method))
    res: dict[str, dict[str, list[float]]] = {}
    pool = mp.get_context("spawn").Pool(a.workers) if a.workers > 1 else None
    try:
        for (space, extra, s), r in (pool.imap_unordered(_fit, jobs) if pool else map(_fit, jobs)):
            print(f"{space:10s} {extra:20s} seed {s}: R² {r:.4f}", flush=True)
            res.setdefault(space, {}).setdefault(extra, []).append(r)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    summary = {sp: {ex: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else None,
                         "values": v} for ex, v in d.items()} for sp, d in res.items()}
    for sp, d in summary.items():
        print(sp + ": " + "; ".join(f"{ex} {v['mean']:.4f} ± {v['sd'] or 0:.4f}" for ex, v in d.items()))
    out = {"argv": sys.argv, "seconds": time.perf_counter() - t0, "torch": torch.__version__,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "summary": summary}
    atomic_write_text(Path(a.out), json.dumps(out, indent=1))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
