"""One figure that shows what a model does with an image and where it attends.

::

    x (H,W) -> model(x) -> reconstruction
            -> get_attention_matrix(x) -> (N,N) over the bottleneck grid (gh,gw), N = gh*gw
            -> row `query` of it -> (gh,gw) -> drawn over the input (each cell covers the
               padded image / grid; the query cell is outlined)
            -> get_attention_map(x) -> |d MSE / d x| saliency overlaid on the input

Panels: input, reconstruction, [attention matrix], [saliency overlay], [attention from the query].
Square-ish images sit side by side; wide strips (width > 2 x height) are stacked in rows with
the matrix beside them, so a 152x1280 strip stays readable. Models without attention get the
first panels only (the log says why).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from aecnn.models.geometry import ceil_to

logger = logging.getLogger(__name__)


def as_image_batch(x: Any) -> torch.Tensor:
    """``(H, W)``, ``(1, H, W)``, ``(B, 1, H, W)`` tensor or array -> ``(1, 1, H, W)`` float32 (first item)."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim == 2:
        t = t[None, None]
    elif t.ndim == 3:
        t = t[None]
    if t.ndim != 4 or t.shape[1] != 1:
        raise ValueError(f"expected an image (H, W), (1, H, W) or (B, 1, H, W), got shape {tuple(t.shape)}")
    return t[:1].float()


@dataclass
class AttentionResult:
    """Everything the figure shows, as numpy arrays (no batch dimension).

    Attributes:
        image: ``(H, W)`` input.
        recon: ``(H, W)`` reconstruction, clamped to [0, 1].
        saliency: ``(H, W)`` |d MSE / d x|.
        matrix: ``(N, N)`` attention weights (rows sum to 1) or ``None`` without attention.
        grid: ``(gh, gw)`` bottleneck grid.
        cover: ``(Hp, Wp)`` padded image size the grid spans.
        query: flat index of the query position.
    """

    image: np.ndarray
    recon: np.ndarray
    saliency: np.ndarray
    matrix: np.ndarray | None
    grid: tuple[int, int]
    cover: tuple[int, int]
    query: int

    @property
    def query_map(self) -> np.ndarray | None:
        """``(gh, gw)`` attention of the query position over all positions."""
        return None if self.matrix is None else self.matrix[self.query].reshape(self.grid)


def _resolve_query(query: int | tuple[int, int] | None, grid: tuple[int, int], saliency: np.ndarray,
                   cover: tuple[int, int]) -> int:
    gh, gw = grid
    if query is None:  # the grid cell where the reconstruction is most sensitive
        padded = np.zeros(cover, np.float32)
        padded[: saliency.shape[0], : saliency.shape[1]] = saliency
        cells = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(padded)[None, None], grid)[0, 0]
        return int(cells.flatten().argmax())
    if isinstance(query, (tuple, list)):
        if len(query) != 2:
            raise ValueError(f"query must be a flat index or (row, col), got {query!r}")
        r, c = (int(v) for v in query)
        if not (0 <= r < gh and 0 <= c < gw):
            raise ValueError(f"query (row, col)=({r}, {c}) is outside the {gh}x{gw} bottleneck grid")
        return r * gw + c
    q = int(query)
    if not 0 <= q < gh * gw:
        raise ValueError(f"query index {q} is outside the {gh}x{gw} = {gh * gw} grid positions")
    return q


def compute_attention(model: torch.nn.Module, x: Any, query: int | tuple[int, int] | None = None) -> AttentionResult:
    """Run the model once and collect reconstruction, attention matrix and saliency.

    Args:
        model: an :class:`~aecnn.models.AutoEncoder_CNNV3`; run in eval mode (the running statistics,
            as inference uses them), then put back in the mode it was in.
        x: the image, see :func:`as_image_batch`; only the first item of a batch is used.
        query: grid position whose attention is drawn: flat index, ``(row, col)``, or
            ``None`` for the cell with the highest mean saliency.

    Raises:
        ValueError: bad image shape/size (from the model) or a query outside the grid.
    """
    dev = next(model.parameters()).device
    xb = as_image_batch(x).to(dev)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            recon = model(xb).float().clamp(0, 1)[0, 0].cpu().numpy()
        matrix = model.get_attention_matrix(xb)
        saliency = model.get_attention_map(xb)[0, 0].float().cpu().numpy()
    finally:
        model.train(was_training)
    grid = tuple(int(g) for g in model.plan.grid)
    m = model.plan.multiple
    cover = (ceil_to(xb.shape[-2], m), ceil_to(xb.shape[-1], m))
    q = _resolve_query(query, grid, saliency, cover)
    return AttentionResult(xb[0, 0].cpu().numpy(), recon, saliency,
                           None if matrix is None else matrix[0].float().cpu().numpy(), grid, cover, q)


def _show_image(fig, ax, img: np.ndarray, title: str) -> None:
    im = ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02, shrink=0.9)  # keeps the panels aligned
    cb.ax.tick_params(labelsize=7)


def _overlay(fig, ax, res: AttentionResult, values: np.ndarray, extent: tuple[float, ...], title: str,
             cmap: str, label: str) -> None:
    h, w = res.image.shape
    ax.imshow(res.image, cmap="gray", vmin=0, vmax=1, extent=(0, w, h, 0), interpolation="nearest")
    vmax = float(np.percentile(values, 99.5)) if values.size > 64 else float(values.max())
    im = ax.imshow(values, cmap=cmap, alpha=0.55, extent=extent, vmin=0, vmax=max(vmax, 1e-12),
                   interpolation="nearest")
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02, shrink=0.9)
    cb.set_label(label, fontsize=8)
    cb.ax.tick_params(labelsize=7)


def _query_panel(fig, ax, res: AttentionResult) -> None:
    from matplotlib.patches import Rectangle

    gh, gw = res.grid
    hp, wp = res.cover
    _overlay(fig, ax, res, res.query_map, (0, wp, hp, 0), f"attention from query cell {divmod(res.query, gw)} "
             f"(grid {gh}x{gw})", "viridis", "attention weight")
    r, c = divmod(res.query, gw)
    ch, cw = hp / gh, wp / gw
    ax.add_patch(Rectangle((c * cw, r * ch), cw, ch, fill=False, edgecolor="red", linewidth=1.5))


def _matrix_panel(fig, ax, res: AttentionResult) -> None:
    n = res.matrix.shape[0]
    im = ax.imshow(res.matrix, cmap="viridis", interpolation="nearest", aspect="equal")
    ax.axhline(res.query, color="red", linewidth=0.8, alpha=0.8)
    ax.set_title(f"self-attention ({n}x{n}, mean over heads)", fontsize=9)
    ax.set_xlabel("key position", fontsize=8)
    ax.set_ylabel("query position", fontsize=8)
    ax.tick_params(labelsize=7)
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02)
    cb.ax.tick_params(labelsize=7)


def attention_figure(res: AttentionResult, show_matrix: bool = True, show_heatmap: bool = True,
                     title: str | None = None):
    """The matplotlib Figure for a :class:`AttentionResult` (see the module docstring for the layout)."""
    from matplotlib.figure import Figure

    h, w = res.image.shape
    has_attn = res.matrix is not None
    image_panels = ["input", "recon"] + (["saliency"] if show_heatmap else []) + (["query"] if has_attn else [])
    matrix = show_matrix and has_attn
    wide = w > 2 * h
    if wide:
        pw = min(14.0, max(7.0, w / 90))
        ph = pw * h / w + 0.5
        fig = Figure(figsize=(pw + (4.5 if matrix else 1.2), max(len(image_panels) * ph, 4.0) + 0.6),
                     layout="constrained")
        gs = fig.add_gridspec(len(image_panels), 2 if matrix else 1, width_ratios=[pw, 4.0] if matrix else None)
        axes = [fig.add_subplot(gs[i, 0]) for i in range(len(image_panels))]
        max_ax = fig.add_subplot(gs[:, 1]) if matrix else None
    else:
        n = len(image_panels) + int(matrix)
        panel = 3.4
        fig = Figure(figsize=(n * panel + 0.8, panel * max(h / w, 0.6) + 1.0), layout="constrained")
        all_axes = list(fig.subplots(1, n, squeeze=False).ravel())
        max_ax = all_axes.pop(2) if matrix else None  # input | recon | matrix | saliency | query
        axes = all_axes
    for name, ax in zip(image_panels, axes):
        if name == "input":
            _show_image(fig, ax, res.image, f"input {h}x{w} (H x W)")
        elif name == "recon":
            mse = float(np.mean((res.image - res.recon) ** 2))
            psnr = 10 * np.log10(1 / mse) if mse > 0 else float("inf")
            _show_image(fig, ax, res.recon, f"reconstruction (PSNR {psnr:.2f} dB)")
        elif name == "saliency":
            _overlay(fig, ax, res, res.saliency, (0, w, h, 0), "saliency |d MSE / d input|", "jet", "saliency")
        else:
            _query_panel(fig, ax, res)
    if max_ax is not None:
        _matrix_panel(fig, max_ax, res)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def visualize_attention(model: torch.nn.Module, x: Any, save_path: str | os.PathLike | None = None,
                        show_matrix: bool = True, show_heatmap: bool = True,
                        query: int | tuple[int, int] | None = None, title: str | None = None):
    """Input, reconstruction, self-attention matrix, saliency overlay and the query's attention.

    Works for both latent strategies and any input size >= 32 (wide strips are laid out in rows).

    Args:
        model: an :class:`~aecnn.models.AutoEncoder_CNNV3`.
        x: one image: ``(H, W)``, ``(1, H, W)`` or ``(B, 1, H, W)`` (first item) in [0, 1].
        save_path: if given, the figure is also written there (atomically; format from the extension).
        show_matrix: include the ``N x N`` attention matrix panel.
        show_heatmap: include the saliency heatmap panel.
        query: grid position whose attention is drawn on the image: flat index or ``(row, col)``;
            default: the cell with the highest saliency.
        title: optional figure title.

    Returns:
        The :class:`matplotlib.figure.Figure`.

    Raises:
        ValueError: bad image or query.
    """
    res = compute_attention(model, x, query)
    if res.matrix is None:
        logger.info("model has no bottleneck attention (use_attention=False): showing input, "
                    "reconstruction and saliency only")
    fig = attention_figure(res, show_matrix, show_heatmap, title)
    if save_path is not None:
        from aecnn.inference.reconstruct import save_figure

        save_figure(fig, save_path, dpi=110)
    return fig


__all__ = ["AttentionResult", "as_image_batch", "attention_figure", "compute_attention", "visualize_attention"]
