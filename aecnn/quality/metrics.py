"""Image-quality metrics for reconstructions: PSNR, SSIM and PSNR inside the drop's outline band.

All functions take ``(B, 1, H, W)`` tensors in [0, 1] (the prediction is clamped to the data
range first, so a model without an output activation is judged like one with a sigmoid) and
return one value per image, ``(B,)``, in float32. Pure torch, so they run wherever the model
runs (no pytorch-msssim needed on the GPU machine).

The outline band is where the physics is: the contact line and the drop's silhouette. It is
taken from the TARGET image::

    target -> (target < threshold) = dark mask m -> band = dilate(m, r) - erode(m, r)

so it holds the pixels within ``r`` px of a dark/light boundary (the drop's outline, both
edges of the baseline, dark dust specks), computed with max-pooling.
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
def psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0,
         cap: float | None = MAX_PSNR) -> torch.Tensor:
    """PSNR in dB per image, ``(B,)``; identical images give ``cap`` (``+inf`` when ``cap=None``)."""
    _check(pred, target)
    p = pred.float().clamp(0.0, data_range)
    mse = (p - target.float()).pow(2).flatten(1).mean(1)
    return _psnr_from_mse(mse, data_range, cap)


def _gaussian_window(size: int, sigma: float, device: torch.device) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    return g / g.sum()


@torch.no_grad()
def ssim(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0, win_size: int = 11,
         sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> torch.Tensor:
    """SSIM per image, ``(B,)`` (Wang et al. 2004: Gaussian window 11, sigma 1.5, valid filtering,
    the definition pytorch-msssim's ``ssim`` uses; mean over channels and positions)."""
    _check(pred, target)
    if min(pred.shape[-2:]) < win_size:
        raise ValueError(f"images must be at least {win_size}x{win_size} for SSIM, got {tuple(pred.shape[-2:])}")
    x = pred.float().clamp(0.0, data_range)
    y = target.float()
    c = x.shape[1]
    g = _gaussian_window(win_size, sigma, x.device)
    gh = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    gv = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, gh, groups=c), gv, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x ** 2
    syy = blur(y * y) - mu_y ** 2
    sxy = blur(x * y) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    lum = (2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1)
    return (lum * cs).flatten(1).mean(1)


@torch.no_grad()
def outline_band(target: torch.Tensor, radius: int = 3, threshold: float = 0.5) -> torch.Tensor:
    """Boolean mask ``(B, 1, H, W)`` of pixels within ``radius`` px of a dark/light boundary of
    ``target`` (dark = below ``threshold``): morphological gradient, dilate minus erode.

    Raises:
        ValueError: if ``radius`` < 1.
    """
    if radius < 1:
        raise ValueError(f"radius must be >= 1, got {radius}")
    dark = (target.float() < threshold).float()
    k = 2 * radius + 1
    dilated = F.max_pool2d(dark, k, stride=1, padding=radius)
    eroded = -F.max_pool2d(-dark, k, stride=1, padding=radius)
    return (dilated - eroded) > 0.5


@torch.no_grad()
def band_psnr(pred: torch.Tensor, target: torch.Tensor, radius: int = 3, threshold: float = 0.5,
              data_range: float = 1.0, cap: float | None = MAX_PSNR) -> torch.Tensor:
    """PSNR per image over the :func:`outline_band` pixels of ``target``, ``(B,)``; NaN for an
    image without any boundary."""
    _check(pred, target)
    mask = outline_band(target, radius, threshold).float()
    err = (pred.float().clamp(0.0, data_range) - target.float()).pow(2) * mask
    n = mask.flatten(1).sum(1)
    mse = err.flatten(1).sum(1) / n.clamp_min(1.0)
    out = _psnr_from_mse(mse, data_range, cap)
    return torch.where(n > 0, out, torch.full_like(out, math.nan))


@torch.no_grad()
def image_metrics(pred: torch.Tensor, target: torch.Tensor, radius: int = 3) -> dict[str, torch.Tensor]:
    """``{"psnr", "ssim", "band_psnr"}``, each ``(B,)``."""
    return {"psnr": psnr(pred, target), "ssim": ssim(pred, target),
            "band_psnr": band_psnr(pred, target, radius=radius)}
