"""Bottleneck: feature map <-> latent, through a fixed grid that keeps the layout.

::

    conv:    (B,C,h,w) -area-> (B,C,gh,gw) -[attn]-> 1x1 -> (B,c,gh,gw) -flatten-> Linear -> (B,L)
    spatial: (B,C,h,w) -area-> (B,C,gh,gw) -[attn]-> 1x1 -> (B,c,gh,gw) = latent, c*gh*gw = L
    decode:  latent -> [Linear] -> (B,c,gh,gw) -> 1x1 -> (B,C,gh,gw) -bilinear-> (B,C,h',w') -> 3x3
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from aecnn.models.attention import GridSelfAttention
from aecnn.models.geometry import LatentPlan
from aecnn.models.layers import ConvNormAct


def resample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area-average down or bilinear up to ``size``; identity when already that size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if x.shape[-2] >= size[0] and x.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class Bottleneck(nn.Module):
    """Maps encoder features to the latent and back (see module docstring)."""

    def __init__(self, channels: int, latent_size: int, plan: LatentPlan, strategy: str,
                 use_attention: bool, heads: int, norm: str, act: str) -> None:
        super().__init__()
        self.plan, self.strategy, self.latent_size = plan, strategy, latent_size
        c = plan.channels
        self.attn = GridSelfAttention(channels, plan.grid, heads) if use_attention else None
        self.reduce = nn.Conv2d(channels, c, 1)
        self.fc_enc = nn.Linear(plan.flat_features, latent_size) if strategy == "conv" else None
        self.fc_dec = nn.Linear(latent_size, plan.flat_features) if strategy == "conv" else None
        self.expand = ConvNormAct(c, channels, 1, norm=norm, act=act)
        self.refine = ConvNormAct(channels, channels, 3, norm=norm, act=act)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Native latent shape without the batch: ``(L,)`` or ``(c, gh, gw)``."""
        if self.strategy == "conv":
            return (self.latent_size,)
        return (self.plan.channels, *self.plan.grid)

    def to_grid(self, feats: torch.Tensor) -> torch.Tensor:
        x = resample(feats, self.plan.grid)  # (B, C, gh, gw)
        return self.attn(x) if self.attn is not None else x

    def encode(self, feats: torch.Tensor) -> torch.Tensor:
        z = self.reduce(self.to_grid(feats))  # (B, c, gh, gw)
        if self.fc_enc is not None:
            z = self.fc_enc(z.flatten(1))  # (B, L)
        return z

    def decode(self, z: torch.Tensor, feature_size: tuple[int, int]) -> torch.Tensor:
        if self.fc_dec is not None:
            z = self.fc_dec(z).view(z.shape[0], self.plan.channels, *self.plan.grid)
        x = resample(self.expand(z), feature_size)  # (B, C, h', w')
        return self.refine(x)
