"""The frame datasets read for embedding: frames from their files or from a frame cache, in order.

:func:`open_frames` indexes a data folder (or stack file) and returns a :class:`FileFrames`
(decoded from the files) or a :class:`CachedFrames` (read from a
:class:`~aecnn.data.cache.FrameCache`); both yield ``(i, tensor (1, H, W) | None, error | None)``
and give each frame's index entry through ``meta(i)``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

logger = logging.getLogger(__name__)


class FileFrames(Dataset):
    """Frames of a :class:`~aecnn.data.index.FrameIndex`, decoded from their files and shaped by a
    :class:`~aecnn.data.dataset.Geometry` (no cache). Items are ``(i, tensor (1, H, W) | None, error | None)``:
    an unreadable frame comes back as an error string so one bad file does not stop a long run."""

    def __init__(self, index: Any, geometry: Any) -> None:
        self.index, self.geometry = index, geometry
        self._member: tuple[Any, Any, np.ndarray] | None = None  # last stack member read (per worker)

    def __len__(self) -> int:
        return len(self.index.frames)

    def _stack_frame(self, path: Path, stack_index: int) -> np.ndarray:
        from aecnn.data import imageio

        start = 0
        for m in self.index.stacks[path]:
            if stack_index < start + m.n_frames:
                if self._member is None or self._member[:2] != (path, m.key):
                    self._member = (path, m.key, imageio.load_stack_member(path, m.key))
                return imageio.to_native(np.asarray(self._member[2][stack_index - start]), path)
            start += m.n_frames
        raise IndexError(f"{path}: stack index {stack_index} out of range")

    def read_native(self, i: int) -> np.ndarray:
        """Frame ``i`` as decoded, at its own size and precision (no geometry).

        Raises:
            ValueError, OSError, IndexError: the file cannot be read.
        """
        from aecnn.data import imageio

        f = self.index.frames[i]
        return imageio.read_image(f.path) if f.stack_index is None else self._stack_frame(f.path, f.stack_index)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor | None, str | None]:
        from aecnn.data import imageio
        from aecnn.data.dataset import apply_geometry

        try:
            img = apply_geometry(self.read_native(i), self.geometry)
        except (ValueError, OSError, IndexError) as exc:
            return i, None, str(exc)
        return i, torch.from_numpy(imageio.to_unit_float(img))[None], None

    def meta(self, i: int) -> tuple[str, int, str, int]:
        f = self.index.frames[i]
        return f.seq, f.frame_idx, str(f.path), -1 if f.stack_index is None else int(f.stack_index)


class CachedFrames(Dataset):
    """Frames of a :class:`~aecnn.data.cache.FrameCache` in sequence and frame order (same items as
    :class:`FileFrames`)."""

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self.order = np.lexsort((cache.frame_idx, cache.seq_ids)) if len(cache) else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return int(self.order.size)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor | None, str | None]:
        from aecnn.data.imageio import to_unit_float

        return i, torch.from_numpy(to_unit_float(self.cache.get(int(self.order[i]))))[None], None

    def meta(self, i: int) -> tuple[str, int, str, int]:
        m = self.cache.meta(int(self.order[i]))
        return m.seq, m.frame_idx, str(m.path), -1 if m.stack_index is None else int(m.stack_index)


def open_frames(data: str | os.PathLike, geometry: Any, cache: str | os.PathLike | None = None,
                strict: bool = False, progress: bool = True, workers: int | None = None) -> tuple[Dataset, dict]:
    """Index ``data`` and return a frame dataset in sequence/frame order plus a description.

    Args:
        data: folder tree of frames (one sub-folder per sequence) or a stack file.
        geometry: :class:`~aecnn.data.dataset.Geometry` to shape the frames with.
        cache: ``None`` reads the files directly (one pass, nothing stored); ``'auto'`` uses the
            training cache location (``$AECNN_CACHE_DIR`` or ``~/.cache/aecnn/frames``); a folder
            uses that base folder. A cache built by ``aecnn train`` with the same geometry is reused.
        strict: raise on an unreadable file instead of skipping it.
        progress: progress bar while building a cache.
        workers: decoding threads for a cache build.

    Raises:
        FileNotFoundError, ValueError: see :func:`aecnn.data.index.index_frames`.
    """
    from aecnn.data.index import index_frames

    base = None if cache in (None, "auto") else cache
    index = index_frames(data, strict=strict, exclude=[base] if base is not None else [])
    info = {"root": str(index.root), "geometry": geometry.to_dict(), "n_indexed": len(index),
            "skipped": [[str(p), r] for p, r in index.skipped]}
    if cache is None:
        for p, r in index.skipped:
            logger.warning("skipping %s: %s", p, r)
        return FileFrames(index, geometry), info
    from aecnn.data.cache import FrameCache, default_cache_dir

    cdir = default_cache_dir(index.root, geometry, base=base)
    fc = FrameCache.open_or_build(index, cdir, geometry, progress=progress, workers=workers, strict=strict)
    info.update(cache_dir=str(cdir), skipped=[[str(p), r] for p, r in fc.skipped])
    return CachedFrames(fc), info
