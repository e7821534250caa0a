"""Synthetic-vs-real gap of the droplet generator, measured with a cheap deterministic proxy (CPU).

PCA (exact, from the eigendecomposition of the centred Gram matrix; k = 128 and 512) is fitted on
201x201 synthetic crops (default 48 sequences x 32 frames, generator seed 0) and evaluated on
held-out synthetic crops (16 sequences x 32 frames, seed 1000) and on 201x201 crops of the real
frames (``../shared/data/droplet_frames`` or ``/work/shared/data/droplet_frames``; evaluation only,
never copied). PSNR is per image (data range 1, reconstruction clamped to [0, 1]), averaged.
``gap = synthetic val PSNR - real PSNR``; the quality benchmark's rule is that > 6 dB means the
generator must be improved.

Real crops are cut with the generator's own rule: centred on the drop centroid (here: the centroid
of the pixels < 128, rows dark across more than half of the width, i.e. the baseline, left out),
origin ``floor(c) - size // 2``, padded with the background value 255.

Simple statistics of the drop (on the bottom 130 rows of synthetic strips, i.e. as high as the
real frames, and on the real frames): height above the baseline, dark area, dark / edge / white
fractions, contact length, and contact angles (synthetic: the generator's per-frame metadata; real:
``result.csv`` next to the frames, when present).

Usage::

    python benchmarks/synth_gap.py                               # current generator, print only
    python benchmarks/synth_gap.py --out benchmarks/x.md         # also write the table
    git show b92826c:aecnn/data/synth.py > /tmp/synth_before.py  # the generator before a change
    python benchmarks/synth_gap.py --before-file /tmp/synth_before.py --out OUT.md
    python benchmarks/synth_gap.py --set volume_range=0.6,1.6 --before-set noise_std=0

``--set`` / ``--before-set`` override ``SynthConfig`` fields of the current / before column
(numbers, or comma-separated pairs). Without ``--before-file`` and ``--before-set`` only the
current generator is evaluated. ``--figure PNG`` saves 4 real crops and 4 synthetic crops of each
evaluated generator. Takes about 30-60 s per generator on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import math
import platform
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
import torch.nn.functional as F

from aecnn.metrics import dilate, erode, outline_band, reflection_mask

ROOT = Path(__file__).resolve().parents[1]
REAL_CANDIDATES = (ROOT / ".." / "shared" / "data" / "droplet_frames", Path("/work/shared/data/droplet_frames"))
REAL_ROWS = 130  # height of the real frames; synthetic strips are compared on their bottom rows


# ----------------------------------------------------------------------------- loading


def load_synth(path: str | None) -> ModuleType:
    if path is None:
        import aecnn.data.synth as mod

        return mod
    spec = importlib.util.spec_from_file_location("synth_variant_" + str(abs(hash(path))), path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need the module registered
    spec.loader.exec_module(mod)
    return mod


def parse_sets(items: list[str], cfg_cls: type) -> dict:
    """``--set FIELD=VALUE`` items -> overrides (``aecnn.data.synth.parse_override``; a 'before' file
    from an older single-file generator is checked against its own fields)."""
    from aecnn.data.synth import parse_override

    out = {}
    for item in items:
        try:
            key, value = parse_override(item)
        except ValueError as exc:
            raise SystemExit(f"--set {exc}") from None
        if key not in cfg_cls.__dataclass_fields__:
            raise SystemExit(f"--set {item!r}: {cfg_cls.__name__} here has no field {key!r}")
        out[key] = value
    return out


def find_real_dir(arg: str | None) -> Path | None:
    for cand in ([Path(arg)] if arg else list(REAL_CANDIDATES)):
        if cand.is_dir() and any(cand.glob("*.png")):
            return cand.resolve()
    return None


def load_real(folder: Path) -> np.ndarray:
    from PIL import Image

    arrays = [np.asarray(Image.open(p).convert("L")) for p in sorted(folder.glob("*.png"))]
    shape = arrays[0].shape
    return np.stack([a for a in arrays if a.shape == shape])


# ----------------------------------------------------------------------------- crops and stats


def drop_mask(frame: np.ndarray) -> np.ndarray:
    """Pixels < 128 outside the rows that are dark across more than half the width (baseline)."""
    dark = frame < 128
    dark[dark.mean(axis=1) > 0.5] = False
    return dark


def real_crop(frame: np.ndarray, size: tuple[int, int], fill: int = 255) -> np.ndarray:
    ch, cw = size
    ys, xs = np.nonzero(drop_mask(frame))
    cy, cx = (ys.mean(), xs.mean()) if len(ys) else (frame.shape[0] / 2, frame.shape[1] / 2)
    oy, ox = math.floor(cy) - ch // 2, math.floor(cx) - cw // 2  # the generator's _crop rule
    out = np.full((ch, cw), fill, dtype=np.uint8)
    ya, yb = max(oy, 0), min(oy + ch, frame.shape[0])
    xa, xb = max(ox, 0), min(ox + cw, frame.shape[1])
    out[ya - oy:yb - oy, xa - ox:xb - ox] = frame[ya:yb, xa:xb]
    return out


def frame_stats(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per frame: drop height / area / contact length (px), dark, edge and white fractions."""
    out: dict[str, list[float]] = {k: [] for k in ("height", "area", "contact", "dark", "edge", "white")}
    for f in frames:
        rowdark = (f <= 60).mean(axis=1)
        base = int(np.nonzero(rowdark > 0.95)[0].min()) if (rowdark > 0.95).any() else f.shape[0]
        m = drop_mask(f)
        m[base:] = False
        rows = np.nonzero(m.sum(axis=1) > 2)[0]
        out["height"].append(base - rows.min() if len(rows) else 0)
        out["area"].append(m.sum())
        out["contact"].append(m[base - 2].sum() if base >= 2 else 0)  # 2 rows above the baseline
        out["dark"].append((f <= 60).mean())
        out["edge"].append(((f > 60) & (f < 230)).mean())
        out["white"].append((f >= 230).mean())
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def _drop(x: torch.Tensor) -> torch.Tensor:
    """The drop of each crop ``x`` (N, 1, H, W, grey 0-255): its dark pixels (< 128) closed over 25 px, so
    the reflection spots count as drop (the baseline, a dark row across the crop, is part of it)."""
    dark = (x < 128).float()
    return erode(dilate(dark, 12), 12)


def drop_grey(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per crop ``x`` (N, 1, H, W, grey 0-255): the median grey of the drop's interior (12 px or more
    inside its outline) and of its rim (2-6 px inside) (added in the eighteenth session, for the rim and
    interior levels; NaN where a crop has no such pixels)."""
    filled = _drop(x)
    inner, rim_out, rim_in = (erode(filled, r) > 0 for r in (12, 2, 6))
    rim = rim_out & ~rim_in

    def median(mask):
        return np.array([float(v[m].median()) if m.any() else math.nan for v, m in zip(x, mask)])
    return median(inner), median(rim)


def spot_height(x: torch.Tensor, spot: torch.Tensor) -> np.ndarray:
    """Per crop: the height of the reflection's centroid above the drop's lowest row (the baseline), as a
    fraction of the drop's height (its lowest minus its highest row); NaN without a spot. The generator
    puts its main spot at ``SynthConfig.reflection_height`` of the drop's height (eighteenth session)."""
    rows = torch.arange(x.shape[-2], dtype=torch.float32)
    out = []
    for filled, m in zip(_drop(x)[:, 0] > 0, spot[:, 0]):
        drop_rows = rows[filled.any(1)]
        if not m.any() or len(drop_rows) < 2:
            out.append(math.nan)
            continue
        top, bottom = float(drop_rows.min()), float(drop_rows.max())
        yc = float((m.float().sum(1) * rows).sum() / m.sum())
        out.append((bottom - yc) / max(bottom - top, 1.0))
    return np.asarray(out, dtype=np.float64)


def crop_stats(crops: np.ndarray) -> dict[str, np.ndarray]:
    """Per 201x201 crop: edge width (grey pixels 61-229 within 3 px of a dark/light boundary, per
    boundary pixel; about 1.2 for a 0.3 px blur, 2.2 for 0.8), the reflection's size (pixels >= 128
    whose 21x21 neighbourhood is at least 70 % dark) and saturated part (of those, >= 250), and the
    drop's interior and rim grey levels (:func:`drop_grey`) and the reflection's height in it
    (:func:`spot_height`)."""
    x = torch.from_numpy(crops.astype(np.float32)).unsqueeze(1)
    dark = (x < 128).float()
    boundary = (dark * F.max_pool2d(1 - dark, 3, stride=1, padding=1)).flatten(1).sum(1)  # dark px by a light one
    band = outline_band(x / 255.0)
    grey = ((x > 60) & (x < 230) & band).flatten(1).sum(1).float()
    spot = reflection_mask(x / 255.0, level=128 / 255)
    interior, rim = drop_grey(x)
    return {"edge_width": (grey / boundary.clamp_min(1)).numpy().astype(np.float64),
            "interior": interior, "rim": rim, "spot_height": spot_height(x, spot),
            "spot": spot.flatten(1).sum(1).numpy().astype(np.float64),
            "spot_sat": ((x >= 250) & spot).flatten(1).sum(1).numpy().astype(np.float64)}


def real_angles(folder: Path) -> tuple[np.ndarray, np.ndarray] | None:
    path = folder / "result.csv"
    if not path.is_file():
        return None
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    adv = np.array([float(r["adv (degree)"]) for r in rows])
    rec = np.array([float(r["rec (degree)"]) for r in rows])
    return adv, rec


# ----------------------------------------------------------------------------- PCA


def to_float(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames.reshape(len(frames), -1)).to(torch.float32) / 255.0


class GramPCA:
    """Exact PCA from the eigendecomposition of the centred Gram matrix (N << D)."""

    def __init__(self, x: torch.Tensor, k_max: int):
        self.mean = x.mean(0, keepdim=True)
        xc = x - self.mean
        gram = (xc @ xc.T).double()
        evals, evecs = torch.linalg.eigh(gram)
        order = torch.argsort(evals, descending=True)[:k_max]
        evals, evecs = evals[order].clamp_min(1e-12), evecs[:, order]
        comps = (xc.T.double() @ evecs) / evals.sqrt()  # (D, k) orthonormal columns
        self.components = comps.to(torch.float32)

    def psnr(self, x: torch.Tensor, k: int) -> np.ndarray:
        v = self.components[:, :k]
        xc = x - self.mean
        rec = (self.mean + (xc @ v) @ v.T).clamp(0.0, 1.0)
        mse = (rec - x).pow(2).mean(1).clamp_min(1e-10)
        return (10 * torch.log10(1.0 / mse)).numpy()


# ----------------------------------------------------------------------------- one generator


def evaluate(mod: ModuleType, overrides: dict, args, real: np.ndarray | None, ks: list[int]) -> dict:
    t0 = time.perf_counter()
    base = {"frames_per_sequence": args.frames, "seed": args.seed}
    base.update(overrides)
    cfg_train = mod.SynthConfig(n_sequences=args.train_sequences, **base)
    cfg_val = mod.SynthConfig(n_sequences=args.val_sequences, **{**base, "seed": args.seed + 1000})
    t_render = time.perf_counter()
    train = mod.generate_in_memory(cfg_train, "crop")
    t_render = time.perf_counter() - t_render
    val = mod.generate_in_memory(cfg_val, "crop")
    strips = mod.generate_in_memory(mod.SynthConfig(n_sequences=args.stats_sequences, **base), "strip")
    sel = np.arange(0, len(strips.frames), max(args.frames // 4, 1))  # 4 frames per sequence
    syn_stats = frame_stats(strips.frames[sel][:, -REAL_ROWS:])
    adv = np.array([r["adv_angle_deg"] for r in strips.metadata["frames"]])
    rec = np.array([r["rec_angle_deg"] for r in strips.metadata["frames"]])

    torch.manual_seed(0)
    pca = GramPCA(to_float(train.frames), max(ks))
    xv = to_float(val.frames)
    res = {"cfg": cfg_train, "stats": syn_stats, "adv": adv, "rec": rec, "render_s": t_render,
           "n_train": len(train.frames), "n_val": len(val.frames),
           "examples": val.frames[np.linspace(0, len(val.frames) - 1, 4).astype(int) // args.frames * args.frames
                                  + args.frames // 2]}
    for k in ks:
        res[f"val{k}"] = float(pca.psnr(xv, k).mean())
        if real is not None:
            crops = np.stack([real_crop(f, cfg_train.crop_size) for f in real])
            res[f"real{k}"] = float(pca.psnr(to_float(crops), k).mean())
    res["crop_stats"] = crop_stats(val.frames)
    res["seconds"] = time.perf_counter() - t0
    return res


# ----------------------------------------------------------------------------- report


def fmt_dist(a: np.ndarray, nd: int = 0) -> str:
    a = np.asarray(a)[~np.isnan(a)]
    if len(a) == 0:
        return "—"
    q = np.percentile(a, [0, 50, 100])
    return f"{q[1]:.{nd}f} ({q[0]:.{nd}f}–{q[2]:.{nd}f})"


def table(columns: list[tuple[str, dict]], real_stats: dict | None, angles, ks: list[int]) -> str:
    head = "| quantity | real frames | " + " | ".join(name for name, _ in columns) + " |"
    lines = [head, "|" + " --- |" * (2 + len(columns))]

    def row(label, real_val, fn):
        lines.append(f"| {label} | {real_val} | " + " | ".join(fn(r) for _, r in columns) + " |")

    for k in ks:
        row(f"PCA-{k} PSNR, synthetic val dB", "—", lambda r, k=k: f"{r[f'val{k}']:.2f}")
        if real_stats is not None:
            row(f"PCA-{k} PSNR, real crops dB", "—", lambda r, k=k: f"{r[f'real{k}']:.2f}")
            row(f"**PCA-{k} gap (val − real) dB**", "—",
                lambda r, k=k: f"**{r[f'val{k}'] - r[f'real{k}']:.2f}**")
    rs = real_stats or {}
    for key, label, nd in (("height", "drop height px, median (min–max)", 0),
                           ("area", "drop area px (pixels < 128)", 0),
                           ("contact", "contact length px (2 rows above baseline)", 0)):
        row(label, fmt_dist(rs[key], nd) if rs else "—", lambda r, key=key, nd=nd: fmt_dist(r["stats"][key], nd))
    for key, label in (("dark", "dark fraction (≤ 60), bottom 130 rows"),
                       ("edge", "edge fraction (61–229)"), ("white", "white fraction (≥ 230)")):
        row(label, f"{rs[key].mean():.4f}" if rs else "—", lambda r, key=key: f"{r['stats'][key].mean():.4f}")
    rc = real_stats.get("crops") if real_stats else None
    for key, label, nd in (("edge_width", "edge width (grey px per outline px), crops", 2),
                           ("spot", "reflection px (≥ 128 inside the drop), crops", 0),
                           ("spot_sat", "saturated reflection px (≥ 250), crops", 0),
                           ("interior", "drop interior grey (≥ 12 px inside), crops", 0),
                           ("rim", "drop rim grey (2–6 px inside the outline), crops", 0),
                           ("spot_height", "reflection height / drop height, crops", 2)):
        row(label, fmt_dist(rc[key], nd) if rc else "—", lambda r, key=key, nd=nd: fmt_dist(r["crop_stats"][key], nd))
    ra = angles
    row("advancing angle °, median (min–max)", fmt_dist(ra[0]) if ra else "—", lambda r: fmt_dist(r["adv"]))
    row("receding angle °, median (min–max)", fmt_dist(ra[1]) if ra else "—", lambda r: fmt_dist(r["rec"]))
    row("render s (train crops)", "—", lambda r: f"{r['render_s']:.1f}")
    return "\n".join(lines)


def save_figure(path: str, real_crops: np.ndarray | None, columns: list[tuple[str, dict]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = ([("real", real_crops[np.linspace(0, len(real_crops) - 1, 4).astype(int)])]
            if real_crops is not None else [])
    rows += [(f"synthetic: {name}", r["examples"]) for name, r in columns]
    fig, axes = plt.subplots(len(rows), 4, figsize=(6.4, 1.7 * len(rows)), squeeze=False)
    for i, (label, imgs) in enumerate(rows):
        for j in range(4):
            ax = axes[i, j]
            ax.imshow(imgs[j], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[i, 0].set_ylabel(label, fontsize=7)
    fig.tight_layout(pad=0.3)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="write the markdown table here (default: print only)")
    ap.add_argument("--real-dir", help="folder of the real frames (default: ../shared/data/droplet_frames "
                    "or /work/shared/data/droplet_frames)")
    ap.add_argument("--train-sequences", type=int, default=48)
    ap.add_argument("--val-sequences", type=int, default=16)
    ap.add_argument("--stats-sequences", type=int, default=32)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="SynthConfig override for the current generator")
    ap.add_argument("--before-file", help="a single-file synth.py to evaluate as the 'before' column (the "
                    "generator was one file until 2026-12-01; since then it is the package aecnn/data/synth/: for a "
                    "later 'before', run this script in a worktree of that commit instead)")
    ap.add_argument("--before-set", action="append", default=[], metavar="FIELD=VALUE",
                    help="SynthConfig override for the 'before' column")
    ap.add_argument("--figure", help="save example crops (real + each column) to this PNG")
    args = ap.parse_args(argv)

    torch.set_num_threads(max(torch.get_num_threads(), 1))
    real_dir = find_real_dir(args.real_dir)
    real = real_stats = angles = None
    if real_dir is None:
        print("real frames not found (../shared/data/droplet_frames, /work/shared/data/droplet_frames): "
              "reporting synthetic numbers only")
    else:
        real = load_real(real_dir)
        real_stats = frame_stats(real[:, -REAL_ROWS:])
        real_stats["crops"] = crop_stats(np.stack([real_crop(f, (201, 201)) for f in real]))
        angles = real_angles(real_dir)

    columns: list[tuple[str, dict]] = []
    if args.before_file or args.before_set:
        mod = load_synth(args.before_file)
        columns.append(("before", evaluate(mod, parse_sets(args.before_set, mod.SynthConfig), args, real, args.k)))
    mod = load_synth(None)
    columns.append(("current" if columns else "synthetic",
                    evaluate(mod, parse_sets(args.set, mod.SynthConfig), args, real, args.k)))

    env = (f"torch {torch.__version__}, numpy {np.__version__}, Python {platform.python_version()}, "
           f"{torch.get_num_threads()} threads; PCA fitted on {columns[-1][1]['n_train']} synthetic crops "
           f"({args.train_sequences} seq x {args.frames}, seed {args.seed}), val {columns[-1][1]['n_val']} "
           f"crops (seed {args.seed + 1000}), real: {len(real) if real is not None else 0} frames")
    text = table(columns, real_stats, angles, args.k)
    text += "\n\n" + env + "; seconds per column: " + ", ".join(
        f"{n} {r['seconds']:.0f}" for n, r in columns) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    if args.figure:
        rc = (np.stack([real_crop(f, columns[-1][1]["cfg"].crop_size) for f in real]) if real is not None
              else None)
        save_figure(args.figure, rc, columns)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
