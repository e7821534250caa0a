"""Where on the real frames a trained network's reconstruction error sits (CPU, seconds).

Reconstructs the real frames' 201x201 crops (cut as the quality benchmark cuts them) with one or
more aecnn checkpoints (e.g. those ``aecnn eval-quality --save-models`` writes) and draws, per
checkpoint, the reconstruction and the absolute error, with each crop's PSNR and outline-band PSNR.
It also prints where each crop's squared error sits: the share in the outline band (3 px of a
dark/light boundary), in the 0.1 % worst pixels, and in the 10 columns at either crop edge.

    PYTHONPATH=$PWD python3 benchmarks/real_errors.py --real-dir ../shared/data/droplet_frames \\
        --model refl=m/refl/crop-aecnn-spatial-L512-images.pt --model both=m/both/... --out fig.png
"""
from __future__ import annotations

import argparse
import math
import sys

import numpy as np
import torch

from aecnn.checkpoint import load_model
from aecnn.metrics import band_psnr, outline_band, psnr, reflection_mask
from aecnn.quality.data import load_real_frames, real_crops


def error_shares(pred: torch.Tensor, target: torch.Tensor, edge: int = 10) -> list[dict[str, float]]:
    """Per image ``(N, 1, H, W)``: the fraction of its squared error in the outline band, in its
    0.1 % worst pixels (at least one), in the ``edge`` columns at its left and right borders and on
    the reflection spots (``aecnn.metrics.reflection_mask`` grown by 3 px), and its PSNR without the
    spots' error (``psnr_no_spot``, dB, the spots' pixels counted as exact)."""
    err = (pred.float() - target.float()).pow(2)[:, 0]
    band = outline_band(target)[:, 0].bool()
    spot = reflection_mask(target, grow=3)[:, 0]
    out = []
    for e, b, s in zip(err, band, spot):
        total = float(e.sum()) or float("nan")
        k = max(1, e.numel() // 1000)
        rest = float(e[~s].sum()) / e.numel()
        out.append({"band": float(e[b].sum()) / total, "worst": float(e.flatten().topk(k).values.sum()) / total,
                    "left": float(e[:, :edge].sum()) / total, "right": float(e[:, -edge:].sum()) / total,
                    "spot": float(e[s].sum()) / total,
                    "psnr_no_spot": 10 * math.log10(1 / rest) if rest > 0 else float("inf")})
    return out


def synthetic_crops(n_sequences: int, synth: dict | None = None) -> np.ndarray:
    """Two crops from each of ``n_sequences`` sequences of the benchmark's validation generator
    (``SynthConfig`` with the ``synth`` overrides, seed 1000), uint8 ``(2n, 201, 201)``."""
    from aecnn.data.synth import SynthConfig, generate_in_memory

    cfg = SynthConfig(n_sequences=n_sequences, frames_per_sequence=2, seed=1000, **(synth or {}))
    return generate_in_memory(cfg, "crop").frames


def parse_args(p: argparse.ArgumentParser, argv: list[str] | None):
    """``(args, synth, real)`` for a script over checkpoints, the real frames and synthetic crops: adds
    ``--synth FIELD=VALUE`` (the checkpoints' generator, as the benchmark's ``--synth``; the default grey
    levels changed in the nineteenth session, so checkpoints trained before it need ``--synth
    drop_level=12,21 --synth rim_amp=28,50 --synth rim_len=3,5.5``), parses, and loads ``args.real_dir``
    (``real`` is None, with a message, when it holds no frames)."""
    from aecnn.data.synth import parse_override
    from aecnn.quality.data import SPLIT_FIELDS

    p.add_argument("--synth", action="append", default=[], metavar="FIELD=VALUE",
                   help="SynthConfig field of the synthetic crops, as the benchmark's --synth (the checkpoints' generator)")
    a = p.parse_args(argv)
    try:
        synth = dict(parse_override(t, exclude=SPLIT_FIELDS) for t in a.synth)
    except ValueError as e:
        p.error(str(e))
    real = load_real_frames(a.real_dir)
    if real is None:
        print(f"no real frames in {a.real_dir}", file=sys.stderr)
    return a, synth, real


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real-dir", required=True)
    p.add_argument("--model", action="append", required=True, metavar="LABEL=CHECKPOINT")
    p.add_argument("--out", required=True, help="PNG figure")
    p.add_argument("--synthetic", type=int, default=0, metavar="N",
                   help="also print the error shares on 2N synthetic validation crops (N sequences)")
    a, synth, real = parse_args(p, argv)
    if real is None:
        return 2
    frames, names = real
    crops = real_crops(frames, (201, 201))
    x = torch.from_numpy(crops).float().div(255.0).unsqueeze(1)
    rows = []
    for item in a.model:
        label, _, path = item.partition("=")
        model = load_model(path).eval()
        with torch.no_grad():
            y = model(x).float().clamp(0, 1)
        per = psnr(y, x).numpy()
        band = band_psnr(y, x).numpy()
        rows.append((label, y[:, 0].numpy(), per, band))
        print(f"{label}: PSNR {per.mean():.2f} dB, band {np.nanmean(band):.2f} dB; per frame "
              + " ".join(f"{v:.1f}" for v in per))
        shares = error_shares(y, x)
        for name, share in zip(names, shares):
            print(f"  {name}: squared error in the band {share['band']:.2f}, in the 0.1 % worst pixels "
                  f"{share['worst']:.2f}, in the 10 left / right columns {share['left']:.2f} / {share['right']:.2f}, "
                  f"on the reflection {share['spot']:.2f}; PSNR without the reflection {share['psnr_no_spot']:.1f} dB")
        summary = [("real", shares, per)]
        if a.synthetic > 0:
            xs = torch.from_numpy(synthetic_crops(a.synthetic, synth)).float().div(255.0).unsqueeze(1)
            with torch.no_grad():
                ys = model(xs).float().clamp(0, 1)
            summary.append((f"synthetic ({len(xs)} crops)", error_shares(ys, xs), psnr(ys, xs).numpy()))
        for what, sh, p_ in summary:
            print(f"  {what}: PSNR {p_.mean():.2f} dB, without the reflection "
                  f"{np.mean([s['psnr_no_spot'] for s in sh]):.2f} dB; median share of the squared error on the "
                  f"reflection {np.median([s['spot'] for s in sh]):.2f}, in the band {np.median([s['band'] for s in sh]):.2f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(crops)
    fig, axes = plt.subplots(1 + 2 * len(rows), n, figsize=(1.6 * n, 1.7 * (1 + 2 * len(rows))), squeeze=False)
    for j in range(n):
        axes[0, j].imshow(crops[j], cmap="gray", vmin=0, vmax=255)
        axes[0, j].set_title(names[j].removesuffix(".png"), fontsize=7)
        for i, (label, y, per, band) in enumerate(rows):
            axes[1 + 2 * i, j].imshow(y[j], cmap="gray", vmin=0, vmax=1)
            axes[1 + 2 * i, j].set_title(f"{per[j]:.1f} dB (band {band[j]:.1f})", fontsize=7)
            axes[2 + 2 * i, j].imshow(np.abs(y[j] - crops[j] / 255.0), cmap="magma", vmin=0, vmax=0.5)
    for i, (label, *_rest) in enumerate(rows):
        axes[1 + 2 * i, 0].set_ylabel(label, fontsize=7)
        axes[2 + 2 * i, 0].set_ylabel("|error| (0-0.5)", fontsize=7)
    axes[0, 0].set_ylabel("real crop", fontsize=7)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(a.out, dpi=90)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
