"""Reconstruction losses, weighted mixes of them, and the information-bottleneck regulariser.

A loss spec is a comma-separated list of ``name[:weight]``: ``mse``, ``l1``,
``mse:0.8,ssim:0.2``. Every term is computed in float32 (inputs are upcast), whatever
the autocast dtype, because SSIM and squared errors of bf16 values lose too much.

The information-bottleneck term (``ib_weight > 0``) is ``ib_weight * 0.5 * mean(z**2)``
over the latent ``z``: the KL divergence of a unit-variance Gaussian centred on ``z`` from
the standard normal prior, up to a constant, i.e. an L2 pull of the latent towards 0 that
limits how much the code can carry.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES: dict[str, LossFn] = {}


def register_loss(name: str) -> Callable[[LossFn], LossFn]:
    """Decorator adding a ``(pred, target) -> scalar`` loss to :data:`LOSSES`."""
    def deco(fn: LossFn) -> LossFn:
        LOSSES[name] = fn
        return fn
    return deco


@register_loss("mse")
def mse_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(pred, target)


@register_loss("l1")
def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(pred, target)


@register_loss("ssim")
def ssim_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - SSIM`` (Gaussian window 11, data range 1; images of at least 11 px a side)."""
    from pytorch_msssim import ssim

    return 1.0 - ssim(pred, target, data_range=1.0, size_average=True)


@register_loss("msssim")
def msssim_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - MS-SSIM``; needs images of more than 160 px a side."""
    from pytorch_msssim import ms_ssim

    if min(pred.shape[-2:]) <= 160:
        raise ValueError(f"msssim needs images larger than 160 px a side, got {tuple(pred.shape[-2:])}; "
                         "use ssim instead")
    return 1.0 - ms_ssim(pred, target, data_range=1.0, size_average=True)


def parse_loss_spec(spec: str) -> list[tuple[str, float]]:
    """``"mse:0.8,ssim:0.2"`` -> ``[("mse", 0.8), ("ssim", 0.2)]``; a missing weight is 1.

    Raises:
        ValueError: unknown name, bad or negative weight, a repeated name, or an empty spec.
    """
    terms: list[tuple[str, float]] = []
    for part in str(spec).split(","):
        part = part.strip()
        if not part:
            continue
        name, _, weight = part.partition(":")
        name = name.strip().lower()
        if name not in LOSSES:
            raise ValueError(f"unknown loss {name!r} in {spec!r}; valid: {', '.join(LOSSES)} "
                             "(mix them as e.g. mse:0.8,ssim:0.2)")
        try:
            w = float(weight) if weight.strip() else 1.0
        except ValueError:
            raise ValueError(f"bad weight {weight!r} for loss {name!r} in {spec!r}") from None
        if not w >= 0:
            raise ValueError(f"loss weights must be >= 0, got {w} for {name!r}")
        if any(n == name for n, _ in terms):
            raise ValueError(f"loss {name!r} given twice in {spec!r}")
        terms.append((name, w))
    if not terms or not any(w > 0 for _, w in terms):
        raise ValueError(f"loss spec {spec!r} has no term with a positive weight")
    return terms


class ReconstructionLoss(nn.Module):
    """Weighted sum of reconstruction terms plus the optional information-bottleneck term.

    Args:
        spec: loss spec, see :func:`parse_loss_spec`.
        ib_weight: weight of ``0.5 * mean(z**2)``; 0 disables it.

    Call with ``(recon, target, latent=None)``; returns ``(total, parts)`` where ``parts``
    maps each term name (and ``"ib"``) to its unweighted detached value.
    """

    def __init__(self, spec: str = "mse", ib_weight: float = 0.0) -> None:
        super().__init__()
        self.terms = parse_loss_spec(spec)
        self.ib_weight = float(ib_weight)
        self.spec = spec

    def forward(self, recon: torch.Tensor, target: torch.Tensor,
                latent: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        recon, target = recon.float(), target.float()  # (B, 1, H, W)
        total = recon.new_zeros(())
        parts: dict[str, torch.Tensor] = {}
        for name, weight in self.terms:
            value = LOSSES[name](recon, target)
            parts[name] = value.detach()
            if weight:
                total = total + weight * value
        if self.ib_weight > 0:
            if latent is None:
                raise ValueError("ib_weight > 0 needs the latent")
            ib = information_bottleneck(latent)
            parts["ib"] = ib.detach()
            total = total + self.ib_weight * ib
        return total, parts


def information_bottleneck(latent: torch.Tensor) -> torch.Tensor:
    """``0.5 * mean(z**2)``: KL(N(z, 1) || N(0, 1)) per latent value, without the constant."""
    return 0.5 * latent.float().pow(2).mean()
