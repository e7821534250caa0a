"""Figures written during training: reconstruction grid, loss curve, attention figure.

matplotlib runs on the Agg backend (no display needed); every PNG is written atomically.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    from aecnn.io import atomic_write

    plt = _plt()
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight"))
    finally:
        plt.close(fig)


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().cpu().clamp(0, 1).numpy()


def save_recon_grid(path: str | Path, inputs: torch.Tensor, recons: torch.Tensor,
                    labels: Sequence[str] | None = None, title: str = "") -> Path:
    """Input, reconstruction and absolute error of each image, with its PSNR.

    Square-ish images go in columns (3 rows x n); wide strips are stacked (3n rows x 1).

    Args:
        inputs, recons: ``(n, 1, H, W)`` in [0, 1] (recons are clamped).
        labels: one caption per image (e.g. ``seq_003 #12``).
    """
    from aecnn.train.metrics import psnr

    plt = _plt()
    n = inputs.shape[0]
    h, w = inputs.shape[-2:]
    x, y = _np(inputs[:, 0]), _np(recons[:, 0])
    err = np.abs(x - y)
    vmax = max(float(err.max()), 1e-3)
    scores = psnr(recons, inputs).tolist()
    wide = w > 2 * h
    rows, cols = (3 * n, 1) if wide else (3, n)
    cell_w = 12.0 if wide else 2.0
    cell_h = cell_w * h / w + 0.3  # image + its title
    fig, axes = plt.subplots(rows, cols, figsize=(cell_w * cols, cell_h * rows + 0.4), squeeze=False,
                             layout="constrained")
    for i in range(n):
        cells = (axes[3 * i, 0], axes[3 * i + 1, 0], axes[3 * i + 2, 0]) if wide else (axes[0, i], axes[1, i], axes[2, i])
        label = labels[i] if labels is not None else f"#{i}"
        cells[0].imshow(x[i], cmap="gray", vmin=0, vmax=1)
        cells[0].set_title(f"input {label}", fontsize=8)
        cells[1].imshow(y[i], cmap="gray", vmin=0, vmax=1)
        cells[1].set_title(f"recon {scores[i]:.1f} dB", fontsize=8)
        cells[2].imshow(err[i], cmap="magma", vmin=0, vmax=vmax)
        cells[2].set_title(f"|error| (0-{vmax:.2f})", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def save_loss_curve(path: str | Path, history: Sequence[dict[str, Any]]) -> Path:
    """Train/val loss (log scale) and val PSNR/SSIM per epoch, from the metrics rows."""
    plt = _plt()
    ep = [r["epoch"] for r in history]

    def col(key: str) -> list[float]:
        return [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in history]

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    ax1.plot(ep, col("train_loss"), "o-", label="train", ms=3)
    if any(math.isfinite(v) for v in col("val_loss")):
        ax1.plot(ep, col("val_loss"), "s-", label="validation", ms=3)
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.grid(alpha=0.3, which="both")
    ax1.legend()
    ax2.plot(ep, col("val_psnr"), "o-", color="tab:green", ms=3)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("val PSNR (dB)", color="tab:green")
    ax2.grid(alpha=0.3)
    ax3 = ax2.twinx()
    ax3.plot(ep, col("val_ssim"), "s--", color="tab:purple", ms=3)
    ax3.set_ylabel("val SSIM", color="tab:purple")
    return _save(fig, path)


@torch.no_grad()
def save_attention_figure(path: str | Path, model: torch.nn.Module, x: torch.Tensor,
                          labels: Sequence[str] | None = None) -> Path:
    """Input, reconstruction, bottleneck attention matrix and saliency overlay per image.

    Args:
        model: an :class:`~aecnn.models.AutoEncoder_CNNV3` (eval mode is used and restored).
        x: ``(n, 1, H, W)`` images on the model's device.
    """
    plt = _plt()
    was_training = model.training
    model.eval()
    try:
        recon = model(x)
        attn = model.get_attention_matrix(x)  # (n, N, N) or None
        sal = model.get_attention_map(x)  # (n, 1, H, W)
    finally:
        model.train(was_training)
    n = x.shape[0]
    h, w = x.shape[-2:]
    wide = w > 2 * h
    grid = tuple(model.plan.grid)
    img_w = 7.0 if wide else 2.6
    if wide:  # input, reconstruction, saliency stacked; the attention matrix beside them
        row_h = img_w * h / w + 0.35
        fig = plt.figure(figsize=(img_w + 3.6, 3 * n * row_h), layout="constrained")
        gs = fig.add_gridspec(3 * n, 2, width_ratios=[img_w, 3.6])
    else:
        fig = plt.figure(figsize=(4 * img_w + 0.6, 2.9 * n), layout="constrained")
        gs = fig.add_gridspec(n, 4)
    xs, rs = _np(x[:, 0]), _np(recon[:, 0])
    for i in range(n):
        label = labels[i] if labels is not None else f"#{i}"
        if wide:
            a_in, a_rec, a_sal = (fig.add_subplot(gs[3 * i + k, 0]) for k in range(3))
            a_att = fig.add_subplot(gs[3 * i:3 * i + 3, 1])
        else:
            a_in, a_rec, a_att, a_sal = (fig.add_subplot(gs[i, k]) for k in range(4))
        a_in.imshow(xs[i], cmap="gray", vmin=0, vmax=1)
        a_in.set_title(f"input {label}", fontsize=8)
        a_rec.imshow(rs[i], cmap="gray", vmin=0, vmax=1)
        a_rec.set_title("reconstruction", fontsize=8)
        if attn is not None:
            im = a_att.imshow(attn[i].float().cpu().numpy(), cmap="viridis")
            a_att.set_title(f"attention {grid[0]}x{grid[1]} grid\n(row: query, col: key)", fontsize=8)
            fig.colorbar(im, ax=a_att, fraction=0.046, pad=0.04)
        else:
            a_att.text(0.5, 0.5, "attention off", ha="center", va="center")
        s = sal[i, 0].float().cpu().numpy()
        s = s / max(float(np.percentile(s, 99.5)), 1e-12)
        a_sal.imshow(xs[i], cmap="gray", vmin=0, vmax=1)
        a_sal.imshow(np.clip(s, 0, 1), cmap="inferno", alpha=0.55)
        a_sal.set_title("saliency |d loss / d pixel|", fontsize=8)
    for ax in fig.axes:
        if ax.get_label() != "<colorbar>":
            ax.set_xticks([])
            ax.set_yticks([])
    return _save(fig, path)
