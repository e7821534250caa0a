"""Residual blocks and the one block registry.

Every block keeps its channel count and spatial size: ``block(channels, norm, act)``
maps ``(B, C, H, W) -> (B, C, H, W)``. Down/up-sampling lives in the stages, not here.
Following timm, ResNeXt is the residual block with grouped 3x3 convolutions and SE is
an optional attention slot on the residual block, not a copied block family.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from aecnn.models.layers import ConvNormAct, make_act, make_norm, zero_init_last_norm

BlockFactory = Callable[[int, str, str], nn.Module]
BLOCKS: dict[str, BlockFactory] = {}


def register_block(name: str) -> Callable[[BlockFactory], BlockFactory]:
    """Decorator that adds a block factory to :data:`BLOCKS` under ``name``."""
    def wrap(fn: BlockFactory) -> BlockFactory:
        if name in BLOCKS:
            raise ValueError(f"block {name!r} is already registered")
        BLOCKS[name] = fn
        return fn
    return wrap


def make_block(name: str, channels: int, norm: str, act: str) -> nn.Module:
    """Build a registered block; unknown names raise ``ValueError`` listing the valid ones."""
    if name not in BLOCKS:
        raise ValueError(f"unknown block type {name!r}; valid: {', '.join(sorted(BLOCKS))}")
    return BLOCKS[name](channels, norm, act)


class SqueezeExcite(nn.Module):
    """Channel attention of Hu et al. 2018 ("Squeeze-and-Excitation Networks")."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(8, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)  # (B, C, 1, 1)
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * s


class ResidualBlock(nn.Module):
    """Basic (two 3x3) or bottleneck (1x1, grouped 3x3, 1x1) residual block.

    Args:
        channels: input = output channels.
        norm, act: layer names (see :mod:`aecnn.models.layers`).
        groups: groups of the 3x3 conv; ``> 1`` selects the ResNeXt bottleneck form.
        se: add squeeze-excitation before the residual sum.
    """

    def __init__(self, channels: int, norm: str, act: str, groups: int = 1, se: bool = False) -> None:
        super().__init__()
        if groups > 1:
            if channels % groups:
                raise ValueError(f"resnext needs channels ({channels}) divisible by groups ({groups})")
            self.body = nn.Sequential(
                ConvNormAct(channels, channels, 1, norm=norm, act=act),
                ConvNormAct(channels, channels, 3, groups=groups, norm=norm, act=act),
                ConvNormAct(channels, channels, 1, norm=norm, act=None),
            )
        else:
            self.body = nn.Sequential(
                ConvNormAct(channels, channels, 3, norm=norm, act=act),
                ConvNormAct(channels, channels, 3, norm=norm, act=None),
            )
        zero_init_last_norm(self.body)
        self.se = SqueezeExcite(channels) if se else nn.Identity()
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.se(self.body(x)))


class InceptionBlock(nn.Module):
    """Inception-style block (Szegedy et al. 2015): 1x1, 3x3, 5x5 (as two 3x3) and pool branches,
    concatenated, projected by a 1x1 conv and added to the input."""

    def __init__(self, channels: int, norm: str, act: str) -> None:
        super().__init__()
        if channels % 4:
            raise ValueError(f"inception needs channels divisible by 4, got {channels}")
        q = channels // 4
        self.b1 = ConvNormAct(channels, q, 1, norm=norm, act=act)
        self.b3 = nn.Sequential(ConvNormAct(channels, q, 1, norm=norm, act=act),
                                ConvNormAct(q, q, 3, norm=norm, act=act))
        self.b5 = nn.Sequential(ConvNormAct(channels, q, 1, norm=norm, act=act),
                                ConvNormAct(q, q, 3, norm=norm, act=act),
                                ConvNormAct(q, q, 3, norm=norm, act=act))
        self.bp = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1),
                                ConvNormAct(channels, q, 1, norm=norm, act=act))
        self.proj = nn.Sequential(nn.Conv2d(channels, channels, 1, bias=norm == "none"),
                                  make_norm(norm, channels))
        zero_init_last_norm(self.proj)
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([self.b1(x), self.b3(x), self.b5(x), self.bp(x)], dim=1)
        return self.act(x + self.proj(y))


@register_block("resnet")
def _resnet(channels: int, norm: str, act: str) -> nn.Module:
    return ResidualBlock(channels, norm, act)


@register_block("se")
def _se(channels: int, norm: str, act: str) -> nn.Module:
    return ResidualBlock(channels, norm, act, se=True)


@register_block("resnext")
def _resnext(channels: int, norm: str, act: str) -> nn.Module:
    # Xie et al. 2017: grouped 3x3 in a bottleneck; 8 channels per group (32 groups at 256).
    if channels % 8 or channels < 16:
        raise ValueError(f"a resnext block takes groups of 8 channels, at least two: its stage needs a "
                         f"multiple of 8 channels >= 16, got {channels}")
    return ResidualBlock(channels, norm, act, groups=channels // 8)


@register_block("inception")
def _inception(channels: int, norm: str, act: str) -> nn.Module:
    return InceptionBlock(channels, norm, act)
