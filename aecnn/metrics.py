"""Image-quality metrics shared by training, reconstruction and the quality benchmark.

All functions take ``(B, 1, H, W)`` tensors with data range 1 and return one float32 value per
image, ``(B,)``. The prediction is clamped to [0, 1] first, so a model without an output
activation is judged as its saved PNG would be. SSIM is pytorch-msssim's (Wang et al. 2004:
Gaussian window 11, sigma 1.5).

The outline band is where the physics is, the contact line and the drop's silhouette. It is taken
from the target: ``band = dilate(dark, r) - erode(dark, r)`` with ``dark = target < threshold``,
i.e. the pixels within ``r`` px of a dark/light boundary, computed with max-pooling.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

MAX_PSNR = 100.0  # dB for a perfect reconstruction, so that means stay finite


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape or pred.ndim != 4:
        raise ValueError(f"pred and target must both be (B, C, H, W) of one shape, got {tuple(pred.shape)} "
                         f"and {tuple(target.shape)}")


def _psnr_from_mse(mse: torch.Tensor, data_range: float, cap: float | None) -> torch.Tensor:
    out = 10.0 * torch.log10(data_range ** 2 / mse)  # mse == 0 -> +inf
    return out.clamp(max=cap) if cap is not None else out


@torch.no_grad()
def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image of the clamped prediction, ``(B,)``."""
    _check(pred, target)
    return (pred.float().clamp(0.0, 1.0) - target.float()).pow(2).flatten(1).mean(1)


@torch.no_grad()
def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0,
         cap: float | None = MAX_PSNR) -> torch.Tensor:
    """PSNR in dB per image, ``(B,)``; identical images give ``cap`` (``+inf`` when ``cap=None``)."""
    _check(pred, target)
    err = (pred.float().clamp(0.0, data_range) - target.float()).pow(2).flatten(1).mean(1)
    return _psnr_from_mse(err, data_range, cap)


@torch.no_grad()
def ssim(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """SSIM per image, ``(B,)``, by pytorch-msssim (images of at least 11x11)."""
    from pytorch_msssim import ssim as _ssim

    _check(pred, target)
    if min(pred.shape[-2:]) < 11:
        raise ValueError(f"images must be at least 11x11 for SSIM, got {tuple(pred.shape[-2:])}")
    x = pred.float().clamp(0.0, data_range)
    return _ssim(x, target.float(), data_range=data_range, size_average=False)


def dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Binary dilation of a 0/1 float ``mask`` ``(B, 1, H, W)`` by a square of ``radius`` px."""
    return F.max_pool2d(mask, 2 * radius + 1, stride=1, padding=radius)


def erode(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Binary erosion of a 0/1 float ``mask`` by a square of ``radius`` px (outside the image counts as
    neither, so a region touching the border is not eroded from it)."""
    return -F.max_pool2d(-mask, 2 * radius + 1, stride=1, padding=radius)


@torch.no_grad()
def outline_band(target: torch.Tensor, radius: int = 3, threshold: float = 0.5) -> torch.Tensor:
    """Boolean mask ``(B, 1, H, W)`` of pixels within ``radius`` px of a dark/light boundary of
    ``target`` (dark = below ``threshold``).

    Raises:
        ValueError: if ``radius`` < 1.
    """
    if radius < 1:
        raise ValueError(f"radius must be >= 1, got {radius}")
    dark = (target.float() < threshold).float()
    return (dilate(dark, radius) - erode(dark, radius)) > 0.5


def reflection_mask(target: torch.Tensor, level: float = 100 / 255, threshold: float = 0.5, window: int = 21,
                    dark_share: float = 0.7, grow: int = 0) -> torch.Tensor:
    """Boolean mask ``(B, 1, H, W)`` of bright pixels inside a dark region of ``target``: pixels at
    least ``level`` whose ``window`` x ``window`` neighbourhood is at least ``dark_share`` dark (below
    ``threshold``), i.e. a drop's specular reflection spots; then dilated by ``grow`` px."""
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd number, got {window}")
    x = target.float()
    dark = (x < threshold).float()
    inside = F.avg_pool2d(dark, window, stride=1, padding=window // 2, count_include_pad=False) >= dark_share
    mask = ((x >= level) & inside).float()
    if grow > 0:
        mask = F.max_pool2d(mask, 2 * grow + 1, stride=1, padding=grow)
    return mask > 0.5


@torch.no_grad()
def band_psnr(pred: torch.Tensor, target: torch.Tensor, radius: int = 3, threshold: float = 0.5,
              data_range: float = 1.0, cap: float | None = MAX_PSNR) -> torch.Tensor:
    """PSNR per image over the :func:`outline_band` pixels of ``target``, ``(B,)``; NaN for an
    image without any boundary."""
    _check(pred, target)
    mask = outline_band(target, radius, threshold).float()
    err = (pred.float().clamp(0.0, data_range) - target.float()).pow(2) * mask
    n = mask.flatten(1).sum(1)
    out = _psnr_from_mse(err.flatten(1).sum(1) / n.clamp_min(1.0), data_range, cap)
    return torch.where(n > 0, out, torch.full_like(out, math.nan))


@torch.no_grad()
def image_metrics(pred: torch.Tensor, target: torch.Tensor, radius: int = 3) -> dict[str, torch.Tensor]:
    """``{"mse", "psnr", "ssim", "band_psnr"}``, each ``(B,)``."""
    return {"mse": mse(pred, target), "psnr": psnr(pred, target), "ssim": ssim(pred, target),
            "band_psnr": band_psnr(pred, target, radius=radius)}
