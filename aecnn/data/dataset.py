"""Frame geometry, torch datasets, width-bucketing batch sampler and the sequence split.

Typical use::

    geometry = Geometry(height=152, resize_mode="pad_crop")
    train_ds, val_ds, summary = make_datasets("data/", geometry, val_fraction=0.2, seed=0)
    sampler = WidthBucketBatchSampler(train_ds.widths, batch_size=16, shuffle=True, seed=0)
    loader = DataLoader(train_ds, batch_sampler=sampler, num_workers=4)
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from aecnn.data.imageio import to_unit_float
from aecnn.data.index import FrameMeta, index_frames, natural_key

if TYPE_CHECKING:
    from aecnn.data.cache import FrameCache

logger = logging.getLogger(__name__)

RESIZE_MODES: tuple[str, ...] = ("resize", "pad", "crop", "pad_crop")
MIN_SIZE = 32


# ----------------------------------------------------------------------------- geometry


def _check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")  # noqa: TRY004
    if value < MIN_SIZE:
        raise ValueError(f"{name} must be at least {MIN_SIZE} pixels, got {value}")
    return int(value)


@dataclass(frozen=True)
class Geometry:
    """How decoded frames are brought to the model's input shape.

    Exactly one of ``input_size`` (every frame becomes ``(H, W)``) or ``height`` (every
    frame becomes ``H`` rows, width kept; batch with :class:`WidthBucketBatchSampler`).

    ``resize_mode``: ``'resize'`` bilinear with antialiasing (aspect not kept; with
    ``height`` only the height is scaled); ``'pad'`` pad with edge values, centred (a
    frame larger than the target is an error); ``'crop'`` centre-crop (a smaller frame
    is an error); ``'pad_crop'`` pad where smaller, centre-crop where larger (drops pixels).

    Attributes:
        input_size: ``(H, W)`` or ``None``.
        height: ``H`` or ``None``.
        resize_mode: one of :data:`RESIZE_MODES`.
    """

    input_size: tuple[int, int] | None = None
    height: int | None = None
    resize_mode: str = "resize"

    def __post_init__(self) -> None:
        if (self.input_size is None) == (self.height is None):
            raise ValueError("give exactly one of input_size=(H, W) or height=H "
                             f"(got input_size={self.input_size!r}, height={self.height!r})")
        if self.input_size is not None:
            size = tuple(self.input_size)
            if len(size) != 2:
                raise ValueError(f"input_size must be (H, W), got {self.input_size!r}")
            object.__setattr__(self, "input_size", (_check_size("input_size height", size[0]),
                                                    _check_size("input_size width", size[1])))
        else:
            object.__setattr__(self, "height", _check_size("height", self.height))
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize_mode must be one of {', '.join(RESIZE_MODES)}; "
                             f"got {self.resize_mode!r}")

    @property
    def keeps_width(self) -> bool:
        """True for height-only geometry (frames keep their width)."""
        return self.input_size is None

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        """Shape a ``height x width`` frame gets."""
        if self.input_size is not None:
            return self.input_size
        return int(self.height), int(width)  # type: ignore[arg-type]

    def problem(self, height: int, width: int) -> str | None:
        """Why a ``height x width`` frame cannot be brought to shape, or ``None`` if it can."""
        th, tw = self.output_shape(height, width)
        if self.resize_mode == "pad" and (height > th or width > tw):
            return f"{height}x{width} is larger than {th}x{tw} and resize_mode='pad' never crops"
        if self.resize_mode == "crop" and (height < th or width < tw):
            return f"{height}x{width} is smaller than {th}x{tw} and resize_mode='crop' never pads"
        return None

    def to_dict(self) -> dict:
        """JSON-ready form (``input_size`` as a list)."""
        d = asdict(self)
        d["input_size"] = list(self.input_size) if self.input_size is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Geometry:
        """Inverse of :meth:`to_dict`."""
        size = d.get("input_size")
        return cls(tuple(size) if size is not None else None, d.get("height"), d.get("resize_mode", "resize"))

    @property
    def tag(self) -> str:
        """Short name for folders, e.g. ``152x1280-resize`` or ``h152-pad_crop``."""
        size = f"{self.input_size[0]}x{self.input_size[1]}" if self.input_size else f"h{self.height}"
        return f"{size}-{self.resize_mode}"


def _pad_crop_axis(img: np.ndarray, axis: int, target: int) -> np.ndarray:
    n = img.shape[axis]
    if n < target:
        before = (target - n) // 2
        pad = [(0, 0), (0, 0)]
        pad[axis] = (before, target - n - before)
        return np.pad(img, pad, mode="edge")
    if n > target:
        start = (n - target) // 2
        return img[start:start + target] if axis == 0 else img[:, start:start + target]
    return img


def apply_geometry(img: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Bring a 2-D frame to ``geometry``'s shape, keeping its dtype.

    Args:
        img: ``(H, W)`` uint8, uint16 or float array.
        geometry: the target geometry.

    Returns:
        ``geometry.output_shape(H, W)`` array of ``img.dtype`` (resized integer frames
        are rounded back).

    Raises:
        ValueError: the frame does not fit and the mode neither pads nor crops as needed.
    """
    h, w = img.shape
    th, tw = geometry.output_shape(h, w)
    if (h, w) == (th, tw):
        return img
    if geometry.resize_mode == "resize":
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
        y = torch.nn.functional.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False,
                                            antialias=True)[0, 0].numpy()
        if img.dtype.kind in "ui":
            return np.clip(np.rint(y), 0, np.iinfo(img.dtype).max).astype(img.dtype)
        return np.clip(y, 0.0, 1.0).astype(img.dtype)
    reason = geometry.problem(h, w)
    if reason is not None:
        raise ValueError(reason)
    return np.ascontiguousarray(_pad_crop_axis(_pad_crop_axis(img, 0, th), 1, tw))


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


# ----------------------------------------------------------------------------- sampler


class WidthBucketBatchSampler(Sampler[list[int]]):
    """Batches that each hold frames of one width; shardable across DDP ranks.

    Every index is in exactly one batch per epoch (unless ``drop_last``). With
    ``num_replicas > 1`` each rank gets a disjoint set of batches, all ranks the same
    number: batches are split in two (largest first) until the count divides evenly,
    so nothing is dropped or repeated; only if that is impossible (fewer samples than
    ranks, or batch size 1) are a few batches repeated, with a warning. With
    ``drop_last`` incomplete batches and the surplus batches are dropped instead.

    Args:
        widths: width of each dataset item.
        batch_size: items per batch (the most; see above).
        shuffle: shuffle items within widths and the order of batches, per epoch.
        seed: base seed; the permutation depends on ``(seed, epoch)`` only.
        drop_last: drop incomplete batches (and surplus batches when sharding).
        num_replicas: number of DDP ranks.
        rank: this rank.
    """

    def __init__(self, widths: Sequence[int] | np.ndarray, batch_size: int, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False, num_replicas: int = 1, rank: int = 0) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if int(num_replicas) < 1 or not 0 <= int(rank) < int(num_replicas):
            raise ValueError(f"need num_replicas >= 1 and 0 <= rank < num_replicas, got {num_replicas}, {rank}")
        self.widths = np.asarray(widths, dtype=np.int64).reshape(-1)
        if self.widths.size == 0:
            raise ValueError("WidthBucketBatchSampler needs at least one item")
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        self.drop_last, self.num_replicas, self.rank = bool(drop_last), int(num_replicas), int(rank)
        self.epoch = 0
        self._buckets = {int(w): np.flatnonzero(self.widths == w) for w in np.unique(self.widths)}
        self._sizes, self._n_total, self._n_pad = self._plan()

    def _plan(self) -> tuple[dict[int, list[int]], int, int]:
        bs, r = self.batch_size, self.num_replicas
        sizes = {}
        for w, idx in self._buckets.items():
            full, rem = divmod(idx.size, bs)
            sizes[w] = [bs] * full + ([rem] if rem and not self.drop_last else [])
        total = sum(len(s) for s in sizes.values())
        if self.drop_last:
            keep = total - total % r
            if keep == 0:
                raise ValueError(f"{self.widths.size} items in full batches of {bs} give fewer than "
                                 f"{r} batches; lower batch_size or use drop_last=False")
            return sizes, keep, 0
        while total % r:
            w, k = max(((w, k) for w, s in sizes.items() for k in range(len(s))),
                       key=lambda wk: sizes[wk[0]][wk[1]])
            s = sizes[w][k]
            if s < 2:
                break
            sizes[w][k:k + 1] = [s - s // 2, s // 2]
            total += 1
        pad = (-total) % r
        if pad:
            logger.warning("%d items cannot be split into %d equal shards of batches; "
                           "repeating %d batch(es) per epoch", self.widths.size, r, pad)
        return sizes, total + pad, pad

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch used for shuffling (call before each epoch on every rank)."""
        self.epoch = int(epoch)

    def _all_batches(self) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, self.epoch])
        batches = []
        for w, idx in self._buckets.items():
            order = rng.permutation(idx) if self.shuffle else idx
            start = 0
            for s in self._sizes[w]:
                batches.append(order[start:start + s])
                start += s
        if self.shuffle:
            batches = [batches[k] for k in rng.permutation(len(batches))]
        else:
            batches.sort(key=lambda b: int(b[0]))
        if self.drop_last:
            return batches[: self._n_total]
        return batches + batches[: self._n_pad]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._all_batches()[self.rank::self.num_replicas]:
            yield batch.tolist()

    def __len__(self) -> int:
        return self._n_total // self.num_replicas


# ----------------------------------------------------------------------------- split


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
                         "use val_fraction=0 (no validation) or put the frames into two or more folders")
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
    try:
        d = json.loads(path.read_text())
        train, val = [str(s) for s in d["train"]], [str(s) for s in d["val"]]
    except FileNotFoundError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a split file ({{'train': [...], 'val': [...]}}): {exc}") from exc
    if set(train) & set(val):
        raise ValueError(f"{path}: sequences in both train and val: {sorted(set(train) & set(val))[:5]}")
    return train, val


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
