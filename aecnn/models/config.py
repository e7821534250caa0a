"""The model's configuration, as a frozen dataclass, and the named presets."""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from aecnn.models.layers import ACTIVATIONS, NORMS

STRATEGIES = ("conv", "spatial")
OUTPUT_ACTIVATIONS = ("none", "sigmoid", "clamp")
MIN_SIZE = 32


def _tuple(v: Any) -> tuple:
    return tuple(v) if isinstance(v, (list, tuple)) else (v,)


def _is_int(v: Any) -> bool:
    """An integer that is not a bool (``True`` is an int to Python, never a size to us)."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _need_ints(name: str, values: tuple, minimum: int | None = None) -> None:
    """Refuse non-integers (and values below ``minimum``) by name, before torch fails on them deep inside."""
    if not all(_is_int(v) and (minimum is None or v >= minimum) for v in values):
        what = ("an integer" if minimum is None else "a positive integer" if minimum == 1
                else f"an integer >= {minimum}")
        if len(values) == 1:
            raise ValueError(f"{name} must be {what}, got {values[0]!r}")
        raise ValueError(f"every value of {name} must be {what}, got {values!r}")


@dataclass(frozen=True)
class AutoEncoderConfig:
    """Everything that defines an :class:`~aecnn.models.AutoEncoder_CNNV3` architecture.

    ``embedding_dim`` (V1 name) overrides ``latent_size`` when given. Sizes are (H, W).
    """

    latent_size: int = 512
    block_config: tuple[str, ...] = ("resnet", "se", "resnet")
    channel_config: tuple[int, ...] = (64, 128, 256)
    stride_config: tuple[int, ...] = (2, 2, 2)
    latent_strategy: str = "conv"
    use_attention: bool = True
    input_size: tuple[int, int] = (201, 201)
    DropOut: bool = False
    embedding_dim: int | None = None
    dropout_p: float = 0.45
    blocks_per_stage: int = 1
    norm: str = "batch"
    activation: str = "relu"
    output_activation: str = "none"
    attention_heads: int = 4
    bottleneck_channels: int = 8
    max_grid_positions: int = 256
    bottleneck_grid: tuple[int, int] | None = None
    spatial_channels: int | None = None
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("block_config", "channel_config", "stride_config", "input_size"):
            set_(self, name, _tuple(getattr(self, name)))
        if self.bottleneck_grid is not None:
            set_(self, "bottleneck_grid", _tuple(self.bottleneck_grid))
        if self.embedding_dim is not None:
            if not _is_int(self.embedding_dim) or self.embedding_dim <= 0:
                raise ValueError(f"embedding_dim must be a positive integer or None, got {self.embedding_dim!r}")
            set_(self, "latent_size", int(self.embedding_dim))
        self._validate()

    def _validate(self) -> None:
        n = len(self.block_config)
        if not (n == len(self.channel_config) == len(self.stride_config)) or n == 0:
            raise ValueError(
                "block_config, channel_config and stride_config must be non-empty and of equal length; "
                f"got {len(self.block_config)}, {len(self.channel_config)}, {len(self.stride_config)}")
        if not _is_int(self.latent_size) or self.latent_size <= 0:
            raise ValueError(f"latent_size must be a positive integer, got {self.latent_size!r}")
        _need_ints("channel_config", self.channel_config)  # ranges: below
        _need_ints("stride_config", self.stride_config)
        _need_ints("blocks_per_stage", (self.blocks_per_stage,), 0)
        _need_ints("attention_heads", (self.attention_heads,), 1)
        _need_ints("bottleneck_channels", (self.bottleneck_channels,), 1)
        # 1 position would be global pooling, which this bottleneck exists to avoid (the users' finding)
        _need_ints("max_grid_positions", (self.max_grid_positions,), 4)
        if self.bottleneck_grid is not None and len(self.bottleneck_grid) != 2:
            raise ValueError(f"bottleneck_grid must be (gh, gw), got {self.bottleneck_grid!r}")
        if self.bottleneck_grid is not None:
            _need_ints("bottleneck_grid", self.bottleneck_grid, 1)
        if self.latent_strategy not in STRATEGIES:
            raise ValueError(f"unknown latent_strategy {self.latent_strategy!r}; valid: {', '.join(STRATEGIES)}")
        # Options of one strategy given to the other were silently ignored before, which once made
        # a "4x4 bottleneck" model spatial without a word (benchmarks/QUALITY.md): refuse them.
        if self.latent_strategy == "spatial" and self.bottleneck_grid is not None:
            raise ValueError(f"bottleneck_grid={self.bottleneck_grid} only applies to latent_strategy='conv' "
                             "(the flat latent); the spatial latent's grid follows from latent_size and "
                             "input_size. Pass latent_strategy='conv' with it")
        if self.spatial_channels is not None and (not _is_int(self.spatial_channels)
                                                  or self.spatial_channels <= 0):
            raise ValueError(f"spatial_channels must be a positive integer or None, got {self.spatial_channels!r}")
        if self.latent_strategy == "conv" and self.spatial_channels is not None:
            raise ValueError(f"spatial_channels={self.spatial_channels} only applies to latent_strategy='spatial'")
        if any(c <= 0 for c in self.channel_config) or any(s not in (1, 2, 4) for s in self.stride_config):
            raise ValueError(f"channels must be positive and strides 1, 2 or 4; got {self.channel_config}, "
                             f"{self.stride_config}")
        if len(self.input_size) != 2 or not all(_is_int(v) and v >= MIN_SIZE for v in self.input_size):
            raise ValueError(f"input_size must be (H, W) with both >= {MIN_SIZE}, got {self.input_size}")
        if self.norm not in NORMS:
            raise ValueError(f"unknown norm {self.norm!r}; valid: {', '.join(NORMS)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; valid: {', '.join(ACTIVATIONS)}")
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"unknown output_activation {self.output_activation!r}; "
                             f"valid: {', '.join(OUTPUT_ACTIVATIONS)}")
        if self.use_attention and self.channel_config[-1] % self.attention_heads:
            raise ValueError(f"last channel count {self.channel_config[-1]} must divide by "
                             f"attention_heads={self.attention_heads}")
        if not 0.0 <= self.dropout_p < 1.0 or self.blocks_per_stage < 0:
            raise ValueError("dropout_p must be in [0, 1) and blocks_per_stage >= 0")

    @property
    def total_stride(self) -> int:
        return math.prod(self.stride_config)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly dict (lists, not tuples)."""
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AutoEncoderConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}; valid: {sorted(known)}")
        return cls(**d)

    def replace(self, **overrides: Any) -> AutoEncoderConfig:
        return replace(self, **overrides)


# Presets: latent 128 / 512 / 2048 / 8192, with the 'spatial' latent. The bare constructor keeps
# 'conv' (the flat latent of the users' API); the presets use 'spatial' because it reconstructed
# better in every measurement we have (benchmarks/QUALITY.md, H200, small preset at latent 512:
# +2.0 dB on 201x201 crops, +7.2 dB on 152x1280 strips, +5.8 dB on real crops; README: +3.7 dB in
# the CPU demo), and the 'conv' bottleneck missed the "seed 4x4 + 2 dB" bar on strips.
# Parameter counts are measured by `aecnn info --preset NAME` and listed in the README.
PRESETS: dict[str, AutoEncoderConfig] = {
    "tiny": AutoEncoderConfig(latent_size=128, channel_config=(16, 32, 64), latent_strategy="spatial",
                              block_config=("resnet", "se", "resnet")),
    "small": AutoEncoderConfig(latent_size=512, channel_config=(32, 64, 128), latent_strategy="spatial",
                               block_config=("resnet", "se", "resnet")),
    "medium": AutoEncoderConfig(latent_size=2048, channel_config=(64, 128, 256), latent_strategy="spatial",
                                block_config=("resnet", "se", "resnet")),
    "large": AutoEncoderConfig(latent_size=8192, channel_config=(128, 256, 512), latent_strategy="spatial",
                               block_config=("resnet", "se", "resnet")),
}
