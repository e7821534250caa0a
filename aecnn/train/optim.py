"""Optimizer, learning-rate schedule, EMA weights and mixed-precision set-up.

The schedule is a pure function of the optimizer step (nanoGPT's ``get_lr``), times two
multipliers kept in its state: the plateau factor (reduce-on-plateau) and the user factor
(SIGUSR1 divides it by 5). So a resumed run gets exactly the learning rates it would have
had, and nothing depends on how many times ``step()`` was called::

    lr(step) = base_lr * user_scale * plateau_scale * warmup(step) * cosine(step)
"""
from __future__ import annotations

import contextlib
import logging
import math
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

logger = logging.getLogger(__name__)


def build_optimizer(model: nn.Module, lr: float, weight_decay: float, device: torch.device,
                    beta2: float = 0.99) -> torch.optim.Optimizer:
    """AdamW, betas (0.9, ``beta2``); fused on CUDA. Norm weights and biases get no weight decay."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = device.type == "cuda"
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, beta2), fused=fused)


class LRSchedule:
    """Warm-up then cosine / reduce-on-plateau / constant, plus the SIGUSR1 factor.

    Args:
        kind: ``'cosine'``, ``'plateau'`` or ``'none'``.
        base_lr: peak learning rate.
        warmup_steps: linear warm-up from ``base_lr / warmup_steps``.
        total_steps: optimizer steps of the whole run (cosine ends at ``min_lr_ratio * base_lr``).
        min_lr_ratio: cosine floor as a fraction of ``base_lr``.
        patience: plateau: epochs without improvement before the LR is multiplied by ``factor``.
        factor: plateau multiplier.
    """

    def __init__(self, kind: str, base_lr: float, warmup_steps: int, total_steps: int,
                 min_lr_ratio: float = 0.01, patience: int = 2, factor: float = 0.5) -> None:
        self.kind, self.base_lr = kind, float(base_lr)
        self.warmup_steps, self.total_steps = int(warmup_steps), max(1, int(total_steps))
        self.min_lr_ratio, self.patience, self.factor = float(min_lr_ratio), int(patience), float(factor)
        self.user_scale = 1.0
        self.plateau_scale = 1.0
        self.best = math.inf
        self.bad_epochs = 0

    def lr(self, step: int) -> float:
        """Learning rate for optimizer step ``step`` (0-based)."""
        f = 1.0
        if self.warmup_steps > 0 and step < self.warmup_steps:
            f = (step + 1) / self.warmup_steps
        elif self.kind == "cosine":
            span = max(1, self.total_steps - self.warmup_steps)
            t = min(1.0, (step - self.warmup_steps) / span)
            f = self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))
        return self.base_lr * self.user_scale * self.plateau_scale * f

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> float:
        lr = self.lr(step)
        for g in optimizer.param_groups:
            g["lr"] = lr
        return lr

    def divide(self, by: float) -> None:
        """SIGUSR1: scale every future learning rate by ``1 / by``."""
        self.user_scale /= by

    def epoch_end(self, metric: float) -> bool:
        """Plateau bookkeeping with this epoch's validation loss; True when the LR was reduced."""
        if self.kind != "plateau" or not math.isfinite(metric):
            return False
        if metric < self.best * (1 - 1e-4):
            self.best, self.bad_epochs = metric, 0
            return False
        self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.plateau_scale *= self.factor
            self.bad_epochs = 0
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "total_steps": self.total_steps, "user_scale": self.user_scale,
                "plateau_scale": self.plateau_scale, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("total_steps") != self.total_steps and self.kind == "cosine":
            logger.warning("the run now has %d optimizer steps in all instead of %s: the cosine schedule is "
                           "re-planned over the new length", self.total_steps, state.get("total_steps"))
        self.user_scale = float(state["user_scale"])
        self.plateau_scale = float(state["plateau_scale"])
        self.best, self.bad_epochs = float(state["best"]), int(state["bad_epochs"])


def make_ema(model: nn.Module, decay: float) -> AveragedModel:
    """Exponential moving average of parameters and buffers (``torch.optim.swa_utils``)."""
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def amp_dtype(mode: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for ``--amp`` (None = full fp32).

    ``auto``: bf16 on GPUs that have it, else fp16 on CUDA; fp32 on CPU (bf16 on a CPU
    without AMX is slower than fp32).

    Raises:
        ValueError: fp16 on CPU, or bf16 on a GPU without bf16 support.
    """
    cuda = device.type == "cuda"
    if mode == "auto":
        if not cuda:
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if mode == "fp32":
        return None
    if mode == "fp16":
        if not cuda:
            raise ValueError("--amp fp16 needs a CUDA device; on CPU use --amp bf16 or fp32")
        return torch.float16
    if cuda and not torch.cuda.is_bf16_supported():
        raise ValueError("this GPU has no bf16 support; use --amp fp16 (with a gradient scaler) or fp32")
    return torch.bfloat16


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """One autocast context for forward passes (a no-op for fp32)."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """A gradient scaler, enabled only for fp16 (nanoGPT's ``GradScaler(enabled=dtype == float16)``)."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
