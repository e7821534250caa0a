"""The training state a checkpoint carries: :meth:`TrainStateMixin._save` writes it (rank 0,
atomically), :meth:`~TrainStateMixin._load_weights` and :meth:`~TrainStateMixin._restore` read it
back on ``--resume``.

A training checkpoint is an inference checkpoint (:func:`aecnn.checkpoint.save_checkpoint`: the
EMA weights when on) plus the optimizer, schedule, scaler and RNG states, the position (epoch,
step, batches into the epoch, the partial epoch's sums), the history, the best epoch and, with
EMA, the raw training weights. The file-level helpers live in :mod:`aecnn.train.checkpointing`.

:class:`TrainStateMixin` is mixed into :class:`aecnn.train.trainer.Trainer` and works on its state.
"""
from __future__ import annotations

from typing import Any

from aecnn.checkpoint import clean_state_dict, save_checkpoint
from aecnn.train.checkpointing import capture_rng


class TrainStateMixin:
    """Save and restore the state of a :class:`~aecnn.train.trainer.Trainer`."""

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
