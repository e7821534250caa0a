"""The run folder's records: ``metrics.csv``, TensorBoard events, the latents of the
validation frames. Only rank 0 writes; every write is atomic.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aecnn.io import atomic_write

logger = logging.getLogger(__name__)

METRIC_COLUMNS = ("epoch", "step", "train_loss", "val_loss", "val_psnr", "val_ssim", "lr", "images_per_s",
                  "seconds")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.6g}"
    return str(v)


class RunLog:
    """``metrics.csv`` (rewritten whole each epoch, so a resumed run continues it cleanly) and
    TensorBoard scalars when ``tensorboard`` is importable and wanted.

    Args:
        run_dir: the run folder.
        enabled: False on DDP ranks other than 0 (nothing is written).
        tensorboard: try to write TensorBoard events to ``run_dir/tensorboard``.
    """

    def __init__(self, run_dir: Path, enabled: bool = True, tensorboard: bool = True) -> None:
        self.run_dir, self.enabled = Path(run_dir), enabled
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                logger.info("tensorboard is not installed: no TensorBoard events (pip install tensorboard)")
            else:
                self.tb = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))

    def write_metrics(self, history: Sequence[dict[str, Any]]) -> None:
        if not self.enabled:
            return
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(METRIC_COLUMNS)
        for row in history:
            writer.writerow([_fmt(row.get(k, "")) for k in METRIC_COLUMNS])
        text = buf.getvalue()
        atomic_write(self.run_dir / "metrics.csv", lambda tmp: Path(tmp).write_text(text))

    def scalars(self, values: dict[str, float], step: int) -> None:
        if self.tb is None:
            return
        for tag, v in values.items():
            if v is not None and math.isfinite(float(v)):
                self.tb.add_scalar(tag, float(v), step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.flush()
            self.tb.close()
            self.tb = None


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    """``metrics.csv`` rows with numbers parsed (empty cells become NaN)."""
    rows = []
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            rows.append({k: (float(v) if v not in ("", None) else math.nan) for k, v in r.items()})
    return rows


def save_latents(path: Path, latents: torch.Tensor, sequences: Sequence[str], frame_idx: Sequence[int],
                 viscosity: dict[str, float] | None = None, meta: dict | None = None) -> Path:
    """``val_latents.npz``: ``latents`` (N, L) float32, ``sequence`` (N,) names, ``frame_idx`` (N,),
    ``sequence_names`` (S,) and ``viscosity`` (S,) (NaN where unknown), frames in sequence order;
    also the index and ``meta`` (JSON) of ``aecnn embed``'s .npz, so ``aecnn fit-sequence`` reads it."""
    names = sorted(set(sequences), key=list(sequences).index)
    visc = np.array([(viscosity or {}).get(s, math.nan) for s in names], dtype=np.float64)
    n = len(frame_idx)
    arrays = {"latents": latents.detach().float().cpu().numpy(), "sequence": np.asarray(list(sequences)),
              "frame_idx": np.asarray(frame_idx, dtype=np.int64), "sequence_names": np.asarray(names),
              "viscosity": visc, "frame_index": np.asarray(frame_idx, dtype=np.int64),
              "path": np.full(n, "", dtype="<U1"), "stack_index": np.full(n, -1, dtype=np.int64),
              "meta": np.asarray(json.dumps({"source": "aecnn train (validation frames)", **(meta or {})}))}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    return atomic_write(path, write)
