"""Files of the run folder besides checkpoints and metrics: the run description, the exported
weights, and the latents of a dataset. Every write is atomic."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from aecnn.checkpoint import atomic_save, clean_state_dict, save_safetensors
from aecnn.data.dataset import save_split
from aecnn.io import atomic_write
from aecnn.train.config import TrainConfig, save_yaml
from aecnn.train.data import TrainData
from aecnn.train.optim import autocast


def write_run_files(run_dir: Path, cfg: TrainConfig, data: TrainData) -> None:
    """``config.yaml`` (resolved options), ``split.json`` (sequences) and ``data.json`` (what was found)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    save_yaml(run_dir / "config.yaml", cfg)
    save_split(run_dir / "split.json", data.train_sequences, data.val_sequences)
    info = {**data.summary, "geometry": data.geometry.to_dict(), "input_size": list(data.input_size),
            "viscosity": data.viscosity}
    text = json.dumps(info, indent=1, default=str) + "\n"
    atomic_write(run_dir / "data.json", lambda tmp: Path(tmp).write_text(text))


def clear_run(run_dir: Path) -> None:
    """``--overwrite``: remove an earlier run's checkpoints, figures and events."""
    if not run_dir.is_dir():
        return
    for pattern in ("*.ckpt", "recon_epoch_*.png", "reconstructions.png", "attention.png", "loss_curve.png",
                    "val_latents.npz", "metrics.csv", "model_state_dict.pt", "model.safetensors"):
        for f in run_dir.glob(pattern):
            f.unlink(missing_ok=True)
    shutil.rmtree(run_dir / "tensorboard", ignore_errors=True)


def export_weights(run_dir: Path, model: nn.Module) -> None:
    """``model_state_dict.pt`` (a plain state_dict, no ``_orig_mod.``: what the V1 LSTM code
    loads with ``torch.load``) and ``model.safetensors`` (with the config in its metadata)."""
    atomic_save(clean_state_dict(model.state_dict()), run_dir / "model_state_dict.pt")
    save_safetensors(run_dir / "model.safetensors", model)


@torch.no_grad()
def encode_dataset(model: nn.Module, ds: Dataset, batch_size: int, to_device: Callable[[torch.Tensor], torch.Tensor],
                   amp: torch.dtype | None) -> tuple[torch.Tensor, list[str], list[int]]:
    """Flat latents ``(N, L)`` of every item of ``ds`` in order, with sequence names and frame indices.

    Items are batched by width (frames of a ``--height`` run may differ), so the order is
    kept only within a width; sequence names and frame indices say which frame is which.
    """
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    widths = [int(w) for w in ds.widths]
    order = sorted(range(len(ds)), key=lambda i: (widths[i], i))
    out, seqs, frames = [], [], []
    start = 0
    while start < len(order):
        w = widths[order[start]]
        idx = [i for i in order[start:start + batch_size] if widths[i] == w]
        x = to_device(torch.stack([ds[i] for i in idx]))
        with autocast(device, amp):
            out.append(model.encode(x).float().cpu())
        for i in idx:
            m = ds.meta(i)
            seqs.append(m.seq)
            frames.append(m.frame_idx)
        start += len(idx)
    model.train(was)
    return torch.cat(out), seqs, frames
