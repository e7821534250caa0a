"""Latents of every frame, in sequence and frame order, streamed to ``.npz``, ``.h5`` or ``.pt``.

::

    DATA -> index_frames (sequences in natural order, frames in natural order)
         -> frames shaped by a Geometry (read from the files, or from a FrameCache)
         -> DataLoader (workers, in order) -> runs of one shape, <= batch_size
         -> model.encode (AMP bf16 on CUDA) -> (B, L) float32/float16
         -> LatentWriter: appended to a spool file (npz/pt) or an HDF5 dataset (h5)
         -> finalised under a temporary name, renamed onto OUT

Only one batch of latents is in memory at a time; the index (sequence, frame index, source
path, stack slice) is kept as small per-frame lists. Every file holds:

    latents      (N, L)  float32 (or float16)
    sequence     (N,)    sequence name of each frame
    frame_index  (N,)    position of the frame in its sequence
    path         (N,)    source file
    stack_index  (N,)    slice of a stack file, -1 for image files
    meta         JSON    model config, latent shape, geometry, checkpoint, data root, version

:func:`load_embeddings` reads any of the three formats back into an :class:`Embeddings`.
"""
from __future__ import annotations

import json
import logging
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from aecnn.io import atomic_write

logger = logging.getLogger(__name__)

FORMATS = (".npz", ".h5", ".hdf5", ".pt")
INDEX_FIELDS = ("sequence", "frame_index", "path", "stack_index")


def check_format(path: str | os.PathLike) -> str:
    """The output format of ``path`` from its extension; raises ``ValueError`` for others."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown latent file format {suffix or '(none)'}; use .npz, .h5 or .pt")
    if suffix in (".h5", ".hdf5"):
        try:
            import h5py  # noqa: F401
        except ImportError:
            raise ValueError(f"{path}: writing .h5 needs h5py (pip install 'aecnn[hdf5]'); "
                             "or use .npz / .pt") from None
    return suffix


# ----------------------------------------------------------------------------- reading


@dataclass
class Embeddings:
    """Latents with their frame index (what :func:`load_embeddings` returns).

    Attributes:
        latents: ``(N, L)`` array (float32 or float16).
        sequence: ``(N,)`` sequence names.
        frame_index: ``(N,)`` int64.
        path: ``(N,)`` source paths ('' when unknown).
        stack_index: ``(N,)`` int64, -1 for image files.
        meta: everything else recorded (model config, latent shape, geometry...).
    """

    latents: np.ndarray
    sequence: np.ndarray
    frame_index: np.ndarray
    path: np.ndarray
    stack_index: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.latents)
        if self.latents.ndim != 2:
            raise ValueError(f"latents must be (N, L), got shape {self.latents.shape}")
        for name in INDEX_FIELDS:
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries for {n} latents")

    def __len__(self) -> int:
        return len(self.latents)

    @property
    def latent_size(self) -> int:
        return int(self.latents.shape[1])

    @property
    def sequences(self) -> list[str]:
        """Distinct sequence names in file order."""
        return list(dict.fromkeys(self.sequence.tolist()))

    def by_sequence(self) -> dict[str, np.ndarray]:
        """``name -> (T, L)`` latents of each sequence, sorted by frame index."""
        out = {}
        names = self.sequence
        for name in self.sequences:
            idx = np.flatnonzero(names == name)
            idx = idx[np.argsort(self.frame_index[idx], kind="stable")]
            out[name] = np.asarray(self.latents[idx])
        return out


def _str_array(values: Sequence[str]) -> np.ndarray:
    return np.asarray([str(v) for v in values], dtype=np.str_) if len(values) else np.zeros(0, dtype="<U1")


def load_embeddings(path: str | os.PathLike) -> Embeddings:
    """Read a latent file written by :func:`embed_frames` / :func:`save_embeddings`.

    ``.pt`` files are memory-mapped (``torch.load(mmap=True, weights_only=True)``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a latent file of a known format.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"latent file not found: {path}")
    suffix = check_format(path)
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                d = {k: z[k] for k in ("latents", *INDEX_FIELDS, "meta")}
            meta = json.loads(str(d.pop("meta")))
        elif suffix == ".pt":
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            d = {"latents": obj["latents"].numpy(), "frame_index": obj["frame_index"].numpy(),
                 "stack_index": obj["stack_index"].numpy(), "sequence": _str_array(obj["sequence"]),
                 "path": _str_array(obj["path"])}
            meta = json.loads(obj["meta"])
        else:
            import h5py

            with h5py.File(path, "r") as h:
                d = {"latents": h["latents"][()], "frame_index": h["frame_index"][()],
                     "stack_index": h["stack_index"][()],
                     "sequence": _str_array(h["sequence"].asstr()[()].tolist()),
                     "path": _str_array(h["path"].asstr()[()].tolist())}
                meta = json.loads(h.attrs["meta"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not an aecnn latent file (missing {exc})") from None
    except (OSError, ValueError, RuntimeError, zipfile.BadZipFile) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path} is not a readable latent file ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return Embeddings(d["latents"], d["sequence"], d["frame_index"].astype(np.int64), d["path"],
                      d["stack_index"].astype(np.int64), meta)


# ----------------------------------------------------------------------------- writing


class LatentWriter:
    """Append ``(B, L)`` latents with their index; :meth:`close` publishes the file atomically.

    ``.npz`` / ``.pt``: latents go to a hidden spool file next to ``path`` and are copied into
    the final container at :meth:`close` (memory stays O(batch)); ``.h5``: appended to a
    resizable dataset of a temporary HDF5 file. Use as a context manager: on an exception
    the temporary files are removed and nothing appears at ``path``.
    """

    def __init__(self, path: str | os.PathLike, latent_size: int, dtype: str = "float32",
                 meta: dict | None = None) -> None:
        self.path = Path(path).expanduser()
        self.format = check_format(self.path)
        if dtype not in ("float32", "float16"):
            raise ValueError(f"dtype must be float32 or float16, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self.latent_size = int(latent_size)
        self.meta = dict(meta or {})
        self.index: dict[str, list] = {k: [] for k in INDEX_FIELDS}
        self.n = 0
        from aecnn.inference.reconstruct import check_writable_dir

        check_writable_dir(self.path.parent, create=True)
        self._spool_path = self.path.with_name(f".{self.path.name}.{os.getpid()}.spool")
        if self.format in (".h5", ".hdf5"):
            import h5py

            self._h5_tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            self._h5 = h5py.File(self._h5_tmp, "w")
            chunk = (max(1, min(1024, (1 << 20) // max(1, self.latent_size * self.dtype.itemsize))), self.latent_size)
            self._ds = self._h5.create_dataset("latents", shape=(0, self.latent_size), maxshape=(None, self.latent_size),
                                               dtype=self.dtype, chunks=chunk)
            self._spool = None
        else:
            self._spool = open(self._spool_path, "wb")  # noqa: SIM115  (closed by close()/abort())

    def __enter__(self) -> LatentWriter:  # noqa: PYI034
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write(self, latents: np.ndarray | torch.Tensor, sequence: Sequence[str], frame_index: Sequence[int],
              path: Sequence[str] | None = None, stack_index: Sequence[int] | None = None) -> None:
        """Append a batch: ``latents (B, L)`` and one index entry per row."""
        if isinstance(latents, torch.Tensor):
            latents = latents.detach().float().cpu().numpy()
        lat = np.ascontiguousarray(latents, dtype=self.dtype)
        b = lat.shape[0]
        if lat.ndim != 2 or lat.shape[1] != self.latent_size:
            raise ValueError(f"latents of shape {lat.shape}, expected (B, {self.latent_size})")
        path = [""] * b if path is None else list(path)
        stack_index = [-1] * b if stack_index is None else [-1 if s is None else int(s) for s in stack_index]
        if not (len(sequence) == len(frame_index) == len(path) == len(stack_index) == b):
            raise ValueError("index lists must have one entry per latent row")
        if self._spool is not None:
            self._spool.write(lat.tobytes())
        else:
            self._ds.resize(self.n + b, axis=0)
            self._ds[self.n:self.n + b] = lat
        self.index["sequence"] += [str(s) for s in sequence]
        self.index["frame_index"] += [int(f) for f in frame_index]
        self.index["path"] += [str(p) for p in path]
        self.index["stack_index"] += stack_index
        self.n += b

    def _meta_json(self) -> str:
        meta = {**self.meta, "n_frames": self.n, "latent_size": self.latent_size, "dtype": str(self.dtype)}
        return json.dumps(meta, default=str)

    def _write_npz(self, tmp: str) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            with zf.open("latents.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_1_0(fh, {"descr": np.lib.format.dtype_to_descr(self.dtype),
                                                          "fortran_order": False,
                                                          "shape": (self.n, self.latent_size)})
                with open(self._spool_path, "rb") as src:
                    while chunk := src.read(1 << 24):
                        fh.write(chunk)
            arrays = {"sequence": _str_array(self.index["sequence"]),
                      "frame_index": np.asarray(self.index["frame_index"], np.int64),
                      "path": _str_array(self.index["path"]),
                      "stack_index": np.asarray(self.index["stack_index"], np.int64),
                      "meta": np.asarray(self._meta_json())}
            for name, arr in arrays.items():
                with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, arr, allow_pickle=False)

    def _write_pt(self, tmp: str) -> None:
        if self.n:
            # copy-on-write map of the spool: torch.save streams it without holding it all in RAM
            lat = torch.from_numpy(np.memmap(self._spool_path, dtype=self.dtype, mode="c",
                                             shape=(self.n, self.latent_size)))
        else:
            lat = torch.zeros(0, self.latent_size, dtype=getattr(torch, str(self.dtype)))
        obj = {"latents": lat, "sequence": list(self.index["sequence"]),
               "frame_index": torch.tensor(self.index["frame_index"], dtype=torch.int64),
               "path": list(self.index["path"]),
               "stack_index": torch.tensor(self.index["stack_index"], dtype=torch.int64),
               "meta": self._meta_json()}
        torch.save(obj, tmp)

    def close(self) -> Path:
        """Finish the file and move it onto ``path``; returns ``path``."""
        try:
            if self._spool is not None:
                self._spool.close()
                atomic_write(self.path, self._write_npz if self.format == ".npz" else self._write_pt)
            else:
                import h5py

                h = self._h5
                h.create_dataset("sequence", data=self.index["sequence"], dtype=h5py.string_dtype())
                h.create_dataset("path", data=self.index["path"], dtype=h5py.string_dtype())
                h.create_dataset("frame_index", data=np.asarray(self.index["frame_index"], np.int64))
                h.create_dataset("stack_index", data=np.asarray(self.index["stack_index"], np.int64))
                h.attrs["meta"] = self._meta_json()
                h.close()
                os.replace(self._h5_tmp, self.path)
        finally:
            self._cleanup()
        return self.path

    def abort(self) -> None:
        """Drop everything written so far."""
        if self._spool is not None:
            self._spool.close()
        else:
            try:
                self._h5.close()
            except Exception as exc:  # noqa: BLE001  (the file is deleted next anyway)
                logger.debug("closing %s failed: %s", self._h5_tmp, exc)
        self._cleanup()

    def _cleanup(self) -> None:
        self._spool_path.unlink(missing_ok=True)
        if self._spool is None:
            self._h5_tmp.unlink(missing_ok=True)


def save_embeddings(path: str | os.PathLike, latents: np.ndarray | torch.Tensor, sequence: Sequence[str],
                    frame_index: Sequence[int], paths: Sequence[str] | None = None,
                    stack_index: Sequence[int] | None = None, meta: dict | None = None,
                    dtype: str = "float32") -> Path:
    """Write in-memory latents (e.g. PCA latents, or synthetic ones for tests) in the embed format."""
    lat = latents.detach().cpu().numpy() if isinstance(latents, torch.Tensor) else np.asarray(latents)
    with LatentWriter(path, lat.shape[1], dtype, meta) as w:
        w.write(lat, list(sequence), list(frame_index), paths, stack_index)
    return Path(path)


# ----------------------------------------------------------------------------- frames in


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

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor | None, str | None]:
        from aecnn.data import imageio
        from aecnn.data.dataset import apply_geometry

        f = self.index.frames[i]
        try:
            img = imageio.read_image(f.path) if f.stack_index is None else self._stack_frame(f.path, f.stack_index)
            img = apply_geometry(img, self.geometry)
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


# ----------------------------------------------------------------------------- the loop


@dataclass
class EmbedSummary:
    """What :func:`embed_frames` wrote."""

    path: Path
    n_frames: int
    n_sequences: int
    latent_size: int
    skipped: list[tuple[str, str]]
    seconds: float

    def line(self) -> str:
        rate = self.n_frames / max(self.seconds, 1e-9)
        skipped = f", {len(self.skipped)} unreadable frames skipped" if self.skipped else ""
        return (f"wrote {self.n_frames} latents of size {self.latent_size} from {self.n_sequences} sequences to "
                f"{self.path} ({self.seconds:.1f} s, {rate:.0f} frames/s{skipped})")


def _runs(items: list) -> Iterator[list]:
    """Consecutive items whose tensors have one shape."""
    run: list = []
    for it in items:
        if run and it[1].shape != run[0][1].shape:
            yield run
            run = []
        run.append(it)
    if run:
        yield run


def embed_frames(model: torch.nn.Module, frames: Dataset, out: str | os.PathLike, batch_size: int = 64,
                 workers: int = 2, dtype: str = "float32", amp: bool = True, strict: bool = False,
                 progress: bool = True, meta: dict | None = None) -> EmbedSummary:
    """Encode every frame of ``frames`` (a :class:`FileFrames` / :class:`CachedFrames`) into ``out``.

    Args:
        model: the autoencoder (eval mode is set; its device is used).
        frames: the frame dataset, in the order the latents are written.
        out: ``.npz``, ``.h5`` or ``.pt`` file (written atomically).
        batch_size: frames per forward pass (runs of one frame shape).
        workers: DataLoader worker processes that decode frames.
        dtype: ``'float32'`` or ``'float16'`` latents on disk.
        amp: bf16 autocast on CUDA (ignored on CPU).
        strict: stop at the first unreadable frame instead of skipping it.
        progress: tqdm progress bar.
        meta: extra entries for the file's ``meta``.

    Returns:
        The :class:`EmbedSummary`.

    Raises:
        ValueError: an unreadable frame with ``strict``, bad options, or no readable frame.
    """
    import time

    from tqdm.auto import tqdm

    from aecnn import __version__

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_format(out)
    t0 = time.perf_counter()
    model.eval()
    dev = next(model.parameters()).device
    use_amp = amp and dev.type == "cuda"
    info = {"aecnn_version": __version__, "model_config": model.get_config(),
            "latent_shape": list(model.latent_shape), "amp": "bf16" if use_amp else None, **(meta or {})}
    loader = DataLoader(frames, batch_size=batch_size, shuffle=False, num_workers=max(0, int(workers)),
                        collate_fn=list, pin_memory=dev.type == "cuda", persistent_workers=False)
    skipped: list[tuple[str, str]] = []
    seqs: set[str] = set()
    with LatentWriter(out, model.config.latent_size, dtype, info) as writer, \
            tqdm(total=len(frames), desc="embed", unit="frame", disable=not progress, leave=False) as bar:
        for items in loader:
            good = []
            for i, x, err in items:
                if err is None:
                    good.append((i, x))
                    continue
                path = frames.meta(i)[2]
                if strict:
                    raise ValueError(f"unreadable frame {path}: {err}")
                logger.warning("skipping unreadable frame %s: %s", path, err)
                skipped.append((path, err))
            for run in _runs(good):
                x = torch.stack([t for _, t in run]).to(dev, non_blocking=True)  # (B, 1, H, W)
                with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
                    z = model.encode(x)  # (B, L)
                metas = [frames.meta(i) for i, _ in run]
                writer.write(z.float(), [m[0] for m in metas], [m[1] for m in metas], [m[2] for m in metas],
                             [m[3] for m in metas])
                seqs.update(m[0] for m in metas)
            bar.update(len(items))
        if writer.n == 0:
            raise ValueError(f"no readable frame to embed ({len(skipped)} unreadable)")
        writer.meta["skipped"] = [list(s) for s in skipped]
    return EmbedSummary(Path(out), writer.n, len(seqs), int(model.config.latent_size), skipped,
                        time.perf_counter() - t0)


__all__ = ["CachedFrames", "EmbedSummary", "Embeddings", "FileFrames", "LatentWriter", "check_format",
           "embed_frames", "load_embeddings", "open_frames", "save_embeddings"]
