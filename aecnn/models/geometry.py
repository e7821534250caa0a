"""Bottleneck geometry: padding multiple and the latent grid, from the config alone.

The encoder pads the input (replicate, bottom/right) to a multiple ``M`` of its total
stride, the decoder crops back, so every input size from 32 px up comes back exactly
(the pad-then-crop approach CompressAI documents). The bottleneck grid ``(gh, gw)`` is
fixed by ``input_size``; inputs of other sizes are area-resampled onto it, which is how
a model built for 1280x152 strips also takes 640x152 strips.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

ASPECT_TOLERANCE = 1.5  # a spatial grid's aspect may differ from the feature map's by this factor
MIN_POSITIONS = 16  # a spatial latent keeps at least a 4x4-like layout (fewer only for tiny inputs)


@dataclass(frozen=True)
class LatentPlan:
    """Where the latent lives.

    Attributes:
        multiple: inputs are padded to a multiple of this (height and width).
        grid: (gh, gw) positions of the bottleneck grid (the attention tokens).
        channels: channels per grid position of the latent ('spatial') or of the
            flattened grid fed to the linear layer ('conv').
        flat_features: ``channels * gh * gw``.
    """

    multiple: int
    grid: tuple[int, int]
    channels: int

    @property
    def flat_features(self) -> int:
        return self.channels * self.grid[0] * self.grid[1]


def ceil_to(n: int, m: int) -> int:
    return -(-n // m) * m


def feature_grid(size: tuple[int, int], multiple: int, stride: int) -> tuple[int, int]:
    """Encoder output grid for an input of ``size`` padded to ``multiple``."""
    return ceil_to(size[0], multiple) // stride, ceil_to(size[1], multiple) // stride


def plan_conv(input_size: tuple[int, int], stride: int, channels: int, max_positions: int,
              grid: tuple[int, int] | None = None) -> LatentPlan:
    """Grid for the flat ('conv') strategy: the encoder grid pooled by the smallest power of
    two that leaves at most ``max_positions`` positions (13x13 for 201x201, 5x40 for 1280x152
    at stride 8), or an explicit ``grid`` (the seed's bottleneck is ``grid=(4, 4)``)."""
    if grid is not None:
        return LatentPlan(stride, tuple(grid), channels)
    k = 1
    while True:
        h, w = feature_grid(input_size, stride * k, stride * k)
        if h * w <= max_positions or (h == 1 and w == 1):
            return LatentPlan(stride * k, (h, w), channels)
        k *= 2


def _best_factorisation(positions: int, h: int, w: int) -> tuple[int, int] | None:
    """(gh, gw) with gh*gw == positions, gh<=h, gw<=w, aspect closest to h/w within tolerance."""
    target = math.log(h / w)
    best, best_err = None, math.log(ASPECT_TOLERANCE) + 1e-9
    for gh in range(1, positions + 1):
        if positions % gh:
            continue
        gw = positions // gh
        if gh > h or gw > w:
            continue
        err = abs(math.log(gh / gw) - target)
        if err <= best_err:
            best, best_err = (gh, gw), err
    return best


def _try_spatial(latent: int, h: int, w: int, max_positions: int,
                 channels: int | None) -> tuple[int, tuple[int, int]] | None:
    options = [channels] if channels is not None else [c for c in range(1, latent + 1) if latent % c == 0]
    min_positions = min(MIN_POSITIONS, h * w)
    for c in options:  # smallest channel count first = largest spatial area
        if latent % c:
            continue
        positions = latent // c
        if not min_positions <= positions <= max_positions:
            continue
        grid = _best_factorisation(positions, h, w)
        if grid is not None:
            return c, grid
    return None


def plan_spatial(latent: int, input_size: tuple[int, int], stride: int, max_positions: int,
                 channels: int | None = None) -> LatentPlan:
    """Grid for the 'spatial' strategy: a ``(C', gh, gw)`` tensor with exactly ``latent``
    values, the largest area (fewest channels) with at most ``max_positions`` positions whose
    aspect is within 1.5x of the input's. Raises ``ValueError`` naming the nearest sizes that work.
    """
    h, w = feature_grid(input_size, stride, stride)
    found = _try_spatial(latent, h, w, max_positions, channels)
    if found is None:
        below = next((n for n in range(latent - 1, 0, -1)
                      if _try_spatial(n, h, w, max_positions, channels)), None)
        above = next((n for n in range(latent + 1, 4 * latent + 64)
                      if _try_spatial(n, h, w, max_positions, channels)), None)
        near = ", ".join(str(n) for n in (below, above) if n is not None)
        how = f" with spatial_channels={channels}" if channels is not None else ""
        raise ValueError(
            f"latent_size={latent} cannot be laid out exactly as a C x h x w grid{how} for a "
            f"{h}x{w} bottleneck (input {input_size[0]}x{input_size[1]} (H x W), at most "
            f"{max_positions} and at least {MIN_POSITIONS} positions, aspect within {ASPECT_TOLERANCE}x); nearest sizes that "
            f"work: {near or 'none'}"
        )
    c, grid = found
    return LatentPlan(stride, grid, c)
