"""Training: ``TrainConfig`` -> :func:`train` -> a run folder with checkpoints, metrics and figures.

The package imports nothing from the CLI; the model package imports nothing from here.
"""
from __future__ import annotations

from aecnn.train.config import TrainConfig, load_yaml, merge_config
from aecnn.train.losses import LOSSES, ReconstructionLoss, parse_loss_spec
from aecnn.train.metrics import psnr, ssim
from aecnn.train.trainer import TrainingDiverged, TrainResult, train

__all__ = ["LOSSES", "ReconstructionLoss", "TrainConfig", "TrainResult", "TrainingDiverged", "load_yaml",
           "merge_config", "parse_loss_spec", "psnr", "ssim", "train"]
