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
"""
from __future__ import annotations

import contextlib
import logging
import math
import os
import random
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

from aecnn.checkpoint import clean_state_dict, save_checkpoint
from aecnn.data.dataset import load_split
from aecnn.models import AutoEncoder_CNNV3, preset_config
from aecnn.train import plots
from aecnn.train.artifacts import clear_run, encode_dataset, export_weights, write_run_files
from aecnn.train.checkpointing import capture_rng, find_checkpoint, load_training_checkpoint, restore_rng
from aecnn.train.config import TrainConfig
from aecnn.train.data import build_data, make_loader, preview_indices
from aecnn.train.distributed import DistInfo, all_reduce_, cleanup, init_distributed
from aecnn.train.hardware import apply_memory_cap, find_batch_size
from aecnn.train.losses import ReconstructionLoss
from aecnn.train.metrics import MetricSums
from aecnn.train.optim import LRSchedule, amp_dtype, autocast, build_optimizer, make_ema, make_scaler
from aecnn.train.runlog import RunLog, save_latents
from aecnn.train.signals import LR_DIVISOR, SignalFlags

logger = logging.getLogger(__name__)


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
    """

    run_dir: Path
    epochs_done: int
    step: int
    stopped: str | None
    last: dict[str, Any] = field(default_factory=dict)
    best: dict[str, Any] = field(default_factory=dict)


class _WithLatent(nn.Module):
    """``x -> (reconstruction, latent)`` in one forward, so DDP and compile see a single call."""

    def __init__(self, ae: AutoEncoder_CNNV3) -> None:
        super().__init__()
        self.ae = ae

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.ae.Embedding(x)  # (B, L) or (B, c, gh, gw)
        return self.ae.decode(z, tuple(x.shape[-2:])), z  # (B, 1, H, W)


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


class Trainer:
    """One training run; see the module docstring for the order of things."""

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
        self._rng = None
        if ckpt is not None:
            self._restore(ckpt)
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
        if not cfg.resume and not cfg.overwrite and (self.run_dir / "last.ckpt").is_file():
            raise ValueError(f"{self.run_dir} already holds a run (last.ckpt): continue it with --resume "
                             f"{self.run_dir}, start afresh there with --overwrite, or pick another --out")
        if not cfg.resume:
            return None
        self.resume_path = find_checkpoint(cfg.resume)
        return load_training_checkpoint(self.resume_path)

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
        msg = (f"data: {s.get('root')}: {s.get('n_frames')} frames in {s.get('n_sequences')} sequences -> "
               f"{s.get('n_train')} train / {s.get('n_val')} validation frames (split by sequence)")
        if s.get("n_skipped"):
            first = s.get("skipped", [])[:3]
            msg += f"; {s['n_skipped']} unreadable file(s) skipped: " + "; ".join(f"{p} ({r})" for p, r in first)
        self.say(msg)

    def _min_over_ranks(self, value: int) -> int:
        t = torch.tensor([-value], device=self.dist.device)
        return int(-all_reduce_(t, "max").item())

    def _load_weights(self, ckpt: dict[str, Any]) -> None:
        saved = ckpt.get("model_config")
        if saved is not None and dict(saved) != self.model.get_config():
            diff = sorted(k for k in saved if saved.get(k) != self.model.get_config().get(k))
            raise ValueError(f"cannot resume: the checkpoint's model differs from the configured one in {diff}; "
                             "resume without changing the model options")
        self.model.load_state_dict(ckpt.get("train_model") or ckpt["model"])

    def _restore(self, ckpt: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.schedule.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        if self.ema is not None:
            if "ema_n_averaged" in ckpt:
                self.ema.module.load_state_dict(ckpt["model"])
                self.ema.n_averaged.fill_(int(ckpt["ema_n_averaged"]))
            else:
                self.say("the checkpoint has no EMA weights: the EMA starts from the current weights")
        self.epoch, self.step = int(ckpt["epoch"]), int(ckpt["step"])
        self.batches_done = int(ckpt.get("batches_done", 0))
        if self.batches_done > self.n_batches:
            raise ValueError(f"cannot resume mid-epoch: the checkpoint was {self.batches_done} batches into an "
                             f"epoch of {self.n_batches} (batch size or data changed?)")
        self.partial = ckpt.get("partial") if self.dist.is_main else None
        self.history = list(ckpt.get("history", []))
        self.best = dict(ckpt.get("best", self.best))
        self.bad_epochs = int(ckpt.get("bad_epochs", 0))
        self._rng = ckpt["rng"]
        where = f"epoch {self.epoch}" + (f" + {self.batches_done} batches" if self.batches_done else "")
        self.say(f"resumed from {self.resume_path} at {where}, step {self.step}")
        if self.epoch >= self.cfg.epochs:
            self.say(f"the run already has {self.epoch} epochs; pass a larger --epochs to train further")

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
                           self.history[-1] if self.history else {}, dict(self.best))

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

    # ================================================================== end of epoch
    @torch.no_grad()
    def _validate(self) -> dict[str, float]:
        if self.val_loader is None:
            return {"loss": math.nan, "psnr": math.nan, "ssim": math.nan}
        model = self.eval_model
        was = model.training
        model.eval()
        net = _WithLatent(model)
        sums = MetricSums(self.dist.device)
        for x in self.val_loader:
            x = self._to_device(x)
            with autocast(self.dist.device, self.amp):
                recon, z = net(x)
            loss, _ = self.loss_fn(recon, x, z)
            sums.update(recon, x, loss)
        model.train(was)
        return sums.all_reduce().means()

    @property
    def eval_model(self) -> AutoEncoder_CNNV3:
        """The weights validated, exported and kept as best: the EMA when on."""
        return self.ema.module if self.ema is not None else self.model

    def _end_epoch(self) -> None:
        cfg, st = self.cfg, self._epoch_stats
        val = self._validate()
        self.epoch += 1
        self.batches_done = 0
        train_s = st["train_end"] - self._session["start"]  # this session's training time (no validation)
        row = {"epoch": self.epoch, "step": self.step, "train_loss": st["train_loss"], "val_loss": val["loss"],
               "val_psnr": val["psnr"], "val_ssim": val["ssim"], "lr": self.schedule.lr(max(0, self.step - 1)),
               "images_per_s": self._session["images"] / max(train_s, 1e-9),
               "seconds": st["train_seconds"] + time.perf_counter() - st["train_end"]}
        self.history.append(row)
        metric = val["loss"] if math.isfinite(val["loss"]) else st["train_loss"]
        improved = metric < self.best["metric"]
        if improved:
            self.best = {"metric": metric, "epoch": self.epoch}
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if self.schedule.epoch_end(metric):
            self.say(f"plateau: learning rate reduced to {self.schedule.lr(self.step):.3g}")
        if self.dist.is_main:
            self._write_epoch_outputs(row, improved)
        eta = (cfg.epochs - self.epoch) * row["seconds"]
        val_part = (f"val {row['val_loss']:.5g}  PSNR {row['val_psnr']:.2f} dB  SSIM {row['val_ssim']:.4f}"
                    if math.isfinite(row["val_loss"]) else "no validation")
        self.say(f"epoch {self.epoch}/{cfg.epochs}  step {self.step}  train {row['train_loss']:.5g}  {val_part}  "
                 f"lr {row['lr']:.3g}  {row['images_per_s']:.1f} img/s  {row['seconds']:.1f} s"
                 f"{'  *best' if improved else ''}" + (f"  ETA {_hms(eta)}" if self.epoch < cfg.epochs else ""))

    def _write_epoch_outputs(self, row: dict[str, Any], improved: bool) -> None:
        cfg, rd = self.cfg, self.run_dir
        self.log.write_metrics(self.history)
        self.log.scalars({"train/loss": row["train_loss"], "val/loss": row["val_loss"], "val/psnr": row["val_psnr"],
                          "val/ssim": row["val_ssim"], "lr": row["lr"], "images_per_s": row["images_per_s"]},
                         self.step)
        self._save("last.ckpt")
        if improved:
            self._save("best.ckpt")
            export_weights(self.run_dir, self.eval_model)
        if cfg.save_every and self.epoch % cfg.save_every == 0:
            self._save(f"epoch_{self.epoch:03d}.ckpt")
        recon = self._reconstruct(self.preview)
        title = (f"epoch {self.epoch}: val PSNR {row['val_psnr']:.2f} dB, SSIM {row['val_ssim']:.3f}"
                 if math.isfinite(row["val_psnr"]) else f"epoch {self.epoch} (training frames; no validation set)")
        plots.save_recon_grid(rd / "reconstructions.png", self.preview, recon, self.preview_labels, title)
        if cfg.recon_every and (self.epoch % cfg.recon_every == 0 or self.epoch == cfg.epochs):
            plots.save_recon_grid(rd / f"recon_epoch_{self.epoch:03d}.png", self.preview, recon,
                                  self.preview_labels, title)
        plots.save_loss_curve(rd / "loss_curve.png", self.history)

    @torch.no_grad()
    def _reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        model = self.eval_model
        was = model.training
        model.eval()
        with autocast(self.dist.device, self.amp):
            out = model(self._to_device(x)).float().cpu()
        model.train(was)
        return out

    # ================================================================== saving
    def _save(self, name: str) -> None:
        """Atomic training checkpoint ``run_dir/name`` (rank 0 only)."""
        if not self.dist.is_main:
            return
        extra: dict[str, Any] = {
            "optimizer": self.optimizer.state_dict(), "scheduler": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "rng": capture_rng(), "epoch": self.epoch, "step": self.step, "batches_done": self.batches_done,
            "partial": self.partial, "train_config": self.cfg.to_dict(), "history": self.history,
            "best": self.best, "bad_epochs": self.bad_epochs, "geometry": self.data.geometry.to_dict(),
        }
        if self.ema is not None:
            extra["train_model"] = clean_state_dict(self.model.state_dict())
            extra["ema_n_averaged"] = int(self.ema.n_averaged)
        save_checkpoint(self.run_dir / name, self.eval_model, **extra)

    def _final_outputs(self) -> None:
        rd = self.run_dir
        model = self.eval_model
        pick = sorted({0, len(self.preview) // 2})  # two frames far apart (often two sequences)
        x = self._to_device(self.preview[pick])
        try:
            plots.save_attention_figure(rd / "attention.png", model, x, [self.preview_labels[i] for i in pick])
        except Exception as exc:  # noqa: BLE001  (a figure must never cost the run)
            logger.warning("attention figure failed: %s", exc)
        if self.cfg.save_val_latents and self.data.val is not None:
            self.save_val_latents(rd / "val_latents.npz")

    def save_val_latents(self, path: Path) -> Path:
        """Latents of every validation frame, in sequence and frame order (rank 0, one process)."""
        latents, seqs, frames = encode_dataset(self.eval_model, self.data.val, self.batch_size,
                                               self._to_device, self.amp)
        return save_latents(path, latents, seqs, frames, self.data.viscosity)


def _hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
