"""Building a frame cache: decode every frame once (threads), shape it, write the ``.npy`` files
and then the manifest (see :mod:`aecnn.data.cache` for the format and how a cache is reused).

Data files are written under temporary names and moved into place with ``os.replace``; the
manifest is written last, the same way, so an interrupted build never leaves a cache that is
trusted later.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from aecnn.data import imageio
from aecnn.data.geometry import Geometry, apply_geometry
from aecnn.data.index import CACHE_MARKER, FrameIndex

logger = logging.getLogger("aecnn.data.cache")

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DTYPES = ("auto", "uint8", "uint16")
LOW_BIT_PEAK = 16384  # 16-bit frames never brighter than this hold 14 bits or fewer: warn (scaled by 1/65535)
_OWN_FILE = re.compile(r"^(frames_[0-9a-f]{12}_h\d+_w\d+\.npy(\.tmp-.*)?|manifest\.json\.tmp-.*)$")


def _to_dtype(img: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Native frame (uint8/uint16/float [0,1]) → cache dtype, exactly where possible."""
    if img.dtype == dtype:
        return img
    if img.dtype == np.uint8 and dtype == np.uint16:
        return img.astype(np.uint16) * np.uint16(257)
    scale = 255.0 if dtype == np.uint8 else 65535.0
    x = imageio.to_unit_float(img).astype(np.float64) * scale
    return np.rint(x).astype(dtype)


def _warn_odd_sizes(src_shape: dict[int, tuple[int, int]], index: FrameIndex, geometry: Geometry) -> None:
    """A few frames (under 5 %) of another size than the rest are usually strays (a snapshot, a
    thumbnail) that a fixed ``input_size`` would resize along with the others without a word; more are a
    dataset of several sizes (two cameras, two crops), each brought to ``input_size``: both are named."""
    sizes = Counter(src_shape.values())
    if len(sizes) < 2:
        return
    (main, _), = sizes.most_common(1)
    odd = [p for p, s in src_shape.items() if s != main]
    if len(odd) <= 0.05 * len(src_shape):
        first = index.frames[min(odd)].path
        logger.warning("%d of %d frames under %s are not %dx%d (H x W) like the rest (first: %s, %dx%d): they are "
                       "brought to %dx%d with the others; remove them if they do not belong", len(odd),
                       len(src_shape), index.root, *main, first, *src_shape[min(odd)], *geometry.input_size)
    else:
        listed = ", ".join(f"{h}x{w} ({n:,})" for (h, w), n in sizes.most_common(4))
        logger.warning("frames under %s come in %d sizes (H x W): %s%s; all are brought to %dx%d, each with its "
                       "own scaling", index.root, len(sizes), listed, ", ..." if len(sizes) > 4 else "",
                       *geometry.input_size)


class _RowWriter:
    """Writes frames into a pre-sized ``.npy`` file with ``os.pwrite`` (thread-safe, no GIL
    held while copying; faster than writing through a fresh memory map)."""

    def __init__(self, path: Path, dtype: np.dtype, shape: tuple[int, int, int]) -> None:
        arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)  # header + size
        self.offset, self.dtype, self.shape = arr.offset, dtype, shape
        del arr
        self.row_bytes = shape[1] * shape[2] * dtype.itemsize
        self.fh = open(path, "r+b")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()

    def write(self, row: int, img: np.ndarray) -> None:
        if img.shape != self.shape[1:]:
            raise ValueError(f"frame shape {img.shape} != {self.shape[1:]}")
        buf = np.ascontiguousarray(img, dtype=self.dtype).data
        pos = self.offset + row * self.row_bytes
        if hasattr(os, "pwrite"):
            os.pwrite(self.fh.fileno(), buf, pos)
        else:  # pragma: no cover - Windows
            with self._lock:
                self.fh.seek(pos)
                self.fh.write(buf)

    def close(self) -> None:
        if not self.fh.closed:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()


class CacheBuilder:
    """One cache build; see :meth:`aecnn.data.cache.FrameCache.build`. :meth:`run` writes the data
    files and the manifest, and returns the manifest."""

    def __init__(self, index: FrameIndex, cache_dir: Path, geometry: Geometry, fp: str,
                 workers: int | None, strict: bool, dtype: str, progress: bool) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.index, self.cache_dir, self.geometry, self.fp = index, cache_dir, geometry, fp
        self.workers = min(8, os.cpu_count() or 1) if workers is None else int(workers)
        self.strict, self.dtype_option, self.progress = strict, dtype, progress
        self.skipped: list[tuple[Path, str]] = list(index.skipped)
        self.temps: list[Path] = []

    # units: an image file, or one array of a stack file with its (position, slice) pairs
    def _units(self) -> list[tuple[Path, str | None, list[tuple[int, int | None]]]]:
        units: list = []
        member_of: dict[tuple[Path, int], tuple[str | None, int]] = {}
        stack_units: dict[tuple[Path, str | None], list] = {}
        for pos, f in enumerate(self.index.frames):
            if f.stack_index is None:
                units.append((f.path, None, [(pos, None)]))
                continue
            if (f.path, 0) not in member_of:
                start = 0
                for m in self.index.stacks[f.path]:
                    for k in range(m.n_frames):
                        member_of[(f.path, start + k)] = (m.key, k)
                    start += m.n_frames
            key, local = member_of[(f.path, f.stack_index)]
            if (f.path, key) not in stack_units:
                stack_units[(f.path, key)] = []
                units.append((f.path, key, stack_units[(f.path, key)]))
            stack_units[(f.path, key)].append((pos, local))
        return units

    def _fail(self, path: Path, reason: str) -> None:
        reason = reason.removeprefix(f"{path}: ")
        if self.strict:
            raise ValueError(f"unreadable file {path}: {reason}")
        logger.warning("skipping unreadable file %s: %s", path, reason)
        self.skipped.append((path, reason))

    def _map(self, fn: Callable, items: list) -> Iterable:
        if self.workers <= 1:
            return map(fn, items)
        return self._pool.map(fn, items)

    def _probe(self, unit) -> tuple[list[tuple[int, int, str]] | None, str | None]:
        path, key, items = unit
        if items[0][1] is None:
            try:
                info = imageio.probe_image(path)
            except imageio.UnreadableImageError as exc:
                return None, str(exc)
            return [(info.height, info.width, info.kind)], None
        m = next(m for m in self.index.stacks[path] if m.key == key)
        return [(m.height, m.width, m.kind)] * len(items), None

    def _decode(self, unit) -> tuple[int, str | None, int]:
        """Decode one file's frames into the cache: (frames, error or None, brightest 16-bit value or -1)."""
        path, key, items = unit
        peak = -1
        try:
            if items[0][1] is None:
                frames: Iterable = [(items[0][0], imageio.read_image(path))]
            else:
                arr = imageio.load_stack_member(path, key)
                frames = ((pos, imageio.to_native(np.asarray(arr[k]), path)) for pos, k in items)
            for pos, img in frames:
                b, row = self.where[pos]
                if img.shape != self.src_shape[pos]:
                    raise imageio.UnreadableImageError(
                        f"decoded shape {img.shape} differs from header {self.src_shape[pos]}")
                if img.dtype == np.uint16:
                    peak = max(peak, int(img.max()))
                self.out[b].write(row, apply_geometry(_to_dtype(img, self.dtype), self.geometry))
        except (imageio.UnreadableImageError, OSError, ValueError) as exc:
            return len(items), str(exc), peak
        return len(items), None, peak

    def run(self) -> dict:
        t0 = time.perf_counter()
        self._clear_old()
        self._pool = ThreadPoolExecutor(max(1, self.workers), thread_name_prefix="aecnn-decode")
        try:
            manifest = self._run()
        except BaseException:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._close_out()
            for p in self.temps:
                with contextlib.suppress(OSError):
                    p.unlink()
            raise
        self._pool.shutdown()
        dt = time.perf_counter() - t0
        logger.info("built frame cache %s: %d frames in %.1f s (%.0f frames/s), %d skipped",
                    self.cache_dir, manifest["n_frames"], dt, manifest["n_frames"] / max(dt, 1e-9), len(self.skipped))
        return manifest

    def _clear_old(self) -> None:
        """Remove a previous cache (manifest first, so nothing below is trusted) and stale temps."""
        (self.cache_dir / CACHE_MARKER).touch()
        with contextlib.suppress(FileNotFoundError):
            (self.cache_dir / MANIFEST).unlink()
        for p in self.cache_dir.iterdir():
            if _OWN_FILE.match(p.name):
                with contextlib.suppress(OSError):
                    p.unlink()

    def _run(self) -> dict:
        index, geometry = self.index, self.geometry
        units = self._units()
        # 1. headers: sizes and precision, without decoding
        probed: dict[int, tuple[int, int, str]] = {}
        bad_units: set[int] = set()
        headers = tqdm(self._map(self._probe, units), total=len(units), desc="reading headers", unit="file",
                       leave=False, disable=not self.progress or len(units) < 1000)
        for u, (infos, err) in enumerate(headers):
            if err is not None:
                self._fail(units[u][0], err)
                bad_units.add(u)
                continue
            for (pos, _), info in zip(units[u][2], infos):
                probed[pos] = info
        if not probed:
            raise ValueError(f"no readable frames under {index.root}: all {len(self.skipped)} files are "
                             f"unreadable (first: {self.skipped[0][0]}: {self.skipped[0][1]})")
        kinds = {k for _, _, k in probed.values()}
        if self.dtype_option == "auto":
            self.dtype = np.dtype(np.uint16 if kinds & {"u16", "f"} else np.uint8)
        else:
            self.dtype = np.dtype(self.dtype_option)
        misfits = [(index.frames[p].path, geometry.problem(h, w)) for p, (h, w, _) in probed.items()
                   if geometry.problem(h, w)]
        if misfits:
            listing = "; ".join(f"{p}: {r}" for p, r in misfits[:3])
            raise ValueError(f"{len(misfits)} frames do not fit geometry {geometry.tag} ({listing}); "
                             "choose resize_mode='pad_crop' or 'resize', or another size")
        # 2. layout: one bucket per output shape (one in all for a fixed input_size)
        self.src_shape = {p: (h, w) for p, (h, w, _) in probed.items()}
        if geometry.input_size is not None:
            _warn_odd_sizes(self.src_shape, index, geometry)
        shapes = sorted({geometry.output_shape(h, w) for h, w in self.src_shape.values()}, key=lambda s: s[1])
        bucket_of = {s: b for b, s in enumerate(shapes)}
        counts = [0] * len(shapes)
        self.where: dict[int, tuple[int, int]] = {}
        for pos in sorted(probed):
            b = bucket_of[geometry.output_shape(*self.src_shape[pos])]
            self.where[pos] = (b, counts[b])
            counts[b] += 1
        files = [f"frames_{self.fp[:12]}_h{h}_w{w}.npy" for h, w in shapes]
        self.out = []
        for name, (h, w), n in zip(files, shapes, counts):
            tmp = self.cache_dir / f"{name}.tmp-{os.getpid()}"
            self.temps.append(tmp)
            self.out.append(_RowWriter(tmp, self.dtype, (n, h, w)))
        # 3. decode, shape, write
        good = [u for u in range(len(units)) if u not in bad_units]
        failed: set[int] = set()
        with tqdm(total=len(probed), desc="caching frames", unit="frame", disable=not self.progress) as bar:
            peak = -1
            for u, (n, err, p) in zip(good, self._map(self._decode, [units[u] for u in good])):
                bar.update(n)
                peak = max(peak, p)
                if err is not None:
                    self._fail(units[u][0], err)
                    failed.update(pos for pos, _ in units[u][2])
        if 0 <= peak < LOW_BIT_PEAK:
            logger.warning(
                "16-bit frames under %s reach at most %d of 65535 (10-, 12- or 14-bit camera data in 16-bit "
                "files?): scaled by 1/65535 they are at most %.3f bright, which the network and PSNR will "
                "see as nearly black; rescale the files to the full range first", index.root, peak, peak / 65535)
        keep = [p for p in sorted(probed) if p not in failed]
        if not keep:
            raise ValueError(f"no readable frames under {index.root} (first failure: "
                             f"{self.skipped[0][0]}: {self.skipped[0][1]})")
        if failed:
            self._compact(keep, files, shapes)
        self._close_out()
        for tmp, name in zip(self.temps, files):
            os.replace(tmp, self.cache_dir / name)
        self.temps = []
        return self._write_manifest(keep, files, shapes)

    def _close_out(self) -> None:
        for writer in getattr(self, "out", []):
            if writer is not None:
                writer.close()
        self.out = []

    def _compact(self, keep: list[int], files: list[str], shapes: list[tuple[int, int]]) -> None:
        """Rewrite the data files without the rows of frames that failed to decode."""
        rows: list[list[int]] = [[] for _ in shapes]
        for p in keep:
            rows[self.where[p][0]].append(p)
        new_out, new_temps = [], []
        for b, (name, (h, w)) in enumerate(zip(files, shapes)):
            tmp = self.cache_dir / f"{name}.tmp-{os.getpid()}-c"
            new_temps.append(tmp)
            self.temps.append(tmp)
            if not rows[b]:  # every frame of this width failed; dropped in the manifest
                with open(tmp, "wb") as fh:
                    np.save(fh, np.zeros((0, h, w), self.dtype))
                new_out.append(None)
                continue
            writer = _RowWriter(tmp, self.dtype, (len(rows[b]), h, w))
            new_out.append(writer)
            self.out[b].close()
            src = np.load(self.temps[b], mmap_mode="r")
            for r, p in enumerate(rows[b]):
                writer.write(r, src[self.where[p][1]])
                self.where[p] = (b, r)
            del src
        self._close_out()
        old = self.temps[: len(files)]
        self.out, self.temps = new_out, new_temps
        for p in old:
            with contextlib.suppress(OSError):
                p.unlink()

    def _write_manifest(self, keep: list[int], files: list[str], shapes: list[tuple[int, int]]) -> dict:
        index = self.index
        counts = [0] * len(shapes)
        for p in keep:
            counts[self.where[p][0]] += 1

        def rel(path: Path) -> str:
            return "" if path == index.root else path.relative_to(index.root).as_posix()

        seq_id = {s: k for k, s in enumerate(index.sequences)}
        frames = [index.frames[p] for p in keep]
        manifest = {
            "format": FORMAT_VERSION, "fingerprint": self.fp, "root": str(index.root),
            "geometry": self.geometry.to_dict(), "dtype": self.dtype.name, "dtype_option": self.dtype_option,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "n_frames": len(keep),
            "sequences": list(index.sequences),
            "buckets": [{"file": f, "height": h, "width": w, "count": n}
                        for f, (h, w), n in zip(files, shapes, counts) if n > 0],
            "frames": {"path": [rel(f.path) for f in frames], "seq": [seq_id[f.seq] for f in frames],
                       "frame_idx": [f.frame_idx for f in frames],
                       "stack_index": [-1 if f.stack_index is None else f.stack_index for f in frames],
                       "bucket": [], "row": [self.where[p][1] for p in keep]},
            "skipped": [[rel(p), r] for p, r in self.skipped],
        }
        renum = {}  # buckets left empty by skipped frames are dropped from the manifest
        for b, n in enumerate(counts):
            if n > 0:
                renum[b] = len(renum)
            else:
                with contextlib.suppress(OSError):
                    (self.cache_dir / files[b]).unlink()
        manifest["frames"]["bucket"] = [renum[self.where[p][0]] for p in keep]
        tmp = self.cache_dir / f"{MANIFEST}.tmp-{os.getpid()}"
        with open(tmp, "w") as fh:
            json.dump(manifest, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.cache_dir / MANIFEST)
        return manifest
