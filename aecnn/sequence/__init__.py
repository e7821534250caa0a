"""The sequence stage: latent windows of each video -> LSTM -> a per-sequence value (viscosity).

::

    aecnn embed -> latents file (N, L) + index  --+
    targets CSV (sequence, viscosity)           --+-> LatentWindows (T, S) -> LatentLSTM -> R^2, MAE
                                                      on held-out sequences (fit_sequence_model)
"""
from __future__ import annotations

from aecnn.sequence.dataset import LatentWindows, match_targets, read_targets, windows_from_embeddings
from aecnn.sequence.ensemble import LatentLSTMEnsemble
from aecnn.sequence.fit import (
    FitConfig,
    FitResult,
    fit_sequence_model,
    load_sequence_model,
    mae,
    predict_windows,
    prediction_figure,
    r2_score,
    save_sequence_model,
)
from aecnn.sequence.model import HEADS, LatentLSTM, SequenceModelConfig
from aecnn.sequence.pca import PCA, fit_pca, pca_embed, pca_latents

__all__ = [
    "HEADS",
    "PCA",
    "FitConfig",
    "FitResult",
    "LatentLSTM",
    "LatentLSTMEnsemble",
    "LatentWindows",
    "SequenceModelConfig",
    "fit_pca",
    "fit_sequence_model",
    "load_sequence_model",
    "mae",
    "match_targets",
    "pca_embed",
    "pca_latents",
    "predict_windows",
    "prediction_figure",
    "r2_score",
    "read_targets",
    "save_sequence_model",
    "windows_from_embeddings",
]
