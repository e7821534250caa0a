"""The training loop behind ``aecnn train``.

::

    TrainConfig -> init_distributed -> build_data (fails here, before any model, on bad data)
      -> model (+ weights on --resume) -> [batch-size probe] -> loaders sharded by rank
      -> AdamW / LRSchedule / GradScaler / EMA (+ their states and the RNG on --resume)
      -> _WithLatent -> [DDP] -> [torch.compile]
      epoch e: sampler.set_epoch(e) (order from (seed, e) only)
        micro-batches: autocast forward, fp32 loss, scaled backward (no_sync until the last)
        step: NaN/signal flags all-reduced -> lr(step) -> unscale, clip -> AdamW -> EMA
      end: validate (EMA weights if on; sums all-reduced) -> rank 0 writes metrics.csv,
        TensorBoard, figures, last.ckpt, best.ckpt (+ model_state_dict.pt, model.safetensors),
        epoch_XXX.ckpt

Set-up and the loop are here; the end of an epoch is in :mod:`aecnn.train.epoch_end`, the
checkpoint's training state (save, resume) in :mod:`aecnn.train.train_state`.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import random
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from aecnn.batchnorm import stale_batchnorm, stale_warning
from aecnn.data.dataset import load_split
from aecnn.loss_spikes import Spike, SpikeWatch
from aecnn.models import AutoEncoder_CNNV3, preset_config
from aecnn.text import plural
from aecnn.train import plots
from aecnn.train.artifacts import clear_run, write_run_files
from aecnn.train.checkpointing import find_checkpoint, load_training_checkpoint, restore_rng
from aecnn.train.config import TrainConfig
from aecnn.train.data import build_data, make_loader, preview_indices
from aecnn.train.distributed import DistInfo, all_reduce_, cleanup, init_distributed
from aecnn.train.epoch_end import EpochEndMixin, _WithLatent
from aecnn.train.hardware import apply_memory_cap, find_batch_size
from aecnn.train.losses import ReconstructionLoss
from aecnn.train.optim import LRSchedule, amp_dtype, autocast, build_optimizer, make_ema, make_scaler
from aecnn.train.runlog import RunLog
from aecnn.train.signals import LR_DIVISOR, SignalFlags
from aecnn.train.train_state import TrainStateMixin

logger = logging.getLogger(__name__)
SPIKE_SEGMENT_STEPS = 25  # optimizer steps per segment of the loss-spike watch


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; nothing was saved after the last good checkpoint."""


@dataclass
class TrainResult:
    """How a run ended.

    Attributes:
        run_dir: the run folder.
        epochs_done: completed epochs.
        step: optimizer steps taken.
        stopped: ``None`` (all epochs done), ``'early_stop'``, or the signal name (``'SIGTERM'``).
        last: the last metrics row.
        best: ``{"metric", "epoch"}`` of the best checkpoint.
        spikes: the loss spikes this session saw (:class:`aecnn.loss_spikes.Spike`, ``at`` in steps).
    """

    run_dir: Path
    epochs_done: int
    step: int
    stopped: str | None
    last: dict[str, Any] = field(default_factory=dict)
    best: dict[str, Any] = field(default_factory=dict)
    spikes: list[Spike] = field(default_factory=list)


def train(cfg: TrainConfig, report: Callable[[str], None] | None = None) -> TrainResult:
    """Train as ``cfg`` says; ``report`` receives the human-readable progress lines (rank 0).

    Raises:
        TrainingDiverged: the loss became NaN/Inf (the message names the step).
        ValueError, FileNotFoundError: bad data or options, before any model is built where possible.
    """
    return Trainer(cfg, report).run()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer(EpochEndMixin, TrainStateMixin):
    """One training run; see the module docstring for the order of things.

    Set-up and the step loop are here; validation and the end-of-epoch outputs come from
    :class:`~aecnn.train.epoch_end.EpochEndMixin`, checkpoint save / resume from
    :class:`~aecnn.train.train_state.TrainStateMixin`.
    """

    def __init__(self, cfg: TrainConfig, report: Callable[[str], None] | None = None) -> None:
        self.cfg = cfg
        self._report = report or logger.info
        self.dist = DistInfo()
        self.log: RunLog | None = None

    def say(self, msg: str) -> None:
        if self.dist.is_main:
            self._report(msg)

    def run(self) -> TrainResult:
        self.dist = init_distributed(self.cfg.device)
        try:
            self._setup()
            return self._loop()
        finally:
            if self.log is not None:
                self.log.close()
            cleanup()

    # ================================================================== set-up
    def _setup(self) -> None:
        ckpt = self._open_run()
        self._build_data(ckpt)
        self._build_model(ckpt)
        self._build_loaders()
        self._build_optimization()
        self.epoch, self.step, self.batches_done = 0, 0, 0
        self.partial: dict[str, float] | None = None
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] = {"metric": math.inf, "epoch": 0}
        self.bad_epochs = 0
        self.spike_watch = SpikeWatch()  # from this session's steps (a resumed run starts a new baseline)
        # loss sum and micro-batches since step _segment_from (this rank's), carried across epochs
        self._segment = torch.zeros(2, dtype=torch.float64, device=self.dist.device)
        self._rng = None
        if ckpt is not None:
            self._restore(ckpt)
        self._segment_from = self.step
        self._wrap()
        self.log = RunLog(self.run_dir, self.dist.is_main, self.cfg.tensorboard)
        if self.dist.is_main:
            write_run_files(self.run_dir, self.cfg, self.data)
        self._pick_preview()
        cfg, size = self.cfg, self.data.input_size
        self.say(f"model: preset {cfg.preset}, {sum(p.numel() for p in self.model.parameters()):,} parameters, "
                 f"input {size[0]}x{size[1]} (H x W), latent {self.model.latent_size}; "
                 f"{self.dist.world_size} process(es) on {self.dist.device}, batch {self.batch_size}/process x "
                 f"{cfg.grad_accum} accumulation, amp {str(self.amp).replace('torch.', '') if self.amp else 'fp32'}"
                 f"{', compiled' if cfg.compile else ''}")

    def _open_run(self) -> dict[str, Any] | None:
        """Threads, seeds, the run folder check and the checkpoint to resume (if any)."""
        cfg = self.cfg
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        _seed_everything(cfg.seed)
        self.run_dir = Path(cfg.out).expanduser()
        if cfg.data and not cfg.synthetic:
            data = Path(cfg.data).expanduser().resolve()
            if self.run_dir.resolve() == data or data in self.run_dir.resolve().parents:
                raise ValueError(f"--out {self.run_dir} is inside the data folder {cfg.data}: its figures would be "
                                 "read as frames of a sequence next time; pick a run folder outside the data")
        if not cfg.resume and not cfg.overwrite and (self.run_dir / "last.ckpt").is_file():
            raise ValueError(f"{self.run_dir} already holds a run (last.ckpt): continue it with --resume "
                             f"{self.run_dir}, start afresh there with --overwrite, or pick another --out")
        if not cfg.resume:
            return None
        self.resume_path = find_checkpoint(cfg.resume)
        ckpt = load_training_checkpoint(self.resume_path)
        done = int(ckpt.get("epoch", 0))
        if cfg.epochs <= done:  # would train nothing, yet rewrite config.yaml with the smaller total
            raise ValueError(f"{self.resume_path} has done {done} epoch(s): --epochs is the new total, so give more "
                             f"than {done} (e.g. --epochs {done + 10})")
        return ckpt

    def _build_data(self, ckpt: dict[str, Any] | None) -> None:
        cfg, dev = self.cfg, self.dist.device
        apply_memory_cap(cfg.max_memory, dev, self.say)
        self.amp = amp_dtype(cfg.amp, dev)
        self.progress = cfg.progress and self.dist.is_main and sys.stderr.isatty()
        split_file = self.run_dir / "split.json"
        split = load_split(split_file) if ckpt is not None and split_file.is_file() else None
        self.data = build_data(cfg, self.dist, split, progress=cfg.progress)
        if cfg.overwrite and not cfg.resume and self.dist.is_main:
            clear_run(self.run_dir)
        self._describe_data()

    def _build_model(self, ckpt: dict[str, Any] | None) -> None:
        cfg, dev = self.cfg, self.dist.device
        self.model = AutoEncoder_CNNV3(config=preset_config(cfg.preset, self.data.input_size,
                                                            **cfg.model_overrides()))
        if ckpt is not None:
            self._load_weights(ckpt)
        self.model.to(dev)
        if cfg.channels_last:
            self.model.to(memory_format=torch.channels_last)
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.set_float32_matmul_precision("high")

    def _build_loaders(self) -> None:
        cfg, dev = self.cfg, self.dist.device
        bs = cfg.batch_size
        if bs == "auto":
            limit = max(1, len(self.data.train) // self.dist.world_size)
            widest = (self.data.input_size[0], max(int(w) for w in np.unique(self.data.train.widths)))
            bs = find_batch_size(self.model, widest, dev, self.amp, cfg.channels_last, limit, self.say)
            bs = self._min_over_ranks(bs)
        self.batch_size = int(bs)
        workers = cfg.workers if cfg.workers is not None else (
            0 if dev.type == "cpu" else min(8, (os.cpu_count() or 2) // self.dist.world_size))
        self.train_loader, self.train_sampler = make_loader(self.data.train, self.batch_size, shuffle=True,
                                                            seed=cfg.seed, dist=self.dist, workers=workers)
        self.val_loader = None
        if self.data.val is not None:
            self.val_loader = make_loader(self.data.val, self.batch_size, shuffle=False, seed=cfg.seed,
                                          dist=self.dist, workers=workers)[0]
        self.n_batches = len(self.train_sampler.inner)
        self.steps_per_epoch = math.ceil(self.n_batches / cfg.grad_accum)

    def _build_optimization(self) -> None:
        cfg, dev = self.cfg, self.dist.device
        self.optimizer = build_optimizer(self.model, cfg.lr, cfg.weight_decay, dev)
        self.schedule = LRSchedule(cfg.schedule, cfg.lr, round(cfg.warmup_epochs * self.steps_per_epoch),
                                   cfg.epochs * self.steps_per_epoch, cfg.min_lr_ratio, cfg.plateau_patience,
                                   cfg.plateau_factor)
        self.scaler = make_scaler(dev, self.amp)
        self.ema = make_ema(self.model, cfg.ema) if cfg.ema else None
        self.loss_fn = ReconstructionLoss(cfg.loss, cfg.ib_weight)

    def _pick_preview(self) -> None:
        """Fixed validation frames (train frames without validation) for the figures."""
        src = self.data.val if self.data.val is not None else self.data.train
        size = self.data.input_size
        idx = preview_indices(src, 4 if size[1] > 2 * size[0] else 8)
        self.preview = torch.stack([src[i] for i in idx])
        self.preview_labels = [f"{m.seq} #{m.frame_idx}" for m in (src.meta(i) for i in idx)]

    def _describe_data(self) -> None:
        s = self.data.summary
        msg = (f"data: {s.get('root')}: {s.get('n_frames')} frames in {plural(s.get('n_sequences'), 'sequence')} -> "
               f"{s.get('n_train')} train / {s.get('n_val')} validation frames (split by sequence)")
        if s.get("n_skipped"):
            first = s.get("skipped", [])[:3]
            msg += f"; {s['n_skipped']} unreadable file(s) skipped: " + "; ".join(f"{p} ({r})" for p, r in first)
        self.say(msg)

    def _min_over_ranks(self, value: int) -> int:
        t = torch.tensor([-value], device=self.dist.device)
        return int(-all_reduce_(t, "max").item())


    def _wrap(self) -> None:
        net: nn.Module = _WithLatent(self.model)
        self.ddp = None
        if self.dist.distributed:
            dev = self.dist.device
            net = self.ddp = nn.parallel.DistributedDataParallel(
                net, device_ids=[dev.index] if dev.type == "cuda" else None)
        if self.cfg.compile:
            net = torch.compile(net)
        self.net = net

    # ================================================================== the loop
    def _loop(self) -> TrainResult:
        cfg = self.cfg
        stopped: str | None = None
        with SignalFlags() as flags:
            self.flags = flags
            if self._rng is not None:
                restore_rng(self._rng)
            while self.epoch < cfg.epochs:
                if not self._train_epoch():
                    stopped = flags.stop_reason or "signal"
                    self._save("last.ckpt")
                    self.say(f"stopped by {stopped} at epoch {self.epoch + 1} after {self.batches_done} of "
                             f"{self.n_batches} batches (step {self.step}); saved {self.run_dir / 'last.ckpt'}. "
                             f"Resume with: aecnn train --resume {self.run_dir}")
                    break
                self._end_epoch()
                if self._stop_requested():
                    stopped = flags.stop_reason or "signal"
                    self.say(f"stopped by {stopped} after epoch {self.epoch}; saved {self.run_dir / 'last.ckpt'}. "
                             f"Resume with: aecnn train --resume {self.run_dir} --epochs {cfg.epochs}")
                    break
                if cfg.early_stop and self.bad_epochs >= cfg.early_stop:
                    stopped = "early_stop"
                    self.say(f"early stop: no improvement for {self.bad_epochs} epochs "
                             f"(best {self.best['metric']:.6g} at epoch {self.best['epoch']})")
                    break
        if stopped in (None, "early_stop") and self.dist.is_main:
            self._final_outputs()
        return TrainResult(self.run_dir, self.epoch, self.step, stopped,
                           self.history[-1] if self.history else {}, dict(self.best), list(self.spike_watch.spikes))

    def _to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dist.device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last else x

    def _sync_flags(self, nonfinite: torch.Tensor | None = None) -> tuple[bool, bool, int, bool]:
        """(non-finite loss, stop, SIGUSR1 count, save now), agreed over all ranks."""
        f = self.flags
        vals = torch.tensor([0.0 if nonfinite is None else float(nonfinite), float(f.stop_reason is not None),
                             float(f.take_lr_drops()), float(f.take_save_now())], device=self.dist.device)
        if self.dist.distributed:
            all_reduce_(vals)
        a, b, c, d = vals.tolist()
        return a > 0, b > 0, int(c), d > 0

    def _stop_requested(self) -> bool:
        """Whether any rank got SIGINT/SIGTERM (other pending flags are left for the next step)."""
        t = torch.tensor([float(self.flags.stop_reason is not None)], device=self.dist.device)
        return bool(all_reduce_(t, "max").item() > 0)

    def _train_epoch(self) -> bool:
        """One epoch (or its rest, after a mid-epoch resume). False when stopped by a signal."""
        cfg, dev, accum = self.cfg, self.dist.device, self.cfg.grad_accum
        skip = self.batches_done
        self._session = {"start": time.perf_counter(), "images": 0}
        self.train_sampler.set_epoch(self.epoch, skip)
        self.net.train()
        part = self.partial or {}
        self.partial = None
        sums = torch.tensor([part.get("loss_sum", 0.0), part.get("images", 0.0)], dtype=torch.float64, device=dev)
        t0, seconds_before = time.perf_counter(), float(part.get("seconds", 0.0))
        per_batch = self.batch_size * self.dist.world_size
        bar = tqdm(total=self.n_batches * per_batch, initial=skip * per_batch, unit="img", leave=False,
                   desc=f"epoch {self.epoch + 1}/{cfg.epochs}", disable=not self.progress, dynamic_ncols=True)
        bad = torch.zeros((), dtype=torch.bool, device=dev)
        last_loss = torch.zeros((), device=dev)
        segment = self._segment
        try:
            for i, x in enumerate(self.train_loader, start=skip):
                x = self._to_device(x)
                start = i // accum * accum
                group = min(accum, self.n_batches - start)
                last_in_group = i + 1 == start + group
                sync = self.ddp.no_sync() if self.ddp is not None and not last_in_group else contextlib.nullcontext()
                with sync:
                    with autocast(dev, self.amp):
                        recon, z = self.net(x)
                    loss, _ = self.loss_fn(recon, x, z)
                    self.scaler.scale(loss / group).backward()
                last_loss = loss.detach()
                bad |= ~torch.isfinite(last_loss)
                sums += torch.stack([last_loss.double() * x.shape[0],
                                     torch.tensor(float(x.shape[0]), dtype=torch.float64, device=dev)])
                segment[0] += last_loss.double()
                segment[1] += 1
                self._session["images"] += x.shape[0] * self.dist.world_size
                bar.update(x.shape[0] * self.dist.world_size)
                if not last_in_group:
                    continue
                nonfinite, stop, drops, save_now = self._sync_flags(bad)
                if nonfinite:
                    self._diverged(float(last_loss), i)
                lr = self._optimizer_step()
                self.batches_done = i + 1
                if drops:
                    self.schedule.divide(LR_DIVISOR ** drops)
                    self.say(f"SIGUSR1: learning rate divided by {LR_DIVISOR ** drops:g} -> "
                             f"{self.schedule.lr(self.step):.3g} (from step {self.step})")
                if self.progress and self.step % 5 == 0:
                    bar.set_postfix(loss=f"{float(last_loss):.4g}", lr=f"{lr:.2g}", refresh=False)
                if self.step % 10 == 0 and self.log is not None:
                    self.log.scalars({"train/loss_step": float(last_loss), "lr": lr}, self.step)
                if self.step % SPIKE_SEGMENT_STEPS == 0:
                    self._watch_spikes(segment)
                if save_now or stop:  # global sums so far, so a mid-epoch resume reports the whole epoch
                    total = all_reduce_(sums.clone())
                    self.partial = {"loss_sum": float(total[0]), "images": float(total[1]),
                                    "seconds": seconds_before + time.perf_counter() - t0}
                    if not stop:
                        self._save("last.ckpt")
                        self.partial = None
                        self.say(f"SIGUSR2: saved {self.run_dir / 'last.ckpt'} at step {self.step}")
                if stop:
                    if self.batches_done == self.n_batches:
                        break  # the epoch is complete: finish it normally, then stop
                    return False
        finally:
            bar.close()
        total = all_reduce_(sums)
        self._epoch_stats = {"train_loss": float(total[0] / total[1]) if total[1] > 0 else math.nan,
                             "train_seconds": seconds_before + time.perf_counter() - t0,
                             "train_end": time.perf_counter()}
        return True

    def _watch_spikes(self, segment: torch.Tensor) -> None:
        """Feed the mean loss of the steps since the last segment (SPIKE_SEGMENT_STEPS, fewer in the first
        after a resume; this rank's batches) to the spike watch and say when a spike starts (one host sync
        per segment; the flags already sync each step)."""
        total, n = segment.tolist()
        segment.zero_()
        first, self._segment_from = self._segment_from + 1, self.step
        spike = self.spike_watch.update(total / n if n else math.nan, self.step)
        if spike is not None:
            self.say(f"loss spike at step {spike.at} (epoch {self.epoch + 1}): mean training loss {spike.final:.3g} "
                     f"over steps {first}-{spike.at}, {spike.ratio:.0f}x the lowest so far ({spike.before:.3g}); "
                     f"best.ckpt keeps the best validated weights. If the loss does not come back, compare with "
                     f"another --seed (README, 'Speed, memory and quality')")

    def _optimizer_step(self) -> float:
        lr = self.schedule.apply(self.optimizer, self.step)
        if self.cfg.clip_grad:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        self.step += 1
        return lr

    def _diverged(self, value: float, batch: int) -> None:
        last = self.run_dir / "last.ckpt"
        kept = (f"the last good checkpoint, {last} (epoch {self.history[-1]['epoch']}), is kept"
                if self.history and last.is_file() else "no checkpoint had been written yet")
        what = "nan" if math.isnan(value) else ("inf" if math.isinf(value) else "nan/inf (on another rank)")
        raise TrainingDiverged(
            f"loss became {what} at step {self.step + 1} (epoch {self.epoch + 1}, batch {batch + 1}); training "
            f"stopped and nothing was saved; {kept}. Try a lower --lr, --clip-grad 1.0 or --amp fp32")

    # ================================================================== end of run
    def _final_outputs(self) -> None:
        rd = self.run_dir
        model = self.eval_model
        stale = stale_batchnorm(model)
        if stale is not None:
            here = (f"; for this run: aecnn recalibrate-bn {shlex.quote(str(rd / 'best.ckpt'))} "
                    f"{shlex.quote(str(self.cfg.data))} --out {shlex.quote(str(rd / 'best_recalibrated.ckpt'))}"
                    if self.cfg.data and not self.cfg.synthetic else "")
            logger.warning("%s%s%s.", stale_warning(stale),
                           "" if self.val_loader is not None else " (there was no validation set to show it)", here)
        pick = sorted({0, len(self.preview) // 2})  # two frames far apart (often two sequences)
        x = self._to_device(self.preview[pick])
        try:
            plots.save_attention_figure(rd / "attention.png", model, x, [self.preview_labels[i] for i in pick])
        except Exception as exc:  # noqa: BLE001  (a figure must never cost the run)
            logger.warning("attention figure failed: %s", exc)
        if self.cfg.save_val_latents and self.data.val is not None:
            self.save_val_latents(rd / "val_latents.npz")
