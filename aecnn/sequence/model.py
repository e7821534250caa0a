"""LSTM regressor over latent sequences.

::

    x (B, T, L) -> [reduce: first K principal components of the first L - passthrough values,
                    fitted on the training frames; the last `passthrough` values kept as they are]
      -> standardise (train-set mean/std per value) -> dropout
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
        reduce: keep the first ``reduce`` principal components of the latent values (0: all values).
            With a few hundred training sequences an LSTM over 512 values or more fits noise; a
            few components carry what a sequence needs (benchmarks/QUALITY.md, "R² ceiling").
        passthrough: trailing input values that are not latents (e.g. ``--frame-features``) and
            are kept beside the components, not mixed into them.
    """

    latent_size: int
    hidden_size: int = 64
    num_layers: int = 1
    head: str = "v1"
    projection: int = 0
    dropout: float = 0.1
    reduce: int = 0
    passthrough: int = 0

    @property
    def input_width(self) -> int:
        """Values per frame after the reduction (what the LSTM's input layer sees)."""
        return self.reduce + self.passthrough if self.reduce else self.latent_size

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; valid: {', '.join(HEADS)}")
        if self.latent_size < 1 or self.hidden_size < 1 or self.num_layers < 1 or self.projection < 0:
            raise ValueError("latent_size, hidden_size, num_layers must be >= 1 and projection >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 <= self.passthrough < self.latent_size:
            raise ValueError(f"passthrough must be in [0, latent_size), got {self.passthrough} of {self.latent_size}")
        if not 0 <= self.reduce <= self.latent_size - self.passthrough:
            raise ValueError(f"reduce must be in [0, {self.latent_size - self.passthrough}] (the latent values), "
                             f"got {self.reduce}")


class LatentLSTM(nn.Module):
    """Predicts one scalar per window of latents (see the module docstring).

    Args:
        config: a :class:`SequenceModelConfig`; or pass its fields as keywords.
    """

    def __init__(self, config: SequenceModelConfig | None = None, **kwargs: Any) -> None:
        super().__init__()
        cfg = self.config = config or SequenceModelConfig(**kwargs)
        width = cfg.input_width
        if cfg.reduce:
            n_latent = cfg.latent_size - cfg.passthrough
            self.register_buffer("pc_mean", torch.zeros(n_latent))
            self.register_buffer("pc_components", torch.zeros(n_latent, cfg.reduce))
        self.register_buffer("in_mean", torch.zeros(width))
        self.register_buffer("in_std", torch.ones(width))
        self.register_buffer("y_mean", torch.zeros(()))
        self.register_buffer("y_std", torch.ones(()))
        self.drop = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(width, cfg.projection) if cfg.projection else nn.Identity()
        self.lstm = nn.LSTM(cfg.projection or width, cfg.hidden_size, cfg.num_layers, batch_first=True,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.out = nn.Linear(cfg.hidden_size, 1)

    def set_normalisation(self, frames: torch.Tensor, y: torch.Tensor) -> None:
        """Store input mean/std over ``frames (N, L)`` and target mean/std over ``y (M,)``; with
        ``reduce``, first the principal axes of the frames' latent values (float64 covariance)."""
        frames, y = frames.float(), y.float()
        if self.config.reduce:
            lat = frames[:, :self.pc_mean.numel()].double()
            mean = lat.mean(0)
            cov = (lat - mean).T @ (lat - mean) / max(len(lat) - 1, 1)
            _, vecs = torch.linalg.eigh(cov)  # ascending
            comps = vecs[:, -self.config.reduce:].flip(1)
            # deterministic signs: each component's largest entry positive
            signs = comps.gather(0, comps.abs().argmax(0, keepdim=True)).sign()
            comps *= torch.where(signs == 0, torch.ones_like(signs), signs)
            self.pc_mean.copy_(mean.float())
            self.pc_components.copy_(comps.float())
            frames = self._reduce(frames)
        self.in_mean.copy_(frames.mean(0))
        self.in_std.copy_(frames.std(0, unbiased=False).clamp_min(1e-6))
        self.y_mean.copy_(y.mean())
        self.y_std.copy_(y.std(unbiased=False).clamp_min(1e-6) if y.numel() > 1 else torch.ones(()))

    def _reduce(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., L)`` -> ``(..., reduce + passthrough)``: components of the latent values, then the rest."""
        n = self.pc_mean.numel()
        z = (x[..., :n] - self.pc_mean) @ self.pc_components
        return torch.cat([z, x[..., n:]], dim=-1)

    def forward_standardised(self, x: torch.Tensor) -> torch.Tensor:
        """Prediction in standardised target units, ``(B,)``, for ``x (B, T, L)``."""
        if x.ndim != 3 or x.shape[-1] != self.config.latent_size:
            raise ValueError(f"expected latents (B, T, {self.config.latent_size}), got {tuple(x.shape)}")
        x = x.float()
        if self.config.reduce:
            x = self._reduce(x)
        h = self.proj(self.drop((x - self.in_mean) / self.in_std))
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
