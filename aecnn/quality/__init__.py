"""Quality benchmark: reconstruction metrics and the comparison against PCA, V1 and the seed's
bottleneck (``aecnn eval-quality``, ``benchmarks/quality.py``)."""
from __future__ import annotations

from aecnn.quality.metrics import MAX_PSNR, band_psnr, image_metrics, outline_band, psnr, ssim

__all__ = ["MAX_PSNR", "band_psnr", "image_metrics", "outline_band", "psnr", "ssim"]
