"""Training and evaluation loops of the quality benchmark, shared by every method.

Every network gets the same loop: frames kept on the device as uint8, a fresh permutation
per epoch, batches scaled to [0, 1], MSE loss, AdamW with linear warm-up and cosine decay to
zero over the budget, gradient clipping at 1, and on CUDA bf16 autocast and channels_last.
``recipe="train"`` swaps the optimiser and schedule for ``aecnn train``'s own (its
``build_optimizer`` and ``LRSchedule`` with ``TrainConfig``'s defaults: weight decay on weights
only, a one-epoch warm-up, a cosine floor at 1 % of the peak, no clipping); the benchmark
(``BenchConfig.recipe``) uses ``"train"`` since the seventeenth session, this function's default stays
the loop's own.
The budget is either a number of images seen or a number of seconds of training (measured
after a short warm-up whose updates are thrown away, so cuDNN autotuning is not counted).
A training stopped before its budget hands back its whole state (:attr:`TrainStats.state`), from
which a later call continues it as if it had not stopped (``train(..., resume=state)``): a budget
longer than one device call is spent over several.
"""
from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aecnn.loss_spikes import FACTOR, find_spike
from aecnn.quality.metrics import band_psnr, psnr, ssim
from aecnn.quality.plan import RECIPES
from aecnn.train.config import TrainConfig
from aecnn.train.optim import LRSchedule, build_optimizer

log = logging.getLogger(__name__)
WARMUP_FRACTION = 0.03
CURVE_POINTS = 100  # loss-curve segments over an images budget (seconds budgets: one per CURVE_STEPS steps)
CURVE_STEPS = 50


@dataclass
class TrainStats:
    images_seen: int
    seconds: float
    images_per_s: float
    final_loss: float  # mean of the last 20 steps' losses
    # (images seen at the end of the segment, mean training loss over the segment): a training that
    # diverged or stalled shows here (the means are summed on the device, one sync at the end)
    loss_curve: list[tuple[int, float]] = field(default_factory=list)
    stopped: bool = False  # stopped by ``stop_after`` / ``stop_after_images`` before the budget was spent
    # when stopped: everything ``train(..., resume=state)`` needs to continue (CPU tensors)
    state: dict | None = field(default=None, repr=False)
    resumed_at: int = 0  # images seen before this call (0: a fresh training)


def loss_rose(curve: list[tuple[int, float]], factor: float = 1.5) -> str:
    """A note when the last segment's loss is ``factor`` or more times the lowest segment's (the
    training got worse before it ended), else ``""``."""
    if len(curve) < 3:
        return ""
    lo_at, lo = min(curve, key=lambda p: p[1])
    last = curve[-1][1]
    if not (math.isfinite(last) and last < factor * lo):
        return (f"training loss rose from {lo:.2e} (at {lo_at:,} images) to {last:.2e} at the end "
                f"({curve[-1][0]:,} images)")
    return ""


def loss_spike(curve: list[tuple[int, float]], factor: float = FACTOR) -> str:
    """A note naming the largest loss spike of ``curve`` (:func:`aecnn.loss_spikes.find_spike`: a segment
    ``factor`` or more times the lowest before it), where it was and the final loss against the level
    before it; else ``""``. :func:`loss_rose` (1.5x at the end) misses a spike the training half recovers
    from, as the ninth session's medium training at 1e-3 (210x, 4 dB lost)."""
    spike = find_spike(curve, factor)
    return spike.note() if spike else ""


def _autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _lr_factor(progress: float) -> float:
    p = min(max(progress, 0.0), 1.0)
    return min(1.0, (p + 1e-9) / WARMUP_FRACTION) * 0.5 * (1.0 + math.cos(math.pi * p))


class _Batches:
    """Random batches without replacement within an epoch, drawn on the frames' device."""

    def __init__(self, frames: torch.Tensor, batch: int, generator: torch.Generator) -> None:
        self.frames, self.batch, self.gen = frames, batch, generator
        self.perm, self.pos = None, 0

    def next(self) -> torch.Tensor:
        n = self.frames.shape[0]
        if self.perm is None or self.pos + self.batch > n:
            self.perm = torch.randperm(n, device=self.frames.device, generator=self.gen)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.batch]
        self.pos += self.batch
        x = self.frames[idx].unsqueeze(1).float().mul_(1.0 / 255.0)  # (B, 1, H, W)
        return x.contiguous(memory_format=torch.channels_last)


def _optimizer(model: nn.Module, lr: float, device: torch.device, beta2: float = 0.999,
               recipe: str = "bench") -> torch.optim.Optimizer:
    if recipe == "train":
        return build_optimizer(model, lr, TrainConfig.weight_decay, device, beta2=beta2)
    return torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, beta2), weight_decay=1e-4,
                             fused=device.type == "cuda")


def _train_lr(lr: float, n_frames: int, batch: int, total_steps: int | None) -> Callable[[int, float], float]:
    """``aecnn train``'s learning rate as a function of ``(step, progress)``: its ``LRSchedule`` over an
    images budget (one epoch of ``n_frames`` warms up); over a seconds budget, whose steps are not known
    beforehand, the same warm-up in steps and the cosine to the same floor over the progress in time."""
    warmup = math.ceil(TrainConfig.warmup_epochs * math.ceil(n_frames / batch))
    if total_steps is not None:
        sched = LRSchedule("cosine", lr, warmup, total_steps, min_lr_ratio=TrainConfig.min_lr_ratio)
        return lambda step, progress: sched.lr(step)
    floor = TrainConfig.min_lr_ratio

    def by_time(step: int, progress: float) -> float:
        if step < warmup:
            return lr * (step + 1) / warmup
        return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0))))
    return by_time


STATE_FORMAT = "aecnn.quality.train_state/1"


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


def check_recipe(saved: dict, now: dict) -> None:
    """Raises ValueError naming every setting in which a saved training state differs from this training."""
    if saved.get("format") != STATE_FORMAT:
        raise ValueError(f"not a benchmark training state (format {saved.get('format')!r}, expected {STATE_FORMAT!r})")
    recipe = saved.get("recipe") or {}
    diff = [f"{k}: saved {recipe.get(k)!r}, now {v!r}" for k, v in now.items() if k != "recipe" and recipe.get(k) != v]
    if recipe.get("recipe", "bench") != now.get("recipe", "bench"):  # absent: the loop's own (states before it)
        diff.append(f"recipe: saved {recipe.get('recipe', 'bench')!r}, now {now.get('recipe', 'bench')!r}")
    if diff:
        raise ValueError("the saved training state is of another training (" + "; ".join(diff) + ")")


def train(model: nn.Module, frames: torch.Tensor, *, images: int | None = None, seconds: float | None = None,
          batch: int = 64, lr: float = 2e-3, seed: int = 0, warmup_steps: int = 3, beta2: float = 0.999,
          recipe: str = "bench", stop_after: float | None = None, stop_after_images: int | None = None,
          resume: dict | None = None, log_every: float = 60.0) -> TrainStats:
    """Train ``model`` in place on ``frames`` ``(N, H, W)`` uint8 (on the training device) for
    ``images`` images or ``seconds`` seconds (exactly one of them).

    ``stop_after`` (seconds of training, host clock) ends the training early, keeping what it
    learned, with ``TrainStats.stopped`` set: a deadline for runs that must not outlive their
    caller. Progress is logged every ``log_every`` seconds, so a log shows how far a training got.
    ``beta2``: AdamW's second-moment decay (torch's default 0.999; a shorter memory, e.g. 0.95 as in
    nanoGPT, is a common remedy for loss spikes). ``recipe``: ``"bench"`` (the module's loop) or
    ``"train"`` (``aecnn train``'s optimiser and schedule; see the module docstring).

    A stopped training's :attr:`TrainStats.state` continues with ``resume=state`` (same ``frames``,
    budget, batch, lr, beta2 and seed; the model built as before): weights, optimizer, lr schedule,
    batch order, loss curve and seconds go on where they stopped, so the result is the uninterrupted
    training's (bit for bit on the CPU; on CUDA up to its nondeterministic kernels).
    ``stop_after_images`` stops once that many images (counting earlier calls') are seen, as a
    deadline would.

    Raises:
        ValueError: if neither or both budgets are given, a budget is not positive, or ``resume`` is
            not a state of this training (the message names what differs).
    """
    if (images is None) == (seconds is None):
        raise ValueError("give exactly one of images= or seconds=")
    if (images is not None and images < 1) or (seconds is not None and seconds <= 0):
        raise ValueError(f"the budget must be positive, got images={images}, seconds={seconds}")
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")
    device = frames.device
    batch = min(batch, frames.shape[0])
    model.to(device, memory_format=torch.channels_last).train()
    gen = torch.Generator(device=device).manual_seed(seed)
    batches = _Batches(frames, batch, gen)
    recipe_info = {"images": images, "seconds": seconds, "batch": batch, "lr": lr, "beta2": beta2, "seed": seed,
                   "frames": list(frames.shape), "device": device.type, "recipe": recipe}
    if resume is not None:
        check_recipe(resume, recipe_info)

    def step(opt: torch.optim.Optimizer, x: torch.Tensor) -> torch.Tensor:
        with _autocast(device):
            out = model(x)
        loss = F.mse_loss(out.float(), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if recipe == "bench":  # aecnn train clips only when asked (--clip-grad)
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.detach()

    if warmup_steps:  # cuDNN autotuning and allocator warm-up; the updates are thrown away
        state = copy.deepcopy(model.state_dict())
        opt = _optimizer(model, 0.0, device)
        for _ in range(warmup_steps):
            step(opt, batches.next())
        model.load_state_dict(state)
        batches.perm = None
    opt = _optimizer(model, lr, device, beta2, recipe)
    total_steps = math.ceil(images / batch) if images is not None else None
    lr_at = (_train_lr(lr, frames.shape[0], batch, total_steps) if recipe == "train"
             else lambda step, progress: lr * _lr_factor(progress))
    every = math.ceil(total_steps / CURVE_POINTS) if total_steps else CURVE_STEPS
    losses: list[torch.Tensor] = []
    curve_sums: list[torch.Tensor] = []
    curve_ends: list[tuple[int, int]] = []  # (steps at the segment's end, steps in it)
    seg_sum, seg_n = None, 0
    n_steps, before = 0, 0.0  # steps and training seconds of earlier calls (resume)
    if resume is not None:  # after the warm-up, which must not touch the restored weights or batch order
        model.load_state_dict(resume["model"])
        opt.load_state_dict(resume["optimizer"])
        gen.set_state(resume["generator"])
        torch.set_rng_state(resume["rng"])  # the global generators: dropout and other random layers
        if device.type == "cuda" and resume.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(resume["cuda_rng"], device)
        perm = resume["perm"]
        batches.perm, batches.pos = (perm.to(device) if perm.numel() else None), resume["pos"]
        n_steps, before = resume["n_steps"], resume["seconds"]
        tensor = lambda v: torch.tensor(v, device=device)
        curve_ends = [(end, n) for end, n, _ in resume["curve"]]
        curve_sums = [tensor(total) for _, _, total in resume["curve"]]
        seg_n = resume["segment"][1]
        seg_sum = tensor(resume["segment"][0]) if seg_n else None
        losses = [tensor(v) for v in resume["losses"]]
        log.info("training resumed at %d images (%.0f s of training before)", n_steps * batch, before)
    resumed_at = n_steps * batch
    _sync(device)
    t0 = time.perf_counter()
    next_log, stopped = log_every, False
    while True:
        now = time.perf_counter() - t0
        progress = n_steps / total_steps if total_steps else (before + now) / seconds
        if progress >= 1.0:
            break
        if (stop_after is not None and now >= stop_after) or (
                stop_after_images is not None and n_steps * batch >= stop_after_images):
            stopped = True
            why = "stop_after" if stop_after is not None and now >= stop_after else "stop_after_images"
            log.warning("training stopped after %.0f s (%s): %d of %s images", now, why, n_steps * batch,
                        f"{images:,}" if images is not None else "?")
            break
        if now >= next_log:
            next_log += log_every
            log.info("training: %d%s images in %.0f s (%.0f img/s)", n_steps * batch,
                     f" of {images:,}" if images is not None else "", before + now,
                     (n_steps * batch - resumed_at) / max(now, 1e-9))
        for g in opt.param_groups:
            g["lr"] = lr_at(n_steps, progress)
        loss = step(opt, batches.next())
        losses.append(loss)
        n_steps += 1
        if len(losses) > 20:
            losses.pop(0)
        seg_sum, seg_n = (loss if seg_sum is None else seg_sum + loss), seg_n + 1
        if seg_n == every:
            curve_sums.append(seg_sum)
            curve_ends.append((n_steps, seg_n))
            seg_sum, seg_n = None, 0
    _sync(device)
    elapsed = before + time.perf_counter() - t0
    state = None
    if stopped:  # the open segment stays open, so a resumed curve has the uninterrupted one's segments
        closed = torch.stack(curve_sums).float().cpu().tolist() if curve_sums else []
        state = {"format": STATE_FORMAT, "recipe": recipe_info, "model": _to_cpu(model.state_dict()),
                 "optimizer": _to_cpu(opt.state_dict()), "generator": gen.get_state(), "rng": torch.get_rng_state(),
                 "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                 "perm": _to_cpu(batches.perm) if batches.perm is not None else torch.empty(0, dtype=torch.long),
                 "pos": batches.pos, "n_steps": n_steps, "seconds": elapsed,
                 "curve": [(end, n, total) for (end, n), total in zip(curve_ends, closed)],
                 "segment": (float(seg_sum) if seg_n else 0.0, seg_n), "losses": [float(v) for v in losses]}
    if seg_n:
        curve_sums.append(seg_sum)
        curve_ends.append((n_steps, seg_n))
    seen = n_steps * batch
    final = float(torch.stack(losses).mean()) if losses else math.nan
    sums = torch.stack(curve_sums).float().cpu().tolist() if curve_sums else []
    curve = [(end * batch, total / n) for (end, n), total in zip(curve_ends, sums)]
    return TrainStats(seen, elapsed, seen / max(elapsed, 1e-9), final, curve, stopped, state, resumed_at)


@torch.no_grad()
def throughput(model: nn.Module, frames: torch.Tensor, batch: int = 64, steps: int = 5, warmup: int = 3) -> float:
    """Training images/s of ``model`` (a few steps after a warm-up; the model is restored)."""
    with torch.enable_grad():
        state = copy.deepcopy(model.state_dict())
        try:
            t0 = time.perf_counter()
            train(model, frames, images=warmup * batch, batch=batch, lr=0.0, warmup_steps=0)
            s = train(model, frames, images=steps * batch, batch=batch, lr=0.0, warmup_steps=0)
        finally:
            model.load_state_dict(state)
    log.debug("throughput: %.0f img/s (%.1f s with warm-up)", s.images_per_s, time.perf_counter() - t0)
    return s.images_per_s


Codec = tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor, tuple[int, int]], torch.Tensor]]


def model_codec(model: nn.Module) -> Codec:
    """(encode, decode) of an aecnn model or V1, in eval mode."""
    model.eval()
    if hasattr(model, "config"):  # aecnn: decode takes the output size
        return model.encode, lambda z, size: model.decode(z, size)
    return model.encode, lambda z, size: model.decode(z)


@dataclass
class EvalResult:
    metrics: dict[str, float]
    latents: np.ndarray  # (N, L) float32
    recon: np.ndarray | None  # (len(keep), H, W) uint8 of the kept frames


@torch.no_grad()
def evaluate(codec: Codec, frames: torch.Tensor, *, decode: bool = True, keep: list[int] | None = None,
             region: tuple[slice, slice] | None = None, batch: int = 128, per_frame_max: int = 32) -> EvalResult:
    """Latents of ``frames`` ``(N, H, W)`` uint8 and, with ``decode``, the mean PSNR, SSIM and
    outline-band PSNR of their reconstructions (taken over ``region`` of each frame if given)
    plus the reconstructions of the frames ``keep``. Sets of at most ``per_frame_max`` frames
    also get ``metrics["psnr_per_frame"]``."""
    encode, dec = codec
    device = frames.device
    size = tuple(frames.shape[1:])
    sums = {"psnr": [], "ssim": [], "band_psnr": []}
    latents, recons = [], []
    keep_set = set(keep or [])
    for b in range(0, frames.shape[0], batch):
        x = frames[b:b + batch].unsqueeze(1).float().mul_(1.0 / 255.0).contiguous(memory_format=torch.channels_last)
        with _autocast(device):
            z = encode(x)
        latents.append(z.float().flatten(1).cpu())
        if not decode:
            continue
        with _autocast(device):
            y = dec(z, size)
        y = y.float().clamp(0.0, 1.0)
        xr, yr = (x, y) if region is None else (x[..., region[0], region[1]], y[..., region[0], region[1]])
        sums["psnr"].append(psnr(yr, xr).cpu())
        sums["ssim"].append(ssim(yr, xr).cpu())
        sums["band_psnr"].append(band_psnr(yr, xr).cpu())
        for i in range(x.shape[0]):
            if b + i in keep_set:
                recons.append((b + i, (y[i, 0] * 255.0 + 0.5).to(torch.uint8).cpu().numpy()))
    metrics = {k: float(np.nanmean(torch.cat(v).numpy())) for k, v in sums.items() if v}
    if sums["psnr"] and frames.shape[0] <= per_frame_max:  # small sets (the real frames): every frame's PSNR
        metrics["psnr_per_frame"] = [round(float(v), 3) for v in torch.cat(sums["psnr"]).numpy()]
    recon = np.stack([r for _, r in sorted(recons)]) if recons else None
    return EvalResult(metrics, torch.cat(latents).numpy(), recon)
