"""Per-frame measurements appended to the latents before the sequence stage.

Crops centred on the drop carry its shape but not its speed: the crop window moves with the drop.
Where each crop was cut (``crop_x0``/``crop_y0`` in the ``frames.csv`` that ``aecnn synth``
writes, or the users' own tracking) restores it. On the synthetic droplets, perfect shape
features reach R² 0.92 for the viscosity and shape plus the crop's frame-to-frame displacement
0.97 (``benchmarks/r2_ceiling.py``, ``benchmarks/QUALITY.md``).

::

    frames.csv (sequence, frame, crop_x0, ...) --read_frame_table--> {(seq, frame): values}
    latents (T, L) per sequence + frame indices --frame_features(mode)--> (T, k)  --concat--> (T, L + k)

``mode="change"`` (the default) appends each column's change from the previous frame (the first
frame repeats the second's change): a speed, on the scale the LSTM's input normalisation can see.
``mode="value"`` appends the raw values (a position drifts over the whole video, so inside one
window its change is tiny next to its spread across videos).
"""
from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

MODES = ("change", "value")


def read_frame_table(path: str | os.PathLike, columns: Sequence[str], sequence_column: str = "sequence",
                     frame_column: str = "frame") -> dict[tuple[str, int], np.ndarray]:
    """``(sequence, frame) -> values of columns`` from a per-frame CSV.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a column is missing, a value is not a finite number, or a (sequence, frame) repeats;
            the message names the file, and the row where it applies.
    """
    path = Path(path)
    if not columns:
        raise ValueError("give at least one frame column")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in (sequence_column, frame_column, *columns) if c not in header]
        if missing:
            raise ValueError(f"{path}: no column(s) {', '.join(missing)}; it has: {', '.join(header) or 'none'}")
        table: dict[tuple[str, int], np.ndarray] = {}
        for line, row in enumerate(reader, start=2):
            try:
                key = (row[sequence_column], int(float(row[frame_column])))
                values = np.array([float(row[c]) for c in columns], dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"{path}, line {line}: {frame_column} and {', '.join(columns)} must be "
                                 f"numbers, got {[row.get(c) for c in (frame_column, *columns)]}") from None
            if key in table:
                raise ValueError(f"{path}, line {line}: sequence {key[0]!r} frame {key[1]} appears twice")
            if not np.isfinite(values).all():
                raise ValueError(f"{path}, line {line}: {', '.join(columns)} must be finite, got "
                                 f"{[row.get(c) for c in columns]} (e.g. a frame without a drop: leave it out)")
            table[key] = values
    return table


def frame_change(values: np.ndarray) -> np.ndarray:
    """``(T, k)`` change of each column from the previous frame; the first frame repeats the
    second's change (zeros for a single frame)."""
    if len(values) < 2:
        return np.zeros_like(values)
    d = np.diff(values, axis=0, prepend=values[:1])
    d[0] = d[1]
    return d


def frame_features(frame_index: Mapping[str, np.ndarray], table: Mapping[tuple[str, int], np.ndarray],
                   mode: str = "change", keep_last: int = 0) -> dict[str, np.ndarray]:
    """``name -> (T, k)`` float32 features of each sequence's frames, in the order of ``frame_index``
    (``name -> (T,)`` frame indices, sorted as the latents are). The last ``keep_last`` columns stay
    as they are whatever ``mode`` (e.g. the drop's size beside the change of its position).

    Raises:
        ValueError: unknown ``mode``, or frames without a row in ``table`` (names the first ones).
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
    out, absent = {}, []
    for name, frames in frame_index.items():
        rows = [table.get((name, int(f))) for f in frames]
        absent += [(name, int(f)) for f, r in zip(frames, rows) if r is None]
        if not absent:
            values = np.stack(rows)
            if mode == "change":
                k = values.shape[1] - keep_last
                values = np.concatenate([frame_change(values[:, :k]), values[:, k:]], 1)
            out[name] = values.astype(np.float32)
    if absent:
        first = ", ".join(f"{s} frame {f}" for s, f in absent[:3])
        raise ValueError(f"{len(absent)} frame(s) have no row in the frame table (first: {first}); the "
                         "table's sequence names and frame numbers must match the latents' index")
    return out


def append_features(seqs: Mapping[str, np.ndarray], feats: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``name -> (T, L + k)``: each sequence's latents with its frame features appended."""
    return {n: np.concatenate([np.asarray(z, np.float32), feats[n]], axis=1) for n, z in seqs.items()}


__all__ = ["MODES", "append_features", "frame_change", "frame_features", "read_frame_table"]
