"""Benchmark data: held-out synthetic droplet sequences (both kinds from one render) and the
users' real frames, fitted to the models' sizes.

Synthetic frames stay uint8 ``(N, H, W)`` (sequence-major, ``frames_per_sequence`` per
sequence) with one hidden viscosity per sequence. Train and validation sequences come from
different generator seeds, so no sequence (and no near-identical neighbour frame) is shared.
"""
from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aecnn.data.synth import SynthConfig, render_sequence
from aecnn.data.track import drop_centre
from aecnn.sequence.features import frame_change

log = logging.getLogger(__name__)


@dataclass
class SynthSplit:
    """One split of one kind: frames ``(S*T, H, W)`` uint8 and ``viscosity`` ``(S,)``."""

    frames: np.ndarray
    viscosity: np.ndarray
    frames_per_sequence: int
    # (S*T, 2) per-frame displacement of the drop: crops, the change of the crop origin from the previous
    # frame; strips, the change of the dark-pixel centroid found in each strip (:func:`track_drop`)
    motion: np.ndarray | None = None

    @property
    def n_sequences(self) -> int:
        return len(self.viscosity)


def _render(args: tuple[SynthConfig, int]) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    cfg, i = args
    seq = render_sequence(cfg, i, kinds=("strip", "crop"))
    origin = np.stack([seq.frames["crop_x0"], seq.frames["crop_y0"]], axis=1)
    return seq.strips, seq.crops, float(seq.viscosity), frame_change(origin), frame_change(track_drop(seq.strips))


#: SynthConfig fields :func:`make_split` sets itself; a generator variant (``--synth``) may not.
SPLIT_FIELDS = ("n_sequences", "frames_per_sequence", "strip_size", "crop_size", "seed")


def make_split(n_sequences: int, frames_per_sequence: int, strip_size: tuple[int, int],
               crop_size: tuple[int, int], seed: int, workers: int = 0, **synth: object) -> dict[str, SynthSplit]:
    """Render ``n_sequences`` sequences once and return ``{"strip": ..., "crop": ...}``.

    ``synth`` sets further :class:`SynthConfig` fields (a generator variant).

    Uses up to ``workers`` processes (0: one per CPU core, at most 16). Call it before CUDA
    is initialised: worker processes are forked.
    """
    cfg = SynthConfig(n_sequences=n_sequences, frames_per_sequence=frames_per_sequence,
                      strip_size=strip_size, crop_size=crop_size, seed=seed, **synth)
    jobs = [(cfg, i) for i in range(n_sequences)]
    workers = workers or min(16, os.cpu_count() or 1)
    if workers > 1 and n_sequences > 4 and "fork" in mp.get_all_start_methods():
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as ex:
            out = list(ex.map(_render, jobs, chunksize=max(1, n_sequences // (4 * workers))))
    else:
        out = [_render(j) for j in jobs]
    strips = np.concatenate([o[0] for o in out])
    crops = np.concatenate([o[1] for o in out])
    visc = np.array([o[2] for o in out], dtype=np.float64)
    motion = np.concatenate([o[3] for o in out]).astype(np.float32)
    strip_motion = np.concatenate([o[4] for o in out]).astype(np.float32)
    return {"strip": SynthSplit(strips, visc, frames_per_sequence, strip_motion),
            "crop": SynthSplit(crops, visc, frames_per_sequence, motion)}


def shown_frames(n_sequences: int, frames_per_sequence: int) -> list[int]:
    """Indexes of the four validation frames the figures show: frames from the start, middle, end
    and first quarter of sequences 0-3 (fewer where the split is smaller)."""
    t, last = frames_per_sequence, n_sequences * frames_per_sequence - 1
    return sorted({min(i * t + j, last) for i, j in ((0, 0), (1, t // 2), (2, t - 1), (3, t // 4))})


# ----------------------------------------------------------------------------- real frames


def load_real_frames(folder: str | os.PathLike | None) -> tuple[np.ndarray, list[str]] | None:
    """The 8-bit grayscale PNGs of ``folder`` (sorted by name) as ``(N, H, W)`` uint8, or
    ``None`` when the folder is missing or holds none (the real frames are optional)."""
    if folder is None:
        return None
    folder = Path(folder)
    paths = sorted(folder.glob("*.png")) if folder.is_dir() else []
    if not paths:
        log.info("no real frames in %s; skipping the real-frame evaluation", folder)
        return None
    from PIL import Image

    arrays = [np.asarray(Image.open(p).convert("L")) for p in paths]
    shape = arrays[0].shape
    keep = [(a, p.name) for a, p in zip(arrays, paths) if a.shape == shape]
    return np.stack([a for a, _ in keep]), [n for _, n in keep]


def _drop_centre(frame: np.ndarray) -> tuple[float, float]:
    """(row, col) centroid of the dark pixels (< 128), leaving out rows dark across most of the
    width (the baseline and the substrate); the frame's centre when there are none."""
    x, y, _ = drop_centre(frame, threshold=128)
    if math.isnan(x):
        return frame.shape[0] / 2, frame.shape[1] / 2
    return y, x


def track_drop(frames: np.ndarray) -> np.ndarray:
    """``(T, 2)`` (x, y) centroid of the drop's dark pixels in each frame of ``(T, H, W)``: the
    tracker of :mod:`aecnn.data.track`, which users run on their own frames with ``aecnn track`` (the
    crops' displacement comes from where they were cut, which is the same centroid)."""
    return np.array([_drop_centre(f)[::-1] for f in frames], dtype=np.float64).reshape(len(frames), 2)


def real_crops(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``size`` crops centred on the drop, filled with each frame's median grey outside it
    (how the generator cuts its crops, with the background as fill)."""
    ch, cw = size
    out = []
    for f in frames:
        cy, cx = _drop_centre(f)
        oy, ox = int(cy) - ch // 2, int(cx) - cw // 2
        crop = np.full((ch, cw), int(np.median(f)), dtype=np.uint8)
        ya, yb = max(oy, 0), min(oy + ch, f.shape[0])
        xa, xb = max(ox, 0), min(ox + cw, f.shape[1])
        crop[ya - oy:yb - oy, xa - ox:xb - ox] = f[ya:yb, xa:xb]
        out.append(crop)
    return np.stack(out)


def real_strips(frames: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Fit full-width frames to ``size`` (H, W): rows are padded at the top by repeating the
    top row (the baseline stays at the bottom, as in the synthetic strips) or cut from the
    top; columns are cut around the drop or padded on the right by repetition.

    Returns the fitted frames and the (rows, cols) slice of real pixels in them (metrics are
    taken there only, not on the padding).
    """
    h, w = size
    fh, fw = frames.shape[1:]
    out = []
    for f in frames:
        if fh < h:
            f = np.concatenate([np.repeat(f[:1], h - fh, axis=0), f])
        else:
            f = f[fh - h:]
        if fw > w:
            _, cx = _drop_centre(f)
            x0 = int(np.clip(cx - w / 2, 0, fw - w))
            f = f[:, x0:x0 + w]
        elif fw < w:
            f = np.concatenate([f, np.repeat(f[:, -1:], w - fw, axis=1)], axis=1)
        out.append(f)
    rows = slice(max(h - fh, 0), h)
    cols = slice(0, min(fw, w))
    return np.stack(out), (rows, cols)
