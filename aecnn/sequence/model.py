"""LSTM regressor over latent sequences.

::

    x (B, T, L) -> standardise (train-set mean/std per latent value) -> dropout
      -> Linear L -> P (optional input projection) -> LSTM (hidden H, layers)
      -> head 'v1':   mean over time -> Linear H -> 1     (the users' V1 client)
         head 'last': last time step -> Linear H -> 1
      -> * y_std + y_mean  -> (B,) prediction in target units

The standardisation statistics live in buffers, so a saved model takes raw latents.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

HEADS = ("v1", "last")


@dataclass(frozen=True)
class SequenceModelConfig:
    """Architecture of :class:`LatentLSTM`.

    Attributes:
        latent_size: L, values per frame.
        hidden_size: LSTM hidden size H.
        num_layers: stacked LSTM layers.
        head: ``'v1'`` (mean over time, then linear: the users' client) or ``'last'`` (last step).
        projection: size of a linear input projection before the LSTM (0: none).
        dropout: dropout on the (standardised) input and between LSTM layers.
    """

    latent_size: int
    hidden_size: int = 64
    num_layers: int = 1
    head: str = "v1"
    projection: int = 0
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; valid: {', '.join(HEADS)}")
        if self.latent_size < 1 or self.hidden_size < 1 or self.num_layers < 1 or self.projection < 0:
            raise ValueError("latent_size, hidden_size, num_layers must be >= 1 and projection >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")


class LatentLSTM(nn.Module):
    """Predicts one scalar per window of latents (see the module docstring).

    Args:
        config: a :class:`SequenceModelConfig`; or pass its fields as keywords.
    """

    def __init__(self, config: SequenceModelConfig | None = None, **kwargs: Any) -> None:
        super().__init__()
        cfg = self.config = config or SequenceModelConfig(**kwargs)
        self.register_buffer("in_mean", torch.zeros(cfg.latent_size))
        self.register_buffer("in_std", torch.ones(cfg.latent_size))
        self.register_buffer("y_mean", torch.zeros(()))
        self.register_buffer("y_std", torch.ones(()))
        self.drop = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(cfg.latent_size, cfg.projection) if cfg.projection else nn.Identity()
        width = cfg.projection or cfg.latent_size
        self.lstm = nn.LSTM(width, cfg.hidden_size, cfg.num_layers, batch_first=True,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.out = nn.Linear(cfg.hidden_size, 1)

    def set_normalisation(self, frames: torch.Tensor, y: torch.Tensor) -> None:
        """Store input mean/std over ``frames (N, L)`` and target mean/std over ``y (M,)``."""
        frames, y = frames.float(), y.float()
        self.in_mean.copy_(frames.mean(0))
        self.in_std.copy_(frames.std(0, unbiased=False).clamp_min(1e-6))
        self.y_mean.copy_(y.mean())
        self.y_std.copy_(y.std(unbiased=False).clamp_min(1e-6) if y.numel() > 1 else torch.ones(()))

    def forward_standardised(self, x: torch.Tensor) -> torch.Tensor:
        """Prediction in standardised target units, ``(B,)``, for ``x (B, T, L)``."""
        if x.ndim != 3 or x.shape[-1] != self.config.latent_size:
            raise ValueError(f"expected latents (B, T, {self.config.latent_size}), got {tuple(x.shape)}")
        h = self.proj(self.drop((x.float() - self.in_mean) / self.in_std))
        seq, _ = self.lstm(h)  # (B, T, H)
        pooled = seq.mean(1) if self.config.head == "v1" else seq[:, -1]
        return self.out(pooled).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Prediction in target units, ``(B,)``."""
        return self.forward_standardised(x) * self.y_std + self.y_mean

    def get_config(self) -> dict[str, Any]:
        return asdict(self.config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LatentLSTM:
        return cls(SequenceModelConfig(**config))


__all__ = ["HEADS", "LatentLSTM", "SequenceModelConfig"]
