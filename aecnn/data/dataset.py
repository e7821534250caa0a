"""Torch datasets of frames, and :func:`make_datasets` that builds them from a folder.

Frame geometry (:mod:`aecnn.data.geometry`), the width-bucketing batch sampler
(:mod:`aecnn.data.sampler`) and the sequence split (:mod:`aecnn.data.split`) are
re-exported here.

Typical use::

    geometry = Geometry(height=152, resize_mode="pad_crop")
    train_ds, val_ds, summary = make_datasets("data/", geometry, val_fraction=0.2, seed=0)
    sampler = WidthBucketBatchSampler(train_ds.widths, batch_size=16, shuffle=True, seed=0)
    loader = DataLoader(train_ds, batch_sampler=sampler, num_workers=4)
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

from aecnn.data.geometry import MIN_SIZE, RESIZE_MODES, Geometry, _check_size, _pad_crop_axis, apply_geometry
from aecnn.data.imageio import to_unit_float
from aecnn.data.index import FrameMeta, index_frames, natural_key
from aecnn.data.sampler import WidthBucketBatchSampler
from aecnn.data.split import load_split, save_split, split_sequences

if TYPE_CHECKING:
    from aecnn.data.cache import FrameCache

# Everything importable from this module before it was split keeps being importable from it
# (geometry, sampler and split now live in their own modules).
__all__ = [
    "MIN_SIZE",
    "RESIZE_MODES",
    "ArrayFrameDataset",
    "DataSummary",
    "FrameDataset",
    "Geometry",
    "WidthBucketBatchSampler",
    "_check_size",
    "_pad_crop_axis",
    "apply_geometry",
    "load_split",
    "make_datasets",
    "natural_key",
    "save_split",
    "split_sequences",
]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- datasets


class FrameDataset(Dataset):
    """Frames of a :class:`~aecnn.data.cache.FrameCache` as float32 tensors ``(1, H, W)`` in [0, 1].

    Reads only the memory-mapped cache; no image file is opened.

    Args:
        cache: the frame cache.
        indices: cache frame indices in this dataset (default: all), in this order.
        with_index: if True, items are ``(tensor, i)`` so callers can look up :meth:`meta`.
    """

    def __init__(self, cache: FrameCache, indices: Sequence[int] | np.ndarray | None = None,
                 with_index: bool = False) -> None:
        self.cache = cache
        self.indices = (np.arange(len(cache), dtype=np.int64) if indices is None
                        else np.asarray(indices, dtype=np.int64).reshape(-1))
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= len(cache)):
            raise IndexError(f"indices out of range for a cache of {len(cache)} frames")
        self.with_index = with_index

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, i: int) -> torch.Tensor | tuple[torch.Tensor, int]:
        x = torch.from_numpy(to_unit_float(self.cache.get(int(self.indices[i]))))[None]
        return (x, int(i)) if self.with_index else x

    def meta(self, i: int) -> FrameMeta:
        """Sequence name, frame index and source path of item ``i``."""
        return self.cache.meta(int(self.indices[i]))

    @property
    def widths(self) -> np.ndarray:
        """Width of each item (for :class:`WidthBucketBatchSampler`)."""
        return self.cache.widths[self.indices]

    @property
    def sequences(self) -> list[str]:
        """Names of the sequences present, in natural order."""
        ids = np.unique(self.cache.seq_ids[self.indices])
        return [self.cache.seq_names[k] for k in ids]


class ArrayFrameDataset(Dataset):
    """In-memory frames (e.g. synthetic) with the same interface as :class:`FrameDataset`.

    Args:
        frames: ``(N, H, W)`` uint8, uint16 or float array ([0, 1]).
        seq_ids: sequence id of each frame (default: all 0).
        frame_idx: index of each frame in its sequence (default: 0..N-1 per sequence order).
        seq_names: name of each sequence id (default: ``"seq{id}"``).
        with_index: if True, items are ``(tensor, i)``.
    """

    def __init__(self, frames: np.ndarray, seq_ids: Sequence[int] | np.ndarray | None = None,
                 frame_idx: Sequence[int] | np.ndarray | None = None,
                 seq_names: Sequence[str] | None = None, with_index: bool = False) -> None:
        frames = np.asarray(frames)
        if frames.ndim != 3:
            raise ValueError(f"frames must be (N, H, W), got shape {frames.shape}")
        if not (frames.dtype in (np.uint8, np.uint16) or frames.dtype.kind == "f"):
            raise ValueError(f"frames must be uint8, uint16 or float, got {frames.dtype}")
        n = frames.shape[0]
        self.frames = frames
        self.seq_ids = np.zeros(n, np.int64) if seq_ids is None else np.asarray(seq_ids, np.int64)
        if frame_idx is None:
            frame_idx = np.zeros(n, np.int64)
            for s in np.unique(self.seq_ids):
                sel = self.seq_ids == s
                frame_idx[sel] = np.arange(int(sel.sum()))
        self.frame_idx = np.asarray(frame_idx, np.int64)
        if self.seq_ids.shape != (n,) or self.frame_idx.shape != (n,):
            raise ValueError(f"seq_ids and frame_idx must have {n} entries")
        n_seq = int(self.seq_ids.max()) + 1 if n else 0
        self.seq_names = list(seq_names) if seq_names is not None else [f"seq{k}" for k in range(n_seq)]
        if len(self.seq_names) < n_seq:
            raise ValueError(f"seq_names has {len(self.seq_names)} names for {n_seq} sequence ids")
        self.with_index = with_index

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def __getitem__(self, i: int) -> torch.Tensor | tuple[torch.Tensor, int]:
        x = torch.from_numpy(to_unit_float(self.frames[i]))[None]
        return (x, int(i)) if self.with_index else x

    def meta(self, i: int) -> FrameMeta:
        """Sequence name and frame index of item ``i`` (path is ``None``)."""
        return FrameMeta(self.seq_names[int(self.seq_ids[i])], int(self.frame_idx[i]), None, None)

    @property
    def widths(self) -> np.ndarray:
        """Width of each item."""
        return np.full(len(self), self.frames.shape[2], dtype=np.int64)

    @property
    def sequences(self) -> list[str]:
        """Names of the sequences present."""
        return [self.seq_names[k] for k in np.unique(self.seq_ids)]

# ----------------------------------------------------------------------------- all together


@dataclass
class DataSummary:
    """What :func:`make_datasets` found and built."""

    root: Path
    cache_dir: Path
    n_frames: int
    n_sequences: int
    n_skipped: int
    skipped: list[tuple[Path, str]]
    train_sequences: list[str]
    val_sequences: list[str]
    n_train: int
    n_val: int
    widths: list[int]
    height: int
    dtype: str
    cache_reused: bool

    def as_dict(self) -> dict:
        """JSON-ready form."""
        d = asdict(self)
        d["root"], d["cache_dir"] = str(self.root), str(self.cache_dir)
        d["skipped"] = [[str(p), r] for p, r in self.skipped]
        return d


def make_datasets(root: str | os.PathLike, geometry: Geometry, cache_dir: str | os.PathLike | None = None,
                  val_fraction: float = 0.2, seed: int = 0, strict: bool = False, *,
                  split: tuple[Sequence[str], Sequence[str]] | None = None, workers: int | None = None,
                  progress: bool = True, dtype: str = "auto",
                  ) -> tuple[FrameDataset, FrameDataset | None, DataSummary]:
    """Index ``root``, build or reuse the frame cache, split by sequence, make datasets.

    Args:
        root: folder tree of frames (or one stack file).
        geometry: target geometry.
        cache_dir: base folder for caches (default ``$AECNN_CACHE_DIR`` or
            ``~/.cache/aecnn/frames``); the cache goes to a sub-folder named after the
            root and geometry, see :func:`aecnn.data.cache.default_cache_dir`.
        val_fraction: fraction of sequences for validation; 0 for none.
        seed: split seed.
        strict: raise on the first unreadable file instead of skipping it.
        split: a previous ``(train, val)`` (e.g. from :func:`load_split`) to reuse;
            sequences it does not name go to train (with a warning).
        workers: decoding threads for the cache build.
        progress: show a progress bar while building.
        dtype: cache dtype, ``'auto'``, ``'uint8'`` or ``'uint16'``.

    Returns:
        ``(train_dataset, val_dataset or None, summary)``.
    """
    from aecnn.data.cache import FrameCache, default_cache_dir

    if isinstance(geometry, dict):
        geometry = Geometry.from_dict(geometry)
    index = index_frames(root, strict=strict, exclude=[cache_dir] if cache_dir is not None else [])
    if split is None:
        split_sequences(index.sequences, val_fraction, seed)  # fail early, before the cache build
    cdir = default_cache_dir(index.root, geometry, base=cache_dir)
    cache = FrameCache.open_or_build(index, cdir, geometry, progress=progress, workers=workers,
                                     strict=strict, dtype=dtype)
    present = cache.sequences_present()
    if split is None:
        train, val = split_sequences(present, val_fraction, seed)
    else:
        train, val = [s for s in split[0] if s in present], [s for s in split[1] if s in present]
        if set(train) & set(val):
            raise ValueError(f"split names sequences in both train and val: {sorted(set(train) & set(val))[:5]}")
        new = [s for s in present if s not in set(train) | set(val)]
        if new:
            logger.warning("%d sequences not in the given split go to train: %s", len(new), new[:5])
            train += new
    name_to_id = {s: k for k, s in enumerate(cache.seq_names)}
    seq_ids = cache.seq_ids
    train_idx = np.flatnonzero(np.isin(seq_ids, [name_to_id[s] for s in train]))
    val_idx = np.flatnonzero(np.isin(seq_ids, [name_to_id[s] for s in val]))
    train_ds = FrameDataset(cache, train_idx)
    val_ds = FrameDataset(cache, val_idx) if val else None
    summary = DataSummary(
        root=index.root, cache_dir=cdir, n_frames=len(cache), n_sequences=len(present),
        n_skipped=len(cache.skipped), skipped=list(cache.skipped), train_sequences=list(train),
        val_sequences=list(val), n_train=int(train_idx.size), n_val=int(val_idx.size),
        widths=sorted({int(w) for w in cache.widths}), height=int(cache.heights[0]),
        dtype=str(cache.dtype), cache_reused=cache.reused)
    logger.info("data: %d frames in %d sequences (%d train / %d val frames), %d skipped, cache %s",
                summary.n_frames, summary.n_sequences, summary.n_train, summary.n_val,
                summary.n_skipped, cdir)
    return train_ds, val_ds, summary
