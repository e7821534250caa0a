"""How a trained network's reconstruction error depends on the distance to the drop's outline, on the real
crops against synthetic ones (CPU, seconds; exploratory, eighteenth session).

Each pixel gets its signed distance to the dark/light boundary of the target (threshold 0.5): -1 for a dark
pixel beside a light one, -k for dark pixels k-1 erosions further in, +k for light pixels k dilations out,
up to ``--reach`` px; pixels further away and the reflection spots (``reflection_mask`` grown by 3 px) are
left out. Per distance it prints the mean squared error, the mean signed error (reconstruction minus
target) and the target's mean grey, over the real crops and over synthetic validation crops, so an edge
whose profile the generator gets wrong (error a few px inside or outside) can be told from one the network
places wrongly or blurs (error at +-1). A second table splits the error 1-2 px from the outline by height
in the drop (:func:`by_height`).

    PYTHONPATH=$PWD python3 benchmarks/edge_profile.py --real-dir ../shared/data/droplet_frames \\
        --model t91=ckpt/sec.pt --model t92=ckpt/t92.pt --synthetic 64 --out edge_profile.md
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from aecnn.checkpoint import load_model
from aecnn.metrics import dilate, erode, reflection_mask
from aecnn.quality.data import real_crops
from aecnn.quality.report import print_report

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_errors import parse_args, synthetic_crops


def signed_distance(target: torch.Tensor, reach: int) -> torch.Tensor:
    """``(N, 1, H, W)`` integer distance to the dark/light boundary: -1..-reach inside the dark region,
    +1..+reach outside it, 0 further away."""
    dark = (target < 0.5).float()
    dist = torch.zeros_like(dark)
    inside, outside = dark, dark
    for k in range(1, reach + 1):
        eroded, grown = erode(inside, 1), dilate(outside, 1)
        dist[(inside - eroded) > 0] = -k
        dist[(grown - outside) > 0] = k
        inside, outside = eroded, grown
    return dist


def profile(pred: torch.Tensor, target: torch.Tensor, reach: int) -> dict[int, tuple[float, float, float, int]]:
    """distance -> (mean squared error, mean signed error, target's mean grey 0-1, pixel count)."""
    dist = signed_distance(target, reach)
    keep = ~reflection_mask(target, grow=3)
    err = pred.float() - target.float()
    out = {}
    for d in [*range(-reach, 0), *range(1, reach + 1)]:
        m = (dist == d) & keep
        n = int(m.sum())
        if n:
            out[d] = (float(err[m].pow(2).mean()), float(err[m].mean()), float(target[m].mean()), n)
    return out


HEIGHTS = ((-1.0, 0.05), (0.05, 0.3), (0.3, 0.6), (0.6, 2.0))  # fractions of the drop's height (lowest dark row: 0)


def by_height(pred: torch.Tensor, target: torch.Tensor) -> list[tuple[float, float]]:
    """Per band of height above the crop's lowest dark row (``HEIGHTS``, as fractions of the dark region's
    height): (mean squared error, share of the squared error) over the pixels 1-2 px from the outline,
    reflection spots left out. The generator's free-form outline acts above 30 % of the drop's height."""
    dist = signed_distance(target, 2).abs()[:, 0]
    near = (dist >= 1) & ~reflection_mask(target, grow=3)[:, 0]
    err = (pred.float() - target.float()).pow(2)[:, 0]
    rows = torch.arange(target.shape[-2], dtype=torch.float32)
    sums, counts = torch.zeros(len(HEIGHTS)), torch.zeros(len(HEIGHTS))
    for e, m, t in zip(err, near, target[:, 0] < 0.5):
        r = rows[t.any(1)]
        if len(r) < 2:
            continue
        h = ((r.max() - rows) / (r.max() - r.min()))[:, None].expand_as(e)
        for i, (lo, hi) in enumerate(HEIGHTS):
            sel = m & (h > lo) & (h <= hi)
            sums[i] += e[sel].sum()
            counts[i] += sel.sum()
    total = float(sums.sum()) or 1.0
    return [(float(s / c) if c else float("nan"), float(s) / total) for s, c in zip(sums, counts)]


def height_table(real: list, synth: list) -> str:
    lines = [("| height / drop height | real MSE ×1e4 | synthetic MSE ×1e4 | real / synthetic | real share | "
              "synthetic share |"), "| --- | --- | --- | --- | --- | --- |"]
    for (lo, hi), r, s in zip(HEIGHTS, real, synth):
        ratio = f"{r[0] / s[0]:.1f}" if s[0] > 0 else "—"  # NaN (no pixels) compares False as well
        lines.append(f"| {max(lo, 0):.2f}–{min(hi, 1):.2f} | {r[0] * 1e4:.1f} | {s[0] * 1e4:.1f} | {ratio} | "
                     f"{r[1]:.2f} | {s[1]:.2f} |")
    return "\n".join(lines) + "\n"


def table(label: str, real: dict, synth: dict) -> str:
    lines = [f"**{label}**", "", ("| distance px | real MSE ×1e4 | synthetic MSE ×1e4 | real / synthetic | "
                                  "real signed error ×1e3 | synthetic signed ×1e3 | real grey | synthetic grey |"),
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for d in sorted(set(real) | set(synth)):
        r, s = real.get(d), synth.get(d)
        ratio = f"{r[0] / s[0]:.1f}" if r and s and s[0] > 0 else "—"
        lines.append(f"| {d:+d} | {r[0] * 1e4:.2f} | {s[0] * 1e4:.2f} | {ratio} | {r[1] * 1e3:+.1f} | {s[1] * 1e3:+.1f} | "
                     f"{r[2]:.3f} | {s[2]:.3f} |" if r and s else f"| {d:+d} | — | — | — | — | — | — | — |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real-dir", required=True)
    p.add_argument("--model", action="append", required=True, metavar="LABEL=CHECKPOINT")
    p.add_argument("--synthetic", type=int, default=64, metavar="N", help="2N synthetic validation crops (N sequences)")
    p.add_argument("--reach", type=int, default=5, help="largest distance to the outline, px")
    p.add_argument("--out", type=Path, help="also write the tables here (markdown)")
    a, synth, real = parse_args(p, argv)
    if real is None:
        return 2
    x = torch.from_numpy(real_crops(real[0], (201, 201))).float().div(255.0).unsqueeze(1)
    xs = torch.from_numpy(synthetic_crops(a.synthetic, synth)).float().div(255.0).unsqueeze(1)
    parts = [f"{len(x)} real crops, {len(xs)} synthetic validation crops; reflection spots left out.\n"]
    for item in a.model:
        label, _, path = item.partition("=")
        model = load_model(path).eval()
        with torch.no_grad():
            y, ys = (model(v).float().clamp(0, 1) for v in (x, xs))
        parts.append(table(label, profile(y, x, a.reach), profile(ys, xs, a.reach)))
        parts.append(height_table(by_height(y, x), by_height(ys, xs)))
    return print_report("\n".join(parts), a.out)


if __name__ == "__main__":
    sys.exit(main())
