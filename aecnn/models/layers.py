"""Small layer factories: normalisation, activation, conv-norm-act.

Factories turn a string (or None) into a layer, as timm's ``create_act_layer`` /
``get_norm_layer`` do, so configs stay plain strings.
"""
from __future__ import annotations

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
