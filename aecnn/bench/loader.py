"""The data pipeline alone: PNG folder -> frame cache -> ``FrameDataset`` -> ``DataLoader``.

The first step indexes the folder and builds (or reuses) the decoded-frame cache, timed
on its own; then each worker count is timed over whole epochs of shuffled batches, with
pinned memory and the copy to the device when there is one. Images per second of this
pipeline can be set beside the model's training rate at the same size.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from aecnn.bench.timing import synchronize


def bench_loader(root: str | Path, input_size: tuple[int, int], batch_size: int, workers: list[int],
                 device: torch.device, epochs: int = 3, cache_dir: str | Path | None = None,
                 min_images: int = 4096) -> list[dict[str, Any]]:
    """Time the pipeline for each worker count.

    Args:
        root: folder tree of frames (one sub-folder per sequence).
        input_size: (H, W) the cache shapes frames to.
        batch_size: loader batch size.
        workers: ``num_workers`` values to time.
        device: batches are copied there (``non_blocking`` from pinned memory) if CUDA.
        epochs: timed epochs (more are run when an epoch holds fewer than ``min_images``).
        cache_dir: base folder for the cache (default: the data package's default).

    Returns:
        One dict per worker count, plus the cache build time in each.
    """
    from aecnn.data import Geometry, make_datasets

    geometry = Geometry(input_size=tuple(input_size))
    t0 = time.perf_counter()
    ds, _, summary = make_datasets(root, geometry, cache_dir=cache_dir, val_fraction=0.0, progress=False)
    build_s = time.perf_counter() - t0
    if len(ds) < batch_size:
        raise ValueError(f"{root} holds {len(ds)} frames, fewer than one batch of {batch_size}")
    per_epoch = (len(ds) // batch_size) * batch_size
    epochs = max(epochs, -(-min_images // per_epoch))
    cuda = device.type == "cuda"
    rows = []
    for w in workers:
        loader = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=w, pin_memory=cuda,
                            drop_last=True, persistent_workers=w > 0)
        for x in loader:  # warm-up epoch: starts the workers, touches the memory map
            if cuda:
                x.to(device, non_blocking=True)
        synchronize(device)
        t0 = time.perf_counter()
        n = 0
        for _ in range(epochs):
            for x in loader:
                if cuda:
                    x = x.to(device, non_blocking=True)
                n += x.shape[0]
        synchronize(device)
        dt = time.perf_counter() - t0
        del loader
        rows.append({"root": str(root), "input_size": list(input_size), "frames": len(ds),
                     "cache_dtype": summary.dtype, "cache_reused": summary.cache_reused,
                     "cache_build_s": build_s, "batch": batch_size, "workers": w, "epochs": epochs,
                     "images": n, "img_per_s": n / dt, "to_device": cuda})
    return rows
