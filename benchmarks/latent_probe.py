"""What do the first K principal components of a latent space say about the drop? (CPU, diagnostic)

The sequence stage reads only the first K (2-8) principal components of the latents, plus each crop's
displacement. In the generator the viscosity sets the drop's speed together with its volume (and a
hidden tilt), so after the displacement the components mostly have to carry the drop's size and
shape. This script asks which of them they carry: it re-renders the benchmark's crop sequences (same
seeds as ``seq_repeats.py`` / ``quality.py``: 192 training sequences of seed 0, 64 held-out of
``--val-seed``), reads the generator's per-frame ground truth, and fits, for each latent space of a
latent cache written by ``seq_repeats.py --cache``, a least-squares map from its first K principal
components (fitted on the training frames) to each quantity, scored by R² on the held-out frames.

    PYTHONPATH=$PWD python3 benchmarks/latent_probe.py --cache /tmp/lat_x15_512.npz --out probe.json

No network is evaluated here: the latents come from the cache. A linear probe is a lower bound on
what the LSTM could read; it says where the spaces differ, not what the LSTM makes of it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from aecnn.data.synth import SynthConfig, render_sequence
from aecnn.io import atomic_write_text

#: per-frame quantities of the generator (frames.csv columns), and per-sequence ones broadcast to frames
FRAME_FIELDS = ("contact_length_px", "height_px", "elongation", "adv_angle_deg", "rec_angle_deg")
SEQUENCE_FIELDS = ("volume", "log_viscosity")


def ground_truth(n_sequences: int, frames: int, seed: int) -> dict[str, np.ndarray]:
    """``{field: (n_sequences * frames,)}`` in the benchmark's frame order (sequence-major)."""
    cfg = SynthConfig(n_sequences=n_sequences, frames_per_sequence=frames, strip_size=(152, 1280),
                      crop_size=(201, 201), seed=seed)
    out: dict[str, list[np.ndarray]] = {k: [] for k in (*FRAME_FIELDS, *SEQUENCE_FIELDS)}
    for i in range(n_sequences):
        seq = render_sequence(cfg, i, kinds=("crop",))
        for k in FRAME_FIELDS:
            out[k].append(np.asarray(seq.frames[k], dtype=np.float64))
        n = len(seq)
        out["volume"].append(np.full(n, seq.params.volume))
        out["log_viscosity"].append(np.full(n, np.log(seq.viscosity)))
    return {k: np.concatenate(v) for k, v in out.items()}


def probe(train: np.ndarray, val: np.ndarray, y_train: dict, y_val: dict, ks: list[int]) -> dict:
    """R² on the held-out frames of a least-squares map from the first K principal components."""
    mean = train.mean(0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    out = {}
    for k in ks:
        a_tr = np.c_[(train - mean) @ vt[:k].T, np.ones(len(train))]
        a_va = np.c_[(val - mean) @ vt[:k].T, np.ones(len(val))]
        row = {}
        for name, y in y_train.items():
            coef, *_ = np.linalg.lstsq(a_tr, y, rcond=None)
            resid = y_val[name] - a_va @ coef
            row[name] = float(1 - resid.var() / y_val[name].var())
        out[str(k)] = row
    return out


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(np.float64)


def relate(results: dict, seq_jsons: list[str], k: str = "4") -> dict:
    """Each latent space's sequence-stage R² (mean over LSTM seeds at the K its CV chose) beside the
    probe at ``k``; Pearson and Spearman correlations over the aecnn spaces (PCA latents left out)."""
    rows = {}
    for path in seq_jsons:
        d = json.loads(Path(path).read_text())
        for name, choice in d["cv_choice"].items():
            if name in results and name not in rows:
                rows[name] = {"k_cv": choice["k"], "lstm_r2": d["summary"][f"{name} K={choice['k']}"]["mean"],
                              **{f: results[name][k][f] for f in (*FRAME_FIELDS, *SEQUENCE_FIELDS)}}
    nets = [n for n in rows if n != "PCA"]
    y = np.array([rows[n]["lstm_r2"] for n in nets])
    corr = {}
    if len(nets) >= 3:
        for f in (*FRAME_FIELDS, *SEQUENCE_FIELDS):
            x = np.array([rows[n][f] for n in nets])
            corr[f] = {"pearson": float(np.corrcoef(x, y)[0, 1]),
                       "spearman": float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])}
    print(f"\nsequence-stage R² (CV-chosen K) against the probe at K={k}; correlations over {len(nets)} aecnn "
          "latent spaces (PCA latents left out)")
    for f, c in corr.items():
        print(f"  {f}: Pearson {c['pearson']:.2f}, Spearman {c['spearman']:.2f}")
    return {"k": int(k), "rows": rows, "correlation": corr, "n": len(nets)}


def figure(results: dict, groups: dict[str, list[str]], ks: list[int], path: str,
           fields: tuple[str, ...] = ("contact_length_px", "elongation", "volume", "log_viscosity")) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(fields), figsize=(3.3 * len(fields), 3.2), sharey=True)
    for ax, f in zip(axes, fields):
        for j, (label, names) in enumerate(groups.items()):
            missing = [n for n in names if n not in results]
            if missing:
                raise SystemExit(f"--group {label}: no latents named {missing}; have {sorted(results)}")
            r = np.array([[results[n][str(k)][f] for k in ks] for n in names])
            mean = r.mean(0)
            ax.errorbar(np.array(ks) * (1 + 0.04 * (j - len(groups) / 2)), mean,
                        yerr=[mean - r.min(0), r.max(0) - mean], marker="o", capsize=3,
                        label=f"{label} ({len(names)})", color="0.45" if label.startswith("PCA") else f"C{j}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_xlabel("principal components K")
        ax.set_title(f, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("R² on held-out frames (linear)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", action="append", required=True, metavar="NPZ",
                   help="latent cache of seq_repeats.py (<name>_train / <name>_val arrays; repeatable)")
    p.add_argument("--k", type=int, nargs="+", default=[2, 4, 8], help="principal components (default 2 4 8)")
    p.add_argument("--train-sequences", type=int, default=192)
    p.add_argument("--val-sequences", type=int, default=64)
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--val-seed", type=int, default=1000, help="the cache's held-out generator seed (default 1000)")
    p.add_argument("--out", required=True, help="JSON with every R²")
    p.add_argument("--seq-repeats", action="append", default=[], metavar="JSON",
                   help="seq_repeats.py output for the same latents and held-out seed: relate each latent "
                        "space's LSTM R² (K chosen by CV) to the probe at K=4 (exploratory)")
    p.add_argument("--figure", default=None, help="PNG: mean R² (min-max bars) against K per --group")
    p.add_argument("--group", action="append", default=[], metavar="LABEL=NAME,NAME",
                   help="latent spaces drawn as one line in --figure (names as in the JSON)")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    y_tr = ground_truth(a.train_sequences, a.frames, 0)
    y_va = ground_truth(a.val_sequences, a.frames, a.val_seed)
    print(f"ground truth of {len(y_tr['volume'])} + {len(y_va['volume'])} frames in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    results: dict[str, dict] = {}
    for path in a.cache:
        with np.load(path) as z:
            names = sorted({k.rsplit("_", 1)[0] for k in z.files})
            for name in names:
                key = name if name not in results else f"{name}@{Path(path).stem}"
                tr, va = z[f"{name}_train"].astype(np.float64), z[f"{name}_val"].astype(np.float64)
                if len(tr) != len(y_tr["volume"]) or len(va) != len(y_va["volume"]):
                    raise SystemExit(f"{path}: {name} has {len(tr)} / {len(va)} frames, the ground truth "
                                     f"{len(y_tr['volume'])} / {len(y_va['volume'])}: other sequence counts?")
                results[key] = probe(tr, va, y_tr, y_va, a.k)
    meta = {"command": " ".join(sys.argv), "val_seed": a.val_seed, "k": a.k, "caches": a.cache,
            "seconds": round(time.perf_counter() - t0, 1)}
    relation = relate(results, a.seq_repeats) if a.seq_repeats else None
    atomic_write_text(a.out, json.dumps({"meta": meta, "r2": results, "lstm_relation": relation}, indent=1) + "\n")
    if a.figure:
        groups = {g.partition("=")[0]: g.partition("=")[2].split(",") for g in a.group}
        figure(results, groups, a.k, a.figure)
    fields = (*FRAME_FIELDS, *SEQUENCE_FIELDS)
    for k in a.k:
        print(f"\nR² on held-out frames from the first {k} principal components")
        print("| latents | " + " | ".join(fields) + " |")
        print("| --- |" + " --- |" * len(fields))
        for name, r in results.items():
            print(f"| {name} | " + " | ".join(f"{r[str(k)][f]:.3f}" for f in fields) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
