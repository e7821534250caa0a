"""Decoded-frame cache: every frame decoded once, shaped, stored memory-mapped on disk.

A cache folder holds ``manifest.json`` and one ``.npy`` file per distinct output width
(one file in all for a fixed ``input_size``), of dtype uint8 (all sources 8-bit) or
uint16 (any source 16-bit or float; 8-bit values are scaled by 257, which is exact).
The manifest records a fingerprint of the inputs (relative paths, sizes, mtimes,
geometry, dtype option); :meth:`FrameCache.open_or_build` reuses a cache only when the
fingerprint matches and every data file has the recorded shape.

Data files are written under temporary names and moved into place with ``os.replace``;
the manifest is written last, the same way, so an interrupted build never leaves a cache
that is trusted later (:mod:`aecnn.data.cache_build`). A lock file serialises concurrent builders (e.g. DDP ranks):
the first builds, the others wait and reuse.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from aecnn.data.cache_build import DTYPES, FORMAT_VERSION, MANIFEST, CacheBuilder
from aecnn.data.geometry import Geometry
from aecnn.data.index import FrameIndex, FrameMeta

__all__ = ["DTYPES", "FORMAT_VERSION", "MANIFEST", "FrameCache", "default_cache_dir"]
logger = logging.getLogger(__name__)


def default_cache_dir(root: str | os.PathLike, geometry: Geometry, base: str | os.PathLike | None = None) -> Path:
    """Cache folder for a data root and geometry.

    ``<base>/<root name>-<hash of the absolute root path>/<geometry tag>``, where
    ``base`` defaults to ``$AECNN_CACHE_DIR``, else ``$XDG_CACHE_HOME/aecnn/frames``,
    else ``~/.cache/aecnn/frames``.
    """
    if base is None:
        env = os.environ.get("AECNN_CACHE_DIR")
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(env) if env else (Path(xdg) if xdg else Path.home() / ".cache") / "aecnn" / "frames"
    root = Path(root).expanduser().absolute()
    digest = hashlib.sha1(str(root).encode()).hexdigest()[:10]
    return Path(base).expanduser().absolute() / f"{root.name or 'root'}-{digest}" / geometry.tag


def _fingerprint(index: FrameIndex, geometry: Geometry, dtype: str) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"format": FORMAT_VERSION, "geometry": geometry.to_dict(), "dtype": dtype}).encode())
    stats: dict[Path, tuple[int, int]] = {}
    for f in index.frames:
        if f.path not in stats:
            try:
                st = os.stat(f.path)
                stats[f.path] = (st.st_size, st.st_mtime_ns)
            except OSError:
                stats[f.path] = (-1, -1)
        size, mtime = stats[f.path]
        rel = f.path.relative_to(index.root).as_posix() if f.path != index.root else f.path.name
        h.update(f"\n{rel}\0{f.seq}\0{f.frame_idx}\0{f.stack_index}\0{size}\0{mtime}".encode())
    return h.hexdigest()


@contextlib.contextmanager
def _lock(cache_dir: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, builds are still atomic
        yield
        return
    with open(cache_dir / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            logger.info("waiting for another process building the cache in %s", cache_dir)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class FrameCache:
    """A built cache, opened read-only with memory maps (lazily, per process).

    Use :meth:`open_or_build`, :meth:`build` or :meth:`open`; not the constructor.

    Attributes:
        cache_dir: the folder.
        root: the data root the frames came from.
        geometry: geometry the frames were shaped with.
        dtype: ``np.uint8`` or ``np.uint16``.
        fingerprint: fingerprint of the inputs.
        seq_names: all sequence names of the index (ids index this list).
        seq_ids, frame_idx, stack_index, widths, heights: per-frame arrays
            (``stack_index`` is -1 for image files).
        skipped: ``(path, reason)`` of every file left out (index and decode).
        reused: True if opened from an existing build.
    """

    def __init__(self, cache_dir: Path, manifest: dict, root: Path | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.root = Path(root) if root is not None else Path(manifest["root"])
        self.fingerprint: str = manifest["fingerprint"]
        self.geometry = Geometry.from_dict(manifest["geometry"])
        self.dtype = np.dtype(manifest["dtype"])
        self.buckets: list[dict] = manifest["buckets"]
        fr = manifest["frames"]
        self.paths: list[str] = fr["path"]
        self.seq_names: list[str] = manifest["sequences"]
        self.seq_ids = np.asarray(fr["seq"], dtype=np.int64)
        self.frame_idx = np.asarray(fr["frame_idx"], dtype=np.int64)
        self.stack_index = np.asarray(fr["stack_index"], dtype=np.int64)
        self.bucket = np.asarray(fr["bucket"], dtype=np.int64)
        self.row = np.asarray(fr["row"], dtype=np.int64)
        self.widths = np.asarray([b["width"] for b in self.buckets], dtype=np.int64)[self.bucket] \
            if self.buckets else np.zeros(0, np.int64)
        self.heights = np.asarray([b["height"] for b in self.buckets], dtype=np.int64)[self.bucket] \
            if self.buckets else np.zeros(0, np.int64)
        self.skipped: list[tuple[Path, str]] = [(self._abs(p), r) for p, r in manifest["skipped"]]
        self.reused = False
        self._arrays: dict[int, np.ndarray] = {}
        self._pid = os.getpid()

    # ------------------------------------------------------------------ access

    def _abs(self, rel: str) -> Path:
        return self.root if rel == "" else self.root / rel

    def __len__(self) -> int:
        return int(self.row.size)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_arrays"] = {}  # memory maps are reopened in the receiving process
        return state

    def array(self, bucket: int) -> np.ndarray:
        """The read-only ``(count, H, W)`` memory map of one bucket (one width)."""
        if self._pid != os.getpid():
            self._arrays, self._pid = {}, os.getpid()
        arr = self._arrays.get(bucket)
        if arr is None:
            arr = np.load(self.cache_dir / self.buckets[bucket]["file"], mmap_mode="r")
            self._arrays[bucket] = arr
        return arr

    def get(self, i: int) -> np.ndarray:
        """Frame ``i`` as an ``(H, W)`` array of the cache dtype (a copy)."""
        return np.array(self.array(int(self.bucket[i]))[self.row[i]])

    def meta(self, i: int) -> FrameMeta:
        """Sequence, frame index, source path and stack slice of frame ``i``."""
        si = int(self.stack_index[i])
        return FrameMeta(self.seq_names[int(self.seq_ids[i])], int(self.frame_idx[i]),
                         self._abs(self.paths[i]), None if si < 0 else si)

    def sequences_present(self) -> list[str]:
        """Names of sequences with at least one cached frame."""
        return [self.seq_names[k] for k in np.unique(self.seq_ids)]

    # ------------------------------------------------------------------ open / build

    @staticmethod
    def fingerprint_of(index: FrameIndex, geometry: Geometry, dtype: str = "auto") -> str:
        """Fingerprint of the inputs (file list, sizes, mtimes, geometry, dtype option)."""
        return _fingerprint(index, geometry, dtype)

    @classmethod
    def open(cls, cache_dir: str | os.PathLike, root: str | os.PathLike | None = None) -> FrameCache:
        """Open a built cache after checking every data file.

        Raises:
            FileNotFoundError: no manifest in ``cache_dir``.
            ValueError: the manifest or a data file is unreadable or inconsistent.
        """
        cache_dir = Path(cache_dir)
        path = cache_dir / MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"no frame cache in {cache_dir} (missing {MANIFEST})") from None
        except ValueError as exc:
            raise ValueError(f"{path}: unreadable manifest ({exc})") from exc
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: cache format {manifest.get('format')} != {FORMAT_VERSION}")
        for b in manifest["buckets"]:
            try:
                arr = np.load(cache_dir / b["file"], mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise ValueError(f"cache file {cache_dir / b['file']} unreadable: {exc}") from exc
            if arr.shape != (b["count"], b["height"], b["width"]) or arr.dtype != np.dtype(manifest["dtype"]):
                raise ValueError(f"cache file {cache_dir / b['file']} has shape {arr.shape} {arr.dtype}, "
                                 f"manifest says {(b['count'], b['height'], b['width'])} {manifest['dtype']}")
        cache = cls(cache_dir, manifest, None if root is None else Path(root))
        cache.reused = True
        return cache

    @classmethod
    def open_or_build(cls, index: FrameIndex, cache_dir: str | os.PathLike, geometry: Geometry,
                      progress: bool = True, workers: int | None = None, strict: bool = False,
                      dtype: str = "auto") -> FrameCache:
        """Reuse the cache in ``cache_dir`` if its fingerprint matches ``index``, else build it.

        Arguments as in :meth:`build`. Returns the opened cache (``reused`` says which).
        """
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        fp = _fingerprint(index, geometry, dtype)
        with _lock(cache_dir):
            try:
                cache = cls.open(cache_dir, root=index.root)
                if cache.fingerprint == fp:
                    logger.info("reusing frame cache %s (%d frames)", cache_dir, len(cache))
                    if cache.skipped:
                        path, reason = cache.skipped[0]
                        if strict:
                            raise ValueError(f"unreadable file {path}: {reason} (found when the cache "
                                             f"in {cache_dir} was built)")
                        logger.warning("%d unreadable files were skipped when this cache was built "
                                       "(first: %s: %s)", len(cache.skipped), path, reason)
                    return cache
                logger.info("frame cache %s is out of date (inputs changed); rebuilding", cache_dir)
            except FileNotFoundError:
                pass
            except ValueError as exc:
                logger.warning("frame cache %s is invalid (%s); rebuilding", cache_dir, exc)
            return cls(cache_dir, CacheBuilder(index, cache_dir, geometry, fp, workers, strict, dtype, progress).run(),
                       index.root)

    @classmethod
    def build(cls, index: FrameIndex, cache_dir: str | os.PathLike, geometry: Geometry,
              progress: bool = True, workers: int | None = None, strict: bool = False,
              dtype: str = "auto") -> FrameCache:
        """Decode every frame of ``index`` once, shape it, and write the cache.

        Args:
            index: frames to cache.
            cache_dir: folder for the manifest and data files (created; an older cache
                there is replaced).
            geometry: shape of the cached frames.
            progress: show a tqdm progress bar.
            workers: decoding threads (default ``min(8, cpu count)``; 0 or 1: no threads).
            strict: raise ``ValueError`` naming the first unreadable file instead of
                skipping it (skipped files are logged and listed in ``skipped``).
            dtype: ``'auto'`` (uint16 if any source is 16-bit or float, else uint8),
                ``'uint8'`` or ``'uint16'``.

        Returns:
            The opened cache.

        Raises:
            ValueError: a frame does not fit the geometry (e.g. 'pad' with a larger frame),
                no frame is readable, or (strict) a file is unreadable.
        """
        cache_dir = Path(cache_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        fp = _fingerprint(index, geometry, dtype)
        with _lock(cache_dir):
            return cls(cache_dir, CacheBuilder(index, cache_dir, geometry, fp, workers, strict, dtype, progress).run(),
                       index.root)
