"""Reconstructions of saved networks and PCA side by side on the same crops (CPU, minutes).

The quality benchmark draws its side-by-side figure from one run; trainings that ran in separate
device calls (other latents, bottlenecks, seeds) only come together through their checkpoints
(``eval-quality --save-models``). This rebuilds the benchmark's crop data (same generator and seeds),
fits PCA on its training frames for each ``--pca`` size, reconstructs the benchmark's four shown
validation crops and the first real crops with every method, and draws them in one figure; each
row is labelled with its mean PSNR over the first ``--eval-frames`` validation crops and over all
real crops (fp32 on the CPU, so within bf16 rounding of the device's numbers).

    PYTHONPATH=$PWD python3 benchmarks/recon_compare.py --pca 512 \\
        --model "aecnn spatial 512=/tmp/m/crop-aecnn-spatial-L512-images.pt" --model "seed 512=/tmp/m/crop-seed-L512-images.pt" \\
        --real-dir ../shared/data/droplet_frames --out fig_recon.png
"""
from __future__ import annotations

import argparse
import json
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


def _models(models: list[str]) -> list[tuple[str, tuple]]:
    out = []
    for item in models:
        name, sep, path = item.partition("=")
        if not sep or not path:
            raise ValueError(f"--model takes NAME=CHECKPOINT, got {item!r}")
        out.append((name, model_codec(load_model(path))))
    return out


def _pcas(train: torch.Tensor, sizes: list[int]) -> list[tuple[str, tuple]]:
    pca = PCA(max(sizes)).fit(train)
    return [(f"PCA {k}", pca_codec(pca, k)) for k in sorted(sizes)]


def draw(originals: list[tuple[str, np.ndarray]], rows: list[dict], path: str) -> None:
    """One column per original, one row per method (and the originals on top)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_r, n_c = len(rows) + 1, len(originals)
    fig, axes = plt.subplots(n_r, n_c, figsize=(1.9 * n_c, 1.9 * n_r + 0.4), squeeze=False)
    for j, (title, img) in enumerate(originals):
        axes[0, j].imshow(img, cmap="gray", vmin=0, vmax=255)
        axes[0, j].set_title(title, fontsize=8)
        for i, row in enumerate(rows, start=1):
            axes[i, j].imshow(row["recon"][j], cmap="gray", vmin=0, vmax=255)
    axes[0, 0].set_ylabel("original", fontsize=8)
    for i, row in enumerate(rows, start=1):
        real = f"\nreal {row['real_psnr']:.1f} dB" if row.get("real_psnr") is not None else ""
        axes[i, 0].set_ylabel(f"{row['name']}\nval {row['psnr']:.1f} dB{real}", fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("the same crops through each method (PSNR: mean over the validation / real crops)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", default=[], metavar="NAME=CKPT", help="aecnn checkpoint (repeatable)")
    p.add_argument("--pca", type=int, action="append", default=[], metavar="K", help="PCA with K components (repeatable)")
    p.add_argument("--real-dir", default=None, help="folder of real frames (skipped when absent)")
    p.add_argument("--real-shown", type=int, default=2, help="real crops drawn (all are scored)")
    p.add_argument("--eval-frames", type=int, default=512, help="validation crops the PSNR is averaged over")
    p.add_argument("--train-sequences", type=int, default=192)
    p.add_argument("--val-sequences", type=int, default=64)
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--synth", action="append", default=[], metavar="FIELD=VALUE",
                   help="SynthConfig field of the data, as the benchmark's --synth (the checkpoints' generator)")
    p.add_argument("--out", required=True, help="figure (.png); the numbers go beside it as .json")
    a = p.parse_args(argv)
    if not a.model and not a.pca:
        p.error("give at least one --model or --pca")
    try:
        synth = dict(parse_override(t, exclude=qdata.SPLIT_FIELDS) for t in a.synth)
    except ValueError as e:
        p.error(str(e))
    t0 = time.perf_counter()
    try:  # the checkpoints first: a bad one fails before minutes of data making
        nets = _models(a.model)
    except (ValueError, OSError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    shown = qdata.shown_frames(a.val_sequences, a.frames)
    val = torch.from_numpy(qdata.make_split(a.val_sequences, a.frames, (152, 1280), (201, 201), 1000, **synth)["crop"].frames)
    codecs = []
    if a.pca:
        train = qdata.make_split(a.train_sequences, a.frames, (152, 1280), (201, 201), 0, **synth)["crop"].frames
        codecs = _pcas(torch.from_numpy(train), a.pca)
        del train
    codecs += nets
    real = qdata.load_real_frames(a.real_dir) if a.real_dir and Path(a.real_dir).is_dir() else None
    real_crops = qdata.real_crops(real[0], (201, 201)) if real is not None else None
    n_eval = min(a.eval_frames, len(val))
    n_real = 0 if real_crops is None else min(a.real_shown, len(real_crops))
    originals = [(f"synthetic #{i}", val[i].numpy()) for i in shown]
    originals += [(f"real {real[1][i]}", real_crops[i]) for i in range(n_real)]
    rows = []
    for name, codec in codecs:
        ev = evaluate(codec, val[:n_eval])
        recon = list(evaluate(codec, val[shown], keep=list(range(len(shown)))).recon)
        row = {"name": name, "psnr": ev.metrics["psnr"], "ssim": ev.metrics["ssim"], "band_psnr": ev.metrics["band_psnr"]}
        if real_crops is not None:
            rv = evaluate(codec, torch.from_numpy(real_crops), keep=list(range(n_real)))
            row.update(real_psnr=rv.metrics["psnr"], real_band_psnr=rv.metrics["band_psnr"])
            recon += list(rv.recon) if n_real else []
        row["recon"] = recon
        rows.append(row)
        print(f"{name:28s} val {row['psnr']:.2f} dB, band {row['band_psnr']:.2f}"
              + (f", real {row['real_psnr']:.2f}" if "real_psnr" in row else ""), flush=True)
    meta = {"torch": torch.__version__, "argv": sys.argv, "eval_frames": n_eval, "shown": shown,
            "wall_s": round(time.perf_counter() - t0, 1), "date": time.strftime("%Y-%m-%d")}
    try:  # the numbers first: they survive a figure that cannot be drawn
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(a.out).with_suffix(".json"), json.dumps(
            {"meta": meta, "rows": [{k: v for k, v in r.items() if k != "recon"} for r in rows]}, indent=1))
        draw(originals, rows, a.out)
    except OSError as e:
        print(f"error: cannot write {a.out}: {e}", file=sys.stderr)
        return 2
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
