"""Whether a model's BatchNorm running statistics are still near their starting values.

In eval mode (validation, ``aecnn reconstruct``, ``aecnn embed``) BatchNorm normalises with running
averages that start at mean 0 and variance 1 and move towards each training batch's statistics by the
layer's momentum (0.1 in torch). After ``n`` batches a share ``(1 - momentum) ** n`` of the starting
values remains. The inputs of this model's BatchNorm layers have small variances: 0.009–0.06 (median
over channels, per layer) in a tiny-preset run of 40 steps on the eight real frames (1280×130, resized
to 152 high, no validation set). Even 1 % of the starting variance of 1 is as large as they are. That
run's best.ckpt reconstructs the same frames at an MSE of 0.0116 in train mode and 0.21 in eval mode
(6.7 dB PSNR): its layers had tracked 23 batches, so 9 % of the starting values remained. The same
run with ``--norm group`` (no running statistics) reconstructs them at 16.8 dB with `aecnn reconstruct`
(6.4 dB for the BatchNorm run's best.ckpt).
A run with a validation set shows the gap in its validation loss; a run without one shows nothing.

:func:`recalibrate` (``aecnn recalibrate-bn``) replaces those statistics by their exact average over
given images, the remedy of Ioffe & Szegedy 2015 (section 3.1: population statistics after training)
that ``torch.optim.swa_utils.update_bn`` also applies; here only the BatchNorm layers run in train mode
(dropout stays off) and images of several sizes are fed as their own batches.
"""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

RECALIBRATED = "batchnorm_recalibrated"  # checkpoint key of a recalibrated model: {"images", "batches", ...}

MAX_SHARE = 1e-3  # starting-value share above which the statistics are called stale (about 66 batches)


def stale_batchnorm(model: nn.Module) -> tuple[int, float] | None:
    """``(batches tracked, share of the starting values left)`` of the least-updated BatchNorm layer of
    ``model`` if that share exceeds :data:`MAX_SHARE`; None when the statistics are settled or there is
    no BatchNorm layer (``--norm group`` / ``instance`` / ``none``) or it uses a cumulative average. A layer
    that tracked no batch is left out: an untrained model, or a plain state_dict saved without the counter,
    says nothing about how long it was trained."""
    worst = None
    for m in model.modules():
        if not isinstance(m, nn.modules.batchnorm._BatchNorm) or not m.track_running_stats or m.momentum is None:
            continue
        n = int(m.num_batches_tracked)
        if n == 0:
            continue
        share = (1.0 - m.momentum) ** n
        if share > MAX_SHARE and (worst is None or share > worst[1]):
            worst = (n, share)
    return worst


def _batchnorms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@torch.no_grad()
def recalibrate(model: nn.Module, batches: Iterable[torch.Tensor]) -> tuple[int, int]:
    """Replace every BatchNorm layer's running mean and variance by their plain average over ``batches``
    (``(N, C, H, W)`` tensors on the model's device); return ``(batches, images)`` used. The model's weights
    do not change; it is left in eval mode. Raises ValueError when ``batches`` is empty (the statistics are
    then restored as they were) or the model has no BatchNorm layer."""
    layers = _batchnorms(model)
    if not layers:
        raise ValueError("the model has no BatchNorm layer (trained with --norm group / instance / none): "
                         "nothing to recalibrate")
    saved = [(m.momentum, m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone())
             for m in layers]
    model.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: every batch weighs the same
        m.train()
    n_batches = n_images = 0
    try:
        for x in batches:
            model(x)
            n_batches, n_images = n_batches + 1, n_images + int(x.shape[0])
    except BaseException:
        _restore(layers, saved)
        raise
    finally:
        for m, (momentum, *_) in zip(layers, saved):
            m.momentum = momentum
        model.eval()
    if n_batches == 0:
        _restore(layers, saved)
        raise ValueError("no images to recalibrate BatchNorm with")
    return n_batches, n_images


def _restore(layers: list, saved: list) -> None:
    for m, (momentum, mean, var, tracked) in zip(layers, saved):
        m.momentum = momentum
        m.running_mean.copy_(mean)
        m.running_var.copy_(var)
        m.num_batches_tracked.copy_(tracked)


def stale_warning(stale: tuple[int, float]) -> str:
    """The warning for :func:`stale_batchnorm`'s ``(batches, share)``: what it means and what to do."""
    n, share = stale
    return (f"BatchNorm's running statistics rest on {n} training batch{'' if n == 1 else 'es'} ({100 * share:.1f}% "
            "of their starting values, mean 0 and variance 1, remain), and eval mode (validation, reconstruct, "
            "embed) normalises with them: the model's outputs can be far worse than its training loss says. "
            "Recompute them from your frames with `aecnn recalibrate-bn CKPT FRAMES... --out NEW.ckpt`, train for "
            "more steps (a few hundred batches), or use --norm group")
