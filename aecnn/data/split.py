"""Train/validation split by sequence, and its JSON file."""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aecnn.data.index import natural_key


def split_sequences(seq_names: Sequence[str], val_fraction: float = 0.2,
                    seed: int = 0) -> tuple[list[str], list[str]]:
    """Split sequence names into train and validation; never splits a sequence.

    Deterministic for a given set of names and seed (the input order does not matter).
    ``round(val_fraction * n)`` sequences go to validation, at least one and at most
    ``n - 1``.

    Args:
        seq_names: distinct sequence names.
        val_fraction: fraction of sequences for validation, in [0, 1); 0 means no validation.
        seed: seed of the draw.

    Returns:
        ``(train_names, val_names)``, each in natural order.

    Raises:
        ValueError: bad fraction, duplicate names, or fewer than 2 sequences with
            ``val_fraction > 0``.
    """
    names = sorted(seq_names, key=natural_key)
    if len(set(names)) != len(names):
        raise ValueError("sequence names must be distinct")
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if val_fraction == 0:
        return names, []
    if len(names) < 2:
        only = f" ({names[0]!r})" if names else ""
        raise ValueError(f"cannot split {len(names)} sequence{only} into train and validation by sequence: "
                         "use val_fraction=0 (`aecnn train --val-fraction 0`: no validation) or put the frames into two or "
                         "more folders, one per sequence")
    n_val = min(max(1, round(val_fraction * len(names))), len(names) - 1)
    chosen = set(np.random.default_rng(int(seed)).permutation(len(names))[:n_val].tolist())
    return ([n for i, n in enumerate(names) if i not in chosen],
            [n for i, n in enumerate(names) if i in chosen])


def save_split(path: str | os.PathLike, train: Sequence[str], val: Sequence[str]) -> None:
    """Write the split to JSON (``{"train": [...], "val": [...]}``), atomically."""
    if set(train) & set(val):
        raise ValueError(f"sequences in both train and val: {sorted(set(train) & set(val))[:5]}")
    from aecnn.io import atomic_write_text

    atomic_write_text(path, json.dumps({"train": list(train), "val": list(val)}, indent=1) + "\n")


def load_split(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Read a split written by :func:`save_split`; returns ``(train, val)``."""
    path = Path(path)
    if path.is_dir() and (path / "split.json").is_file():  # a run folder: its split, as --resume takes the folder
        path = path / "split.json"
    if not path.is_file():
        raise FileNotFoundError(f"split file not found: {path}" + (" (a folder without split.json)" if path.is_dir()
                                                                   else ""))
    try:
        d = json.loads(path.read_text())
        if not all(isinstance(d[k], list) for k in ("train", "val")):  # a bare string splits into characters
            raise TypeError("'train' and 'val' must be lists of sequence names")
        train, val = [str(s) for s in d["train"]], [str(s) for s in d["val"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a split file ({{'train': [...], 'val': [...]}}): {exc}") from exc
    if set(train) & set(val):
        raise ValueError(f"{path}: sequences in both train and val: {sorted(set(train) & set(val))[:5]}")
    return train, val
