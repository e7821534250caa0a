"""Latents of every frame, in sequence and frame order, streamed to ``.npz``, ``.h5`` or ``.pt``.

::

    DATA -> index_frames (sequences in natural order, frames in natural order)
         -> frames shaped by a Geometry (read from the files, or from a FrameCache)
         -> DataLoader (workers, in order) -> runs of one shape, <= batch_size
         -> model.encode (AMP bf16 on CUDA) -> (B, L) float32/float16
         -> LatentWriter: appended to a spool file (npz/pt) or an HDF5 dataset (h5)
         -> finalised under a temporary name, renamed onto OUT

Only one batch of latents is in memory at a time; the index (sequence, frame index, source
path, stack slice) is kept as small per-frame lists. The file format (and :func:`load_embeddings`,
which reads any of the three formats back into an :class:`Embeddings`) lives in
:mod:`aecnn.inference.latent_file`; the frame datasets (:func:`open_frames`) in
:mod:`aecnn.inference.frame_sources`. Both are re-exported here.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from aecnn.inference.frame_sources import CachedFrames, FileFrames, open_frames
from aecnn.inference.latent_file import (  # noqa: F401  (FORMATS, INDEX_FIELDS, _str_array: re-exported)
    FORMATS,
    INDEX_FIELDS,
    Embeddings,
    LatentWriter,
    _str_array,
    check_format,
    load_embeddings,
    save_embeddings,
)
from aecnn.text import plural

logger = logging.getLogger(__name__)


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
        skipped = f", {plural(len(self.skipped), 'unreadable frame')} skipped" if self.skipped else ""
        return (f"wrote {self.n_frames} latents of size {self.latent_size} from {plural(self.n_sequences, 'sequence')} to "
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
    """Encode every frame of ``frames`` (a :class:`~aecnn.inference.frame_sources.FileFrames` /
    :class:`~aecnn.inference.frame_sources.CachedFrames`) into ``out``.

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
