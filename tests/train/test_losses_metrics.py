"""Losses (single, mixes, SSIM, information bottleneck) and per-image PSNR/SSIM."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from aecnn.train.losses import ReconstructionLoss, information_bottleneck, parse_loss_spec
from aecnn.train.metrics import MetricSums, psnr, ssim


@pytest.fixture
def pair():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(4, 1, 32, 32, generator=g)
    pred = (target + 0.1 * torch.randn(4, 1, 32, 32, generator=g)).clamp(0, 1)
    return pred, target


def test_parse_spec():
    assert parse_loss_spec("mse") == [("mse", 1.0)]
    assert parse_loss_spec("mse:0.8, ssim:0.2") == [("mse", 0.8), ("ssim", 0.2)]
    for bad in ("", "mse:-1", "mse:x", "mse,mse", "ssim:0"):
        with pytest.raises(ValueError):
            parse_loss_spec(bad)


def test_single_losses(pair):
    pred, target = pair
    assert torch.allclose(ReconstructionLoss("mse")(pred, target)[0], F.mse_loss(pred, target))
    assert torch.allclose(ReconstructionLoss("l1")(pred, target)[0], F.l1_loss(pred, target))
    ssim_loss = ReconstructionLoss("ssim")(pred, target)[0]
    assert torch.allclose(ssim_loss, 1 - ssim(pred, target).mean(), atol=1e-5)
    assert ReconstructionLoss("ssim")(target, target)[0].abs() < 1e-5


def test_mix_is_weighted_sum_and_differentiable(pair):
    pred, target = pair
    pred = pred.clone().requires_grad_(True)
    total, parts = ReconstructionLoss("mse:0.8,ssim:0.2")(pred, target)
    assert torch.allclose(total, 0.8 * parts["mse"] + 0.2 * parts["ssim"], atol=1e-6)
    total.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()


def test_bf16_inputs_are_upcast(pair):
    pred, target = pair
    total, _ = ReconstructionLoss("mse:1,ssim:1")(pred.bfloat16(), target)
    assert total.dtype == torch.float32


def test_information_bottleneck(pair):
    pred, target = pair
    z = torch.full((4, 8), 2.0)
    assert information_bottleneck(z).item() == pytest.approx(2.0)  # 0.5 * 2**2
    total, parts = ReconstructionLoss("mse", ib_weight=0.1)(pred, target, z)
    assert total.item() == pytest.approx(parts["mse"].item() + 0.2, rel=1e-5)
    with pytest.raises(ValueError, match="latent"):
        ReconstructionLoss("mse", ib_weight=0.1)(pred, target)


def test_psnr_known_value():
    target = torch.zeros(2, 1, 8, 8)
    pred = torch.full((2, 1, 8, 8), 0.1)  # mse 0.01 -> 20 dB
    assert torch.allclose(psnr(pred, target), torch.tensor([20.0, 20.0]))
    assert psnr(target, target).max() <= 100.0  # capped, finite


def test_ssim_per_image(pair):
    pred, target = pair
    s = ssim(pred, target)
    assert s.shape == (4,) and (s < 1).all()
    assert torch.allclose(ssim(target, target), torch.ones(4), atol=1e-5)


def test_metric_sums_average_over_images(pair):
    pred, target = pair
    m = MetricSums()
    m.update(pred[:1], target[:1], loss=1.0)
    m.update(pred[1:], target[1:], loss=3.0)  # 3 images
    out = m.means()
    assert out["count"] == 4 and out["loss"] == pytest.approx((1 + 9) / 4)
    assert out["psnr"] == pytest.approx(psnr(pred, target).mean().item(), rel=1e-6)
    assert math.isnan(MetricSums().means()["psnr"])
