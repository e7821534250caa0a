"""The latent file format: ``.npz``, ``.h5`` or ``.pt`` files of per-frame latents with their index.

Every file holds:

    latents      (N, L)  float32 (or float16)
    sequence     (N,)    sequence name of each frame
    frame_index  (N,)    position of the frame in its sequence
    path         (N,)    source file
    stack_index  (N,)    slice of a stack file, -1 for image files
    meta         JSON    model config, latent shape, geometry, checkpoint, data root, version

:class:`LatentWriter` streams batches into one (published atomically), :func:`save_embeddings`
writes in-memory latents, and :func:`load_embeddings` reads any of the three formats back into
an :class:`Embeddings`.
"""
from __future__ import annotations

import json
import logging
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

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

    def frame_indices_by_sequence(self) -> dict[str, np.ndarray]:
        """``name -> (T,)`` frame indices of each sequence, in the order of :meth:`by_sequence`."""
        names = self.sequence
        return {name: np.sort(self.frame_index[np.flatnonzero(names == name)], kind="stable")
                for name in self.sequences}


def _str_array(values: Sequence[str]) -> np.ndarray:
    return np.asarray([str(v) for v in values], dtype=np.str_) if len(values) else np.zeros(0, dtype="<U1")


def load_embeddings(path: str | os.PathLike) -> Embeddings:
    """Read a latent file written by :func:`~aecnn.inference.embed.embed_frames` / :func:`save_embeddings`.

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
