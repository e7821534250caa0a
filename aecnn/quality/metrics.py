"""The quality benchmark's metrics: the shared ones in :mod:`aecnn.metrics` (PSNR, SSIM by
pytorch-msssim, PSNR inside the drop's outline band)."""
from __future__ import annotations

from aecnn.metrics import MAX_PSNR, band_psnr, image_metrics, outline_band, psnr, ssim

__all__ = ["MAX_PSNR", "band_psnr", "image_metrics", "outline_band", "psnr", "ssim"]
