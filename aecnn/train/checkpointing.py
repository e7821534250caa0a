"""Training checkpoints: RNG states in a ``weights_only``-safe form, and resumable save/load.

``torch.load(weights_only=True)`` accepts tensors, numbers, strings, lists, tuples and
dicts only, so numpy's and Python's RNG states are converted to tensors and lists here.

A training checkpoint is an :func:`aecnn.checkpoint.make_checkpoint` dict plus::

    optimizer, scheduler, scaler, ema (or None), rng, epoch (completed), step (optimizer steps),
    batches_done (into the next epoch, after an interruption), train_config, history, best, extra
"""
from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aecnn.checkpoint import load_checkpoint

logger = logging.getLogger(__name__)


def capture_rng() -> dict[str, Any]:
    """Python, numpy, torch CPU and CUDA generator states, as tensors/lists/numbers."""
    version, py_state, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": int(version), "state": [int(v) for v in py_state],
                   "gauss": None if gauss is None else float(gauss)},
        "numpy": {"name": str(name), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng` (CUDA states only when the device count matches)."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npst = state["numpy"]
    np.random.set_state((npst["name"], npst["keys"].numpy().astype(np.uint32), npst["pos"],
                         npst["has_gauss"], npst["cached"]))
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([c.cpu() for c in cuda])
        else:
            logger.warning("checkpoint has %d CUDA RNG states, this machine %d devices; CUDA RNG not restored",
                           len(cuda), torch.cuda.device_count())


def find_checkpoint(resume: str | Path) -> Path:
    """``--resume`` target: a checkpoint file, or a run folder (its ``last.ckpt``).

    Raises:
        FileNotFoundError: nothing to resume from, with what was looked for.
    """
    path = Path(resume)
    if path.is_dir():
        ckpt = path / "last.ckpt"
        if not ckpt.is_file():
            raise FileNotFoundError(f"cannot resume: {path} has no last.ckpt (is it an aecnn run folder?)")
        return ckpt
    if path.is_file():
        return path
    raise FileNotFoundError(f"cannot resume: {path} does not exist")


def load_training_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by the trainer (``weights_only=True``).

    Raises:
        ValueError: the file is not a training checkpoint (e.g. a plain state_dict or best.ckpt
            of an older run without optimizer state).
    """
    ckpt = load_checkpoint(path)
    missing = [k for k in ("optimizer", "epoch", "step", "rng") if k not in ckpt]
    if missing:
        raise ValueError(f"{path} holds no training state ({', '.join(missing)} missing); "
                         "resume from a run folder or its last.ckpt")
    return ckpt
