"""What the trainer needs from the data layer: datasets, their geometry, loaders that shuffle
from ``(seed, epoch)`` only (so a resumed run sees the same batches) and can skip batches.

Folder data goes through :func:`aecnn.data.make_datasets` (index, frame cache, split by
sequence); synthetic data is rendered in memory by :mod:`aecnn.data.synth`. Either way the
train/validation split is by sequence and written to ``split.json`` in the run folder.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from aecnn.data.dataset import (
    ArrayFrameDataset,
    Geometry,
    WidthBucketBatchSampler,
    apply_geometry,
    make_datasets,
    split_sequences,
)
from aecnn.train.config import TrainConfig
from aecnn.train.distributed import DistInfo

logger = logging.getLogger(__name__)


@dataclass
class TrainData:
    """Datasets plus what the model and the run folder need to know about them.

    Attributes:
        train, val: datasets of ``(1, H, W)`` float tensors (``val`` None without validation).
        geometry: how frames were shaped.
        input_size: ``(H, W)`` the model is built for (the most common width with ``--height``).
        train_sequences, val_sequences: the split.
        summary: JSON-ready description (frames, sequences, skipped files, cache).
        viscosity: hidden viscosity per sequence name (synthetic data only).
    """

    train: Dataset
    val: Dataset | None
    geometry: Geometry
    input_size: tuple[int, int]
    train_sequences: list[str]
    val_sequences: list[str]
    summary: dict[str, Any] = field(default_factory=dict)
    viscosity: dict[str, float] = field(default_factory=dict)


def _geometry(cfg: TrainConfig) -> Geometry | None:
    if cfg.input_size is not None:
        return Geometry(input_size=tuple(cfg.input_size), resize_mode=cfg.resize_mode)
    if cfg.height is not None:
        return Geometry(height=int(cfg.height), resize_mode=cfg.resize_mode)
    return None


def _warn_if_distorted(root: Path, geometry: Geometry) -> None:
    """A typed --input-size that squashes the frames (W H typed for H W, a strip to a square) is
    legal but almost never meant: say so, from the first frame's header."""
    from aecnn.data import imageio
    from aecnn.data.index import natural_key

    # the first image of the first sequence folder, found without walking the whole tree (the
    # dataset indexes it right after); stacks and unreadable files are left to the dataset
    folders = sorted((d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")),
                     key=lambda d: natural_key(d.name)) if root.is_dir() else []
    for folder in folders[:1]:
        images = sorted((f for f in folder.iterdir() if f.suffix.lower() in imageio.IMAGE_EXTENSIONS),
                        key=lambda f: natural_key(f.name))
        why = geometry.file_distortion(images[0]) if images else None
        if why:
            logger.warning("%s (first frame: %s)", why, images[0])


def _probe_geometry(root: Path, strict: bool, resize_mode: str) -> Geometry:
    """No --input-size/--height: use the frames' own size, read from the first frame of each
    sequence (one size: fixed; one height, several widths: width buckets)."""
    from aecnn.data import imageio
    from aecnn.data.index import index_frames

    index = index_frames(root, strict=strict)
    sizes: Counter[tuple[int, int]] = Counter()
    seen: set[str] = set()
    for ref in index.frames:
        if ref.seq in seen or len(seen) >= 64:
            continue
        seen.add(ref.seq)
        try:
            if ref.stack_index is None:
                info = imageio.probe_image(ref.path)
                sizes[(info.height, info.width)] += 1
            else:
                m = index.stacks[ref.path][0]
                sizes[(m.height, m.width)] += 1
        except imageio.UnreadableImageError:
            continue
    if not sizes:
        raise ValueError(f"cannot read the size of any frame under {root}; pass --input-size H W")
    if len(sizes) == 1:
        (h, w), = sizes
        logger.info("frames are %dx%d (H x W); training at that size", h, w)
        return Geometry(input_size=(h, w), resize_mode=resize_mode)
    heights = {h for h, _ in sizes}
    if len(heights) == 1:
        logger.info("frames share height %d with %d widths: width-bucketed batches", *heights, len(sizes))
        return Geometry(height=heights.pop(), resize_mode=resize_mode)
    listing = ", ".join(f"{h}x{w}" for (h, w), _ in sizes.most_common(4))
    raise ValueError(f"frames under {root} have different sizes ({listing}, H x W): pass --input-size H W "
                     "(with --resize-mode) or --height H (width kept, batches bucketed by width)")


def _common_width(widths: np.ndarray) -> int:
    values, counts = np.unique(np.asarray(widths), return_counts=True)
    return int(values[np.argmax(counts)])


def build_data(cfg: TrainConfig, dist: DistInfo, split: tuple[list[str], list[str]] | None = None,
               progress: bool = True) -> TrainData:
    """Datasets for ``cfg``: folder data (``cfg.data``) or synthetic droplets (``cfg.synthetic``).

    Args:
        split: ``(train, val)`` sequence names to keep (a resumed run's ``split.json``);
            by default the split is drawn from ``cfg.seed``.

    Raises:
        FileNotFoundError: ``cfg.data`` does not exist.
        ValueError: empty folder, no images, unreadable file with ``strict``, sizes that need
            ``--input-size``, too few sequences to split.
    """
    if cfg.synthetic:
        return _synthetic(cfg, split)
    if not cfg.data:
        raise ValueError("no data: pass --data DIR (a folder of frames, one sub-folder per sequence) "
                         "or --synthetic")
    root = Path(cfg.data).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"data folder {root} does not exist")
    geometry = _geometry(cfg)
    if geometry is None:
        geometry = _probe_geometry(root, cfg.strict, cfg.resize_mode)
    else:
        _warn_if_distorted(root, geometry)
    kwargs = {"cache_dir": cfg.cache_dir, "val_fraction": cfg.val_fraction, "seed": cfg.seed,
              "strict": cfg.strict, "split": split}
    # DDP ranks all call this: the cache's lock file lets one build while the others wait and reuse
    train, val, summary = make_datasets(root, geometry, progress=progress and dist.is_main, **kwargs)
    widths = train.widths
    if len(train) == 0:
        raise ValueError(f"no training frames under {root} after the split; add sequences or lower --val-fraction")
    size = geometry.input_size or (int(geometry.height), _common_width(widths))
    return TrainData(train, val, geometry, tuple(size), summary.train_sequences, summary.val_sequences,
                     summary.as_dict())


def _synthetic(cfg: TrainConfig, split: tuple[list[str], list[str]] | None) -> TrainData:
    from aecnn.data.synth import SynthConfig, generate_in_memory

    scfg = SynthConfig(n_sequences=cfg.synthetic_sequences, frames_per_sequence=cfg.synthetic_frames,
                       seed=cfg.seed)
    arrays = generate_in_memory(scfg, kind=cfg.synthetic_kind)
    frames = arrays.frames  # (N, H, W) uint8
    names = [r["sequence"] for r in arrays.metadata["sequences"]]
    viscosity = {r["sequence"]: float(r["viscosity"]) for r in arrays.metadata["sequences"]}
    geometry = _geometry(cfg) or Geometry(input_size=tuple(frames.shape[1:]), resize_mode=cfg.resize_mode)
    if geometry.output_shape(*frames.shape[1:]) != tuple(frames.shape[1:]):
        frames = np.stack([apply_geometry(f, geometry) for f in frames])
    train_names, val_names = split or split_sequences(names, cfg.val_fraction, cfg.seed)

    def subset(keep: list[str]) -> ArrayFrameDataset | None:
        if not keep:
            return None
        ids = [names.index(s) for s in keep]
        sel = np.isin(arrays.sequence_ids, ids)
        return ArrayFrameDataset(frames[sel], arrays.sequence_ids[sel], arrays.frame_idx[sel], seq_names=names)

    train, val = subset(train_names), subset(val_names)
    h, w = frames.shape[1:]
    summary = {"root": f"synthetic ({cfg.synthetic_kind}s, seed {cfg.seed})", "n_frames": len(frames),
               "n_sequences": len(names), "n_skipped": 0, "train_sequences": train_names,
               "val_sequences": val_names, "n_train": len(train) if train is not None else 0,
               "n_val": len(val) if val is not None else 0, "widths": [int(w)], "height": int(h)}
    return TrainData(train, val, geometry, (int(h), int(w)), list(train_names), list(val_names), summary, viscosity)


class SkippableBatchSampler(Sampler[list[int]]):
    """Wraps a batch sampler; skips the first ``skip`` batches of the next epoch (mid-epoch resume)."""

    def __init__(self, inner: WidthBucketBatchSampler) -> None:
        self.inner = inner
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.inner.set_epoch(epoch)
        self.skip = int(skip)

    def __iter__(self) -> Iterator[list[int]]:
        return islice(iter(self.inner), self.skip, None)

    def __len__(self) -> int:
        return max(0, len(self.inner) - self.skip)


def make_loader(ds: Dataset, batch_size: int, *, shuffle: bool, seed: int, dist: DistInfo, workers: int,
                ) -> tuple[DataLoader, SkippableBatchSampler]:
    """A loader of one-width batches, shuffled from ``(seed, epoch)`` and sharded over DDP ranks."""
    inner = WidthBucketBatchSampler(ds.widths, batch_size, shuffle=shuffle, seed=seed,
                                    num_replicas=dist.world_size, rank=dist.rank)
    sampler = SkippableBatchSampler(inner)
    loader = DataLoader(ds, batch_sampler=sampler, num_workers=workers,
                        pin_memory=dist.device.type == "cuda", persistent_workers=workers > 0,
                        generator=torch.Generator().manual_seed(seed))
    return loader, sampler


def preview_indices(ds: Dataset, n: int) -> list[int]:
    """``n`` items spread evenly over ``ds``, all of the first item's width (for figures)."""
    widths = np.asarray(ds.widths)
    same = np.flatnonzero(widths == widths[0])
    picks = np.linspace(0, len(same) - 1, num=min(n, len(same))).round().astype(int)
    return sorted({int(same[i]) for i in picks})
