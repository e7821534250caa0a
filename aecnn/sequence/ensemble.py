"""An average of sequence models: what ``aecnn fit-sequence --reduce ensemble`` fits.

::

    x (B, T, L) -> LatentLSTM (K = k1) --+
                -> LatentLSTM (K = k2) --+-> mean -> (B,) prediction (log-target with log_target)
                -> ...                 --+

With a few hundred training sequences, choosing the number of components K by cross-validation is
noisy. When the candidates are about equally good (the benchmark's crop latents, principal components,
K = 2 / 4 / 8: the inner CV's differences within its own fold-to-fold spread) the mean of the members'
predictions scored above the CV-chosen K on all six latent spaces tried (exploratory). When one
candidate is clearly worse (the strips' PLS components, K = 16) the average carries it along and the
CV's choice wins (the pre-registered test on five strip trainings; benchmarks/QUALITY.md, "Ninth
session"). So ``--reduce auto`` stays the recommendation; this is an option for candidate lists without a
bad K. Averaging predictions of models that err differently is ordinary model averaging (e.g. Hastie,
Tibshirani & Friedman, *The Elements of Statistical Learning*, 2nd ed., §8.8 "Model Averaging and
Stacking"); the members here differ only in K.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from aecnn.sequence.model import LatentLSTM, SequenceModelConfig


class LatentLSTMEnsemble(nn.Module):
    """Mean prediction of several :class:`LatentLSTM` that read the same latents.

    Args:
        members: the trained models (at least one), all with the same ``latent_size``.

    Raises:
        ValueError: no members, or members that read different latent sizes.
    """

    def __init__(self, members: Sequence[LatentLSTM]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        sizes = sorted({m.config.latent_size for m in members})
        if len(sizes) > 1:
            raise ValueError(f"ensemble members read different latent sizes: {sizes}")
        self.members = nn.ModuleList(members)

    @property
    def config(self) -> SequenceModelConfig:
        """The first member's config (``latent_size`` and everything but ``reduce`` are shared)."""
        return self.members[0].config

    @property
    def reduce(self) -> list[int]:
        """The members' numbers of components K."""
        return [m.config.reduce for m in self.members]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of the members' predictions in target units, ``(B,)``."""
        return torch.stack([m(x) for m in self.members]).mean(0)

    def get_config(self) -> dict[str, Any]:
        return {"ensemble": [m.get_config() for m in self.members]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LatentLSTMEnsemble:
        return cls([LatentLSTM.from_config(c) for c in config["ensemble"]])


__all__ = ["LatentLSTMEnsemble"]
