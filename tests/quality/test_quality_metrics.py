"""PSNR, SSIM and the outline band on cases with known answers."""
from __future__ import annotations

import math

import pytest
import torch

from aecnn.quality import MAX_PSNR, band_psnr, outline_band, psnr, ssim


def _square(h: int = 64, w: int = 80) -> torch.Tensor:
    """Bright image with a dark square at rows 20..39, cols 30..49."""
    x = torch.ones(1, 1, h, w)
    x[..., 20:40, 30:50] = 0.05
    return x


def test_psnr_identical_is_capped_or_inf():
    x = torch.rand(3, 1, 32, 32)
    assert torch.all(psnr(x, x) == MAX_PSNR)
    assert torch.all(torch.isinf(psnr(x, x, cap=None)))


def test_psnr_known_value():
    x = torch.full((2, 1, 16, 16), 0.5)
    assert torch.allclose(psnr(x + 0.1, x), torch.full((2,), 20.0), atol=1e-4)  # MSE 0.01
    assert torch.allclose(psnr(x + 0.01, x), torch.full((2,), 40.0), atol=1e-3)


def test_psnr_clamps_prediction():
    x = torch.ones(1, 1, 8, 8)
    assert psnr(x + 5.0, x).item() == MAX_PSNR  # clamped to the data range first


def test_ssim_identical_and_degraded():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 48, 48)
    assert torch.allclose(ssim(x, x), torch.ones(2), atol=1e-5)
    noisy = (x + 0.2 * torch.randn_like(x)).clamp(0, 1)
    assert torch.all(ssim(noisy, x) < 0.9)


def test_ssim_matches_pytorch_msssim():
    ref = pytest.importorskip("pytorch_msssim")
    torch.manual_seed(1)
    x = torch.rand(3, 1, 40, 56)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    assert torch.allclose(ssim(y, x), ref.ssim(y, x, data_range=1.0, size_average=False), atol=1e-5)


def test_band_location():
    band = outline_band(_square(), radius=2)[0, 0]
    col = band[:, 40]  # a column through the square's middle
    assert col.nonzero().flatten().tolist() == [18, 19, 20, 21, 38, 39, 40, 41]
    assert not band[30, 40]  # deep inside the drop
    assert not band[5, 5]  # far out in the background
    assert band[30, 28] and band[30, 31] and not band[30, 27] and not band[30, 32]  # left edge


def test_band_psnr_only_sees_the_band():
    target = _square()
    far = target.clone()
    far[..., 2, 2] = 0.0  # error far from the outline
    assert band_psnr(far, target).item() == MAX_PSNR
    assert psnr(far, target).item() < MAX_PSNR
    near = target.clone()
    near[..., 19, 40] = 0.5  # error on the outline
    assert band_psnr(near, target).item() < psnr(near, target).item()


def test_band_psnr_without_outline_is_nan():
    x = torch.ones(2, 1, 32, 32)
    assert all(math.isnan(v) for v in band_psnr(x * 0.9, x).tolist())


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        psnr(torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 9))
    with pytest.raises(ValueError, match="radius"):
        outline_band(torch.rand(1, 1, 8, 8), radius=0)


def test_reflection_mask_finds_bright_pixels_inside_a_dark_drop():
    from aecnn.metrics import reflection_mask

    img = torch.ones(1, 1, 60, 80)
    img[:, :, 10:50, 10:60] = 0.05  # the drop
    img[:, :, 28:31, 30:34] = 1.0  # its reflection: 12 bright pixels
    mask = reflection_mask(img)[0, 0]
    assert mask.sum() == 12 and mask[28:31, 30:34].all()  # the background, also bright, is not inside
    grown = reflection_mask(img, grow=2)[0, 0]
    assert grown.sum() == (3 + 4) * (4 + 4) and not grown[:, :25].any()
    assert not reflection_mask(torch.ones(1, 1, 30, 30)).any()
    with pytest.raises(ValueError, match="window"):
        reflection_mask(img, window=4)
