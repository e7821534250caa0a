"""``aecnn fit-sequence --reduce auto`` on the quality benchmark's crop latents, as a user would run it (CPU).

Reads the latents that ``benchmarks/seq_repeats.py --cache`` wrote (PCA and aecnn latents of the
benchmark's 192 training and 64 held-out crop sequences), writes them as ``aecnn embed`` files
with a metadata CSV, a frames CSV holding each crop's displacement and the split, then runs the
command for each latent space: K chosen by cross-validation on the 192 training sequences, scored on
the 64 held-out ones.

    PYTHONPATH=$PWD python3 benchmarks/reduce_auto.py --cache /tmp/latents.npz --work /tmp/reduce_auto \\
        --out reduce_auto.json
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from aecnn.cli import main as aecnn_main
from aecnn.data.dataset import save_split
from aecnn.inference.embed import save_embeddings
from aecnn.io import atomic_write_text
from aecnn.quality import data as qdata


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", required=True, help="latents .npz from seq_repeats.py --cache")
    p.add_argument("--work", required=True)
    p.add_argument("--train-sequences", type=int, default=192)
    p.add_argument("--val-sequences", type=int, default=64)
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--extra", default="", help="further fit-sequence options, one string (e.g. '--epochs 2')")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    t_per = a.frames
    tr = qdata.make_split(a.train_sequences, t_per, (152, 1280), (201, 201), 0)["crop"]
    va = qdata.make_split(a.val_sequences, t_per, (152, 1280), (201, 201), 1000)["crop"]
    names = [f"train_{i:03d}" for i in range(a.train_sequences)] + [f"val_{i:03d}" for i in range(a.val_sequences)]
    visc = np.concatenate([tr.viscosity, va.viscosity])
    motion = np.concatenate([tr.motion, va.motion])
    (work / "meta.csv").write_text("sequence,viscosity\n" + "".join(f"{n},{float(v)!r}\n" for n, v in zip(names, visc)))
    rows = [f"{n},{t},{float(motion[s * t_per + t, 0])!r},{float(motion[s * t_per + t, 1])!r}\n"
            for s, n in enumerate(names) for t in range(t_per)]
    (work / "frames.csv").write_text("sequence,frame,dx,dy\n" + "".join(rows))
    save_split(work / "split.json", names[:a.train_sequences], names[a.train_sequences:])
    results = {}
    with np.load(a.cache) as z:
        spaces = [k[:-6] for k in z.files if k.endswith("_train")]
        for key in spaces:
            lat = np.concatenate([z[f"{key}_train"], z[f"{key}_val"]])
            save_embeddings(work / f"{key}.npz", lat, [n for n in names for _ in range(t_per)],
                            [t for _ in names for t in range(t_per)])
    for key in spaces:
        out = work / f"fit_{key}"
        t = time.perf_counter()
        rc = aecnn_main(["fit-sequence", str(work / f"{key}.npz"), str(work / "meta.csv"), "--split",
                         str(work / "split.json"), "--log-target", "--frame-features", str(work / "frames.csv"),
                         "--frame-columns", "dx", "dy", "--frame-mode", "value", "--reduce", "auto", "--no-progress",
                         *shlex.split(a.extra), "--out", str(out)])
        if rc != 0:
            return rc
        r = json.loads((out / "results.json").read_text())
        results[key] = {"r2": r["r2"], "mae": r["mae"], "n_test_sequences": r["n_test_sequences"],
                        "reduce_choice": r["reduce_choice"], "seconds": round(time.perf_counter() - t, 1)}
    meta = {"torch": torch.__version__, "argv": sys.argv, "date": time.strftime("%Y-%m-%d"),
            "wall_s": round(time.perf_counter() - t0, 1)}
    atomic_write_text(a.out, json.dumps({"meta": meta, "results": results}, indent=1))
    for key, r in results.items():
        print(f"{key}: held-out R² {r['r2']:.4f} with K = {r['reduce_choice'][0]['reduce']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
