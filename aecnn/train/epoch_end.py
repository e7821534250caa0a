"""The end of an epoch: validation, the metrics row, best / early-stop bookkeeping and the files
rank 0 writes (metrics.csv, TensorBoard, checkpoints, exported weights, figures).

::

    _end_epoch: _validate (EMA weights if on; sums all-reduced) -> metrics row -> best / bad_epochs
      -> plateau schedule -> rank 0: _write_epoch_outputs -> one progress line (with the ETA)

:class:`EpochEndMixin` is mixed into :class:`aecnn.train.trainer.Trainer` and works on its state
(``cfg``, ``dist``, ``model``, ``ema``, ``val_loader``, ``history``, ``best``...).
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aecnn.models import AutoEncoder_CNNV3
from aecnn.train import plots
from aecnn.train.artifacts import encode_dataset, export_weights
from aecnn.train.metrics import MetricSums
from aecnn.train.optim import autocast
from aecnn.train.runlog import save_latents


class _WithLatent(nn.Module):
    """``x -> (reconstruction, latent)`` in one forward, so DDP and compile see a single call."""

    def __init__(self, ae: AutoEncoder_CNNV3) -> None:
        super().__init__()
        self.ae = ae

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.ae.Embedding(x)  # (B, L) or (B, c, gh, gw)
        return self.ae.decode(z, tuple(x.shape[-2:])), z  # (B, 1, H, W)


class EpochEndMixin:
    """Validation and the end-of-epoch outputs of a :class:`~aecnn.train.trainer.Trainer`."""

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

    def save_val_latents(self, path: Path) -> Path:
        """Latents of every validation frame, in sequence and frame order (rank 0, one process)."""
        latents, seqs, frames = encode_dataset(self.eval_model, self.data.val, self.batch_size,
                                               self._to_device, self.amp)
        model = self.eval_model
        meta = {"model_config": model.get_config(), "latent_shape": list(model.latent_shape)}
        return save_latents(path, latents, seqs, frames, self.data.viscosity, meta)


def _hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
