"""``fit-sequence --latent-summary width-fft`` on the strip latents of ``strip_invariant.py`` (CPU).

Reads the latent cache that ``benchmarks/strip_invariant.py --cache`` writes (the benchmark's strip
data: 192 training and 64 held-out sequences of 32 frames, the aecnn strip grid and each frame's tracked
displacement) and fits the sequence stage through :func:`aecnn.sequence.fit_sequence_model`, as
``aecnn fit-sequence --reduce 8 --log-target --frame-features track.csv`` fits it, with and without the
width-FFT summary, on the same train / held-out split.

    PYTHONPATH=$PWD python3 benchmarks/strip_fft_check.py --cache /tmp/strip_study/latents.npz --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from aecnn.sequence import FitConfig, fit_sequence_model


def sequences(cache: dict) -> tuple[dict, dict, tuple[list[str], list[str]], tuple[int, int, int]]:
    """``name -> (T, grid values + 2)`` and targets of both parts, the split and the grid shape."""
    grid = tuple(int(v) for v in cache["grid_train"].shape[1:])
    seqs, targets = {}, {}
    for part in ("train", "val"):
        y = cache[f"y_{part}"]
        n, t = len(y), len(cache[f"grid_{part}"]) // len(y)
        g = cache[f"grid_{part}"].reshape(n, t, -1)
        m = cache[f"motion_{part}"].reshape(n, t, -1)
        for i in range(n):
            seqs[f"{part}{i:03d}"] = np.concatenate([g[i], m[i]], 1).astype(np.float32)
            targets[f"{part}{i:03d}"] = float(y[i])
    split = ([n for n in seqs if n.startswith("train")], [n for n in seqs if n.startswith("val")])
    return seqs, targets, split, grid


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", required=True, help="latents.npz written by strip_invariant.py --cache")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--reduce", type=int, default=8)
    p.add_argument("--epochs", type=int, default=None, help="LSTM epochs (default FitConfig's, 60)")
    a = p.parse_args(argv)
    seqs, targets, split, grid = sequences(dict(np.load(a.cache)))
    extra = {"epochs": a.epochs} if a.epochs else {}
    for summary in ("width-fft", "none"):
        for seed in a.seeds:
            t0 = time.perf_counter()
            cfg = FitConfig(log_target=True, reduce=a.reduce, passthrough=2, seed=seed, summary=summary,
                            grid=grid if summary != "none" else None, **extra)
            res = fit_sequence_model(seqs, targets, cfg, progress=False, split=split)
            print(f"summary {summary:9s} seed {seed}: held-out R² {res.r2:.4f} ({time.perf_counter() - t0:.0f} s, "
                  f"torch {torch.__version__})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
