"""Windows of latent sequences with a per-sequence target, for the LSTM stage.

::

    embed file (N, L) + index  -> by sequence: name -> (T_s, L), frames in order
    targets CSV (sequence, viscosity, ...) -> name -> y
    -> windows of length T every S frames: x (T, L), y, sequence id

A sequence shorter than ``window`` gives no window (it is listed in ``too_short``).
"""
from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

logger = logging.getLogger(__name__)


def read_targets(path: str | os.PathLike, target: str = "viscosity", sequence_column: str = "sequence") -> dict[str, float]:
    """Per-sequence targets from a CSV with a sequence column and a target column.

    Rows with an empty target are skipped (with a warning); a sequence listed twice must have
    the same value both times.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a missing column (the message lists the columns present), a value that is
            not a number, conflicting duplicates, or no usable row.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"targets file not found: {path}")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = reader.fieldnames or []
            for col in (sequence_column, target):
                if col not in columns:
                    raise ValueError(f"{path}: no column {col!r} (columns: {', '.join(columns) or 'none'}); "
                                     f"choose the target with --target and the sequence column with --sequence-column")
            out: dict[str, float] = {}
            empty = 0
            for lineno, row in enumerate(reader, start=2):
                name, raw = (row.get(sequence_column) or "").strip(), (row.get(target) or "").strip()
                if not name or not raw:
                    empty += 1
                    continue
                try:
                    value = float(raw)
                except ValueError:
                    raise ValueError(f"{path}, line {lineno}: {target}={raw!r} is not a number") from None
                if not math.isfinite(value):
                    raise ValueError(f"{path}, line {lineno}: {target}={raw!r} is not finite")
                if name in out and out[name] != value:
                    raise ValueError(f"{path}, line {lineno}: sequence {name!r} has two {target} values "
                                     f"({out[name]} and {value})")
                out[name] = value
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not a UTF-8 CSV file ({exc})") from None
    if empty:
        logger.warning("%s: %d rows without a sequence or %s value skipped", path, empty, target)
    if not out:
        raise ValueError(f"{path}: no rows with a {target} value")
    return out


def match_targets(names: Sequence[str], targets: Mapping[str, float]) -> dict[str, float]:
    """Target of each latent sequence name: exact match, else its last path component.

    ``crops/seq_003`` (the name ``aecnn embed`` gives when the data root holds ``crops/``)
    matches ``seq_003`` in the CSV when that is unambiguous. Sequences without a target are
    dropped with a warning.

    Raises:
        ValueError: no sequence has a target (the message shows names from both sides).
    """
    base_count: dict[str, int] = {}
    for n in names:
        base_count[n.rsplit("/", 1)[-1]] = base_count.get(n.rsplit("/", 1)[-1], 0) + 1
    out: dict[str, float] = {}
    missing = []
    for n in names:
        base = n.rsplit("/", 1)[-1]
        if n in targets:
            out[n] = float(targets[n])
        elif base in targets and base_count[base] == 1:
            out[n] = float(targets[base])
        else:
            missing.append(n)
    if not out:
        raise ValueError(f"no latent sequence has a target: latent sequences {list(names)[:4]}, "
                         f"target sequences {list(targets)[:4]}")
    if missing:
        logger.warning("%d of %d sequences have no target and are left out: %s", len(missing), len(names),
                       ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))
    return out


class LatentWindows(Dataset):
    """Windows ``(T, L)`` of latent sequences with their sequence's target.

    Args:
        sequences: ``name -> (T_s, L)`` latents in frame order.
        targets: ``name -> y``; sequences without a target are ignored.
        window: frames per window ``T`` (>= 1).
        stride: frames between window starts ``S`` (>= 1).
        names: sequences to use (default: all with a target), in this order.

    Items are ``(x (T, L) float32, y float32 scalar, k)`` with ``k`` the index of the sequence
    in :attr:`names`.
    """

    def __init__(self, sequences: Mapping[str, np.ndarray], targets: Mapping[str, float], window: int,
                 stride: int, names: Sequence[str] | None = None) -> None:
        if int(window) < 1 or int(stride) < 1:
            raise ValueError(f"window and stride must be >= 1, got window={window}, stride={stride}")
        self.window, self.stride = int(window), int(stride)
        names = [n for n in (names if names is not None else sequences) if n in targets]
        self.too_short = [n for n in names if len(sequences[n]) < self.window]
        if self.too_short:
            logger.warning("%d sequences are shorter than the window of %d frames and give no window: %s",
                           len(self.too_short), self.window, ", ".join(self.too_short[:5]))
        self.names = [n for n in names if n not in self.too_short]
        self.data = [torch.as_tensor(np.asarray(sequences[n], dtype=np.float32)) for n in self.names]
        self.y = torch.tensor([float(targets[n]) for n in self.names], dtype=torch.float32)
        self.windows: list[tuple[int, int]] = [(k, s) for k, seq in enumerate(self.data)
                                               for s in range(0, len(seq) - self.window + 1, self.stride)]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        k, s = self.windows[i]
        return self.data[k][s:s + self.window], self.y[k], k

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """All windows at once: ``x (W, T, L)``, ``y (W,)``, sequence index ``(W,)``."""
        if not self.windows:
            return (torch.zeros(0, self.window, self.latent_size), torch.zeros(0), torch.zeros(0, dtype=torch.long))
        x = torch.stack([self.data[k][s:s + self.window] for k, s in self.windows])
        k = torch.tensor([k for k, _ in self.windows], dtype=torch.long)
        return x, self.y[k], k

    @property
    def latent_size(self) -> int:
        return int(self.data[0].shape[1]) if self.data else 0

    def frames(self) -> torch.Tensor:
        """Every frame of the used sequences, ``(sum T_s, L)`` (for input statistics)."""
        return torch.cat(self.data) if self.data else torch.zeros(0, 0)

    def frame_targets(self) -> torch.Tensor:
        """The target of each row of :meth:`frames` (its sequence's), ``(sum T_s,)``."""
        if not self.data:
            return torch.zeros(0)
        return torch.repeat_interleave(self.y, torch.tensor([len(d) for d in self.data]))


def windows_from_embeddings(emb, targets: Mapping[str, float], window: int, stride: int,
                            names: Sequence[str] | None = None) -> LatentWindows:
    """:class:`LatentWindows` from an :class:`~aecnn.inference.embed.Embeddings` (or its file path)."""
    from aecnn.inference.embed import Embeddings, load_embeddings

    if not isinstance(emb, Embeddings):
        emb = load_embeddings(emb)
    seqs = emb.by_sequence()
    matched = match_targets(list(seqs), targets)
    return LatentWindows(seqs, matched, window, stride, names)


__all__ = ["LatentWindows", "match_targets", "read_targets", "windows_from_embeddings"]
