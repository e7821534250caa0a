"""Training states of the quality benchmark on disk (``eval-quality --train-state DIR``).

A training that ``--deadline`` stops saves its whole state (:attr:`aecnn.quality.loop.TrainStats.state`)
under DIR, named after its run; a later run of the same benchmark with the same DIR continues it from
there (:func:`aecnn.quality.loop.train` ``resume=``) instead of starting over, so a budget longer than
one device call is spent over several. The state is deleted once its training has completed and been
scored. Each file records which benchmark run it belongs to, and a state of another run is refused with
what differs, before any data is rendered.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from aecnn.checkpoint import atomic_save
from aecnn.quality.generator import generator_record
from aecnn.quality.plan import BenchConfig, Run


def state_path(state_dir: str | os.PathLike, run: Run) -> Path:
    kind, method, latent, budget = run.key
    return Path(state_dir) / f"{kind}-{method}-L{latent}-{budget}.state.pt"


def identity(cfg: BenchConfig, run: Run) -> dict:
    """What must be the same for a state to continue: the run, its network and its data (the training
    recipe itself, budget, batch, lr, beta2, seed, is checked by :func:`aecnn.quality.loop.train`)."""
    return {"run": list(run.key), "preset": cfg.preset, "model_overrides": [list(kv) for kv in cfg.model_overrides],
            "data": {"seed": cfg.seed, "train_sequences": cfg.train_sequences, "val_sequences": cfg.val_sequences,
                     "frames_per_sequence": cfg.frames_per_sequence, "crop_size": list(cfg.crop_size),
                     "strip_size": list(cfg.strip_size), "synth_overrides": [list(kv) for kv in cfg.synth_overrides],
                     # the generator itself: the same overrides render other frames after a default changes
                     "generator": generator_record(cfg.synth_overrides)}}


def save_state(path: Path, state: dict, ident: dict) -> Path:
    """Write ``state`` (from a stopped training) with its run's ``ident`` atomically: an earlier state
    at ``path`` stays whole until the new one is complete."""
    return atomic_save({**state, "bench": ident}, path)


def load_state(path: Path, ident: dict) -> dict | None:
    """The state saved at ``path`` for the run ``ident``; ``None`` when there is none.

    Raises:
        ValueError: if the file is unreadable (truncated, not a state) or belongs to another run; the
            message names the file, what differs, and that deleting it starts that training afresh.
    """
    if not path.exists():
        return None
    afresh = f"delete {path} to train that network from the start"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises several types for truncated or foreign files
        raise ValueError(f"{path} is not a readable training state (truncated or corrupt?): "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; {afresh}") from None
    if not isinstance(state, dict) or "bench" not in state:
        raise ValueError(f"{path} is not a training state of the quality benchmark; {afresh}")
    diff = [f"{k}: saved {state['bench'].get(k)!r}, now {v!r}" for k, v in ident.items() if state["bench"].get(k) != v]
    if diff:
        raise ValueError(f"{path} is the state of another benchmark run ({'; '.join(diff)}); {afresh}, "
                         "or give another --train-state folder")
    return state
