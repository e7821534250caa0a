"""Small layer factories: normalisation, activation, conv-norm-act.

Factories turn a string (or None) into a layer, as timm's ``create_act_layer`` /
``get_norm_layer`` do, so configs stay plain strings.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ("batch", "group", "instance", "none")
ACTIVATIONS = ("relu", "silu", "gelu", "leaky_relu")


def make_norm(kind: str, channels: int) -> nn.Module:
    """Return a 2-D normalisation layer for ``channels`` feature maps."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        groups = next(g for g in (32, 16, 8, 4, 2, 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; valid: {', '.join(NORMS)}")


def make_act(kind: str) -> nn.Module:
    """Return an activation module by name."""
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind == "silu":
        return nn.SiLU(inplace=True)
    if kind == "gelu":
        return nn.GELU()
    if kind == "leaky_relu":
        return nn.LeakyReLU(0.1, inplace=True)
    raise ValueError(f"unknown activation {kind!r}; valid: {', '.join(ACTIVATIONS)}")


class ConvNormAct(nn.Sequential):
    """``Conv2d -> norm -> activation`` with 'same' padding for odd kernels."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                 norm: str = "batch", act: str | None = "relu") -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups,
                      bias=norm == "none"),
            make_norm(norm, cout),
        ]
        if act is not None:
            layers.append(make_act(act))
        super().__init__(*layers)


def zero_init_last_norm(module: nn.Module) -> None:
    """Zero the affine scale of the last norm in ``module`` so a residual branch starts as identity."""
    last = None
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)) and m.affine:
            last = m
    if last is not None:
        nn.init.zeros_(last.weight)


def broadcast_upsample(x: torch.Tensor, s: int) -> torch.Tensor:
    """Nearest-neighbour upsampling of ``(B, C, H, W)`` by ``s`` as a broadcast copy, keeping
    channels_last when the input has it."""
    b, c, h, w = x.shape
    if c > 1 and x.is_contiguous(memory_format=torch.channels_last):  # (B, H, W, C) in memory
        y = x.permute(0, 2, 3, 1)[:, :, None, :, None, :].expand(b, h, s, w, s, c)
        return y.reshape(b, h * s, w * s, c).permute(0, 3, 1, 2)  # channels_last again
    return x[:, :, :, None, :, None].expand(b, c, h, s, w, s).reshape(b, c, h * s, w * s)


class NearestUpsample(nn.Module):
    """Nearest-neighbour upsampling by an integer factor, in the input's dtype and memory format.

    The same values as ``nn.Upsample(scale_factor=scale, mode="nearest")``, computed as a
    broadcast copy (``expand`` + ``reshape``). Two reasons, both measured on an H200
    (BENCHMARKS.md): CUDA autocast runs ``upsample_nearest2d`` in float32, so the op wrote
    float32 maps at full resolution and the next convolution cast them back; and under
    ``torch.compile`` its backward became a float32 scatter-add. Here the forward is one
    bf16 copy and the backward a sum over each ``scale x scale`` window.
    """

    def __init__(self, scale: int) -> None:
        super().__init__()
        if int(scale) != scale or scale < 1:
            raise ValueError(f"scale must be a positive integer, got {scale!r}")
        self.scale = int(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 1:
            return x
        if not x.is_cuda:  # the reasons above are CUDA's; on the CPU the native kernel is faster
            return F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return broadcast_upsample(x, self.scale)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"
