"""PCA latents: the baseline the autoencoder's latents are compared with.

::

    frames (N, H, W) -> flatten (N, D) -> fit on the fitting frames: mean (D,), components (k, D)
                     -> latents = (frames - mean) @ components.T  -> (N, k)

"Computed the same way" as the autoencoder latents means: same frames, same geometry, fitted
on the same training sequences, same latent size ``k``, then the same ``fit-sequence`` run.
:func:`pca_embed` writes the latents in the ``aecnn embed`` format with the same index.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)


@dataclass
class PCA:
    """A fitted PCA.

    Attributes:
        mean: ``(D,)`` mean of the fitting frames.
        components: ``(k, D)`` orthonormal principal directions, by decreasing variance.
        explained_variance: ``(k,)`` variance along each component.
        total_variance: total variance of the fitting frames.
    """

    mean: torch.Tensor
    components: torch.Tensor
    explained_variance: torch.Tensor
    total_variance: float

    @property
    def explained_ratio(self) -> float:
        return float(self.explained_variance.sum()) / max(self.total_variance, 1e-30)

    def transform(self, frames: Any, batch_size: int = 4096) -> np.ndarray:
        """Latents ``(N, k)`` of ``frames`` (``(N, H, W)`` or ``(N, D)``), in batches."""
        x = _flat(frames)
        out = []
        for b in range(0, x.shape[0], batch_size):
            xb = torch.as_tensor(np.asarray(x[b:b + batch_size], dtype=np.float32))
            out.append(((xb - self.mean) @ self.components.T).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.components.shape[0]), np.float32)

    def inverse_transform(self, latents: Any) -> np.ndarray:
        """Flat reconstructions ``(N, D)`` of latents ``(N, k)``."""
        z = torch.as_tensor(np.asarray(latents, dtype=np.float32))
        return (z @ self.components + self.mean).numpy()


def _flat(frames: Any) -> np.ndarray:
    x = frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if x.ndim < 2:
        raise ValueError(f"frames must be (N, H, W) or (N, D), got shape {x.shape}")
    return x.reshape(x.shape[0], -1)


def gram_pca(x: torch.Tensor, k: int, chunk: int = 1024) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Exact PCA of centred-in-place rows through the ``N x N`` Gram matrix (cheap when frames have
    more pixels than there are frames), on ``x``'s device.

    Args:
        x: ``(N, D)`` float32; it is centred in place.
        k: components, ``<= N``.
        chunk: rows per block of the float64 products (bounds the temporaries).

    Returns:
        ``(mean (D,), components (k, D), variance (k,))``: orthonormal rows, except that
        rows beyond the rank of the centred data are zero (variance 0).
    """
    n = x.shape[0]
    mean = x.mean(0)
    x -= mean
    # The Gram matrix in float64 blocks: float32 (or TF32 on a GPU) products leave noise of about
    # 1e-7 of the largest eigenvalue, which is more than the smallest components of smooth frames.
    gram = torch.empty(n, n, dtype=torch.float64, device=x.device)
    for i in range(0, n, chunk):
        a = x[i:i + chunk].double()
        for j in range(0, i + 1, chunk):
            block = a @ x[j:j + chunk].double().T
            gram[i:i + chunk, j:j + chunk] = block
            gram[j:j + chunk, i:i + chunk] = block.T
    evals, evecs = torch.linalg.eigh(gram)  # ascending
    evals, evecs = evals.flip(0)[:k].clamp_min(0), evecs.flip(1)[:, :k]
    # Directions beyond the data's rank (always the N-th after centring, more when frames repeat)
    # have eigenvalue ~0 (rounding): dividing by its root would give huge, meaningless rows. Zero
    # them, so they encode to 0 and reconstruction stays the projection onto the data's span. The
    # cut is numpy.linalg.matrix_rank's default (largest value x size x eps), applied to eigenvalues.
    keep = evals > evals[0] * n * torch.finfo(torch.float64).eps
    w = (evecs * torch.where(keep, evals.clamp_min(1e-300).rsqrt(), torch.zeros_like(evals))).T  # (k, n)
    # Components in float64 too: a weak but real direction (e.g. the float32 rounding of the mean)
    # has a scale of ~1e6, which float32 products would turn into noise of order 1.
    comps = torch.zeros(k, x.shape[1], dtype=torch.float64, device=x.device)
    for i in range(0, n, chunk):
        comps += w[:, i:i + chunk] @ x[i:i + chunk].double()
    comps = comps.float()  # (k, D)
    return mean, comps.contiguous(), (evals * keep / max(n - 1, 1)).float()


def fit_pca(frames: Any, n_components: int, seed: int = 0) -> PCA:
    """Fit PCA on ``frames`` (``(N, H, W)`` or ``(N, D)``, float in [0, 1]).

    Exact (:func:`gram_pca`) when ``N <= 8192`` or ``D <= 4096``, else randomized
    (``torch.pca_lowrank``, 6 power iterations).

    Raises:
        ValueError: ``n_components`` not in ``[1, min(N, D)]``.
    """
    x = torch.as_tensor(np.asarray(_flat(frames), dtype=np.float32)).clone()
    n, d = x.shape
    k = int(n_components)
    if not 1 <= k <= min(n, d):
        raise ValueError(f"n_components must be in [1, min(N, D)] = [1, {min(n, d)}], got {k} "
                         f"(PCA of {n} frames of {d} values)")
    if n <= d and n <= 8192:
        mean, comps, var = gram_pca(x, k)
        total = float(x.pow(2).sum()) / max(n - 1, 1)
        return PCA(mean, comps, var, total)
    mean = x.mean(0)
    xc = x - mean
    total = float(xc.pow(2).sum()) / max(n - 1, 1)
    if d <= 4096:
        _, s, vh = torch.linalg.svd(xc, full_matrices=False)
        comps, var = vh[:k], (s[:k] ** 2) / max(n - 1, 1)
    else:
        torch.manual_seed(seed)
        _, s, v = torch.pca_lowrank(xc, q=min(k + 10, min(n, d)), center=False, niter=6)
        comps, var = v[:, :k].T, (s[:k] ** 2) / max(n - 1, 1)
    return PCA(mean, comps.float().contiguous(), var.float(), total)


def pca_latents(frames: Any, n_components: int, fit_frames: Any | None = None, seed: int = 0) -> np.ndarray:
    """PCA latents ``(N, n_components)`` of ``frames``, fitted on ``fit_frames`` (default: ``frames``)."""
    pca = fit_pca(frames if fit_frames is None else fit_frames, n_components, seed)
    logger.info("PCA with %d components explains %.1f %% of the variance", n_components, 100 * pca.explained_ratio)
    return pca.transform(frames)


def pca_embed(data: str | os.PathLike, out: str | os.PathLike, n_components: int, geometry: Any,
              fit_sequences: Sequence[str] | None = None, seed: int = 0, progress: bool = True) -> Path:
    """PCA latents of every frame under ``data``, written like ``aecnn embed`` writes AE latents.

    Args:
        data: frame folder (as for ``aecnn embed``).
        out: ``.npz`` / ``.h5`` / ``.pt`` output.
        n_components: latent size (use the autoencoder's).
        geometry: :class:`~aecnn.data.dataset.Geometry` (use the training geometry; fixed size only).
        fit_sequences: sequences to fit the PCA on (use the autoencoder's training sequences);
            default all.
        seed: randomized-SVD seed.
        progress: progress bar while reading.

    Returns:
        ``out``. All frames are held in memory as float32 (N x H x W x 4 bytes).
    """
    from tqdm.auto import tqdm

    from aecnn.inference.embed import open_frames, save_embeddings

    if geometry.input_size is None:
        raise ValueError("PCA needs one fixed frame size: give the geometry an input_size")
    frames, info = open_frames(data, geometry)
    arrays, metas = [], []
    for i in tqdm(range(len(frames)), desc="pca: read", unit="frame", disable=not progress, leave=False):
        _, x, err = frames[i]
        if err is not None:
            logger.warning("skipping unreadable frame %s: %s", frames.meta(i)[2], err)
            continue
        arrays.append(x[0].numpy())
        metas.append(frames.meta(i))
    stack = np.stack(arrays)  # (N, H, W)
    if fit_sequences is not None:
        keep = set(fit_sequences)
        sel = np.array([m[0] in keep for m in metas])
        if not sel.any():
            raise ValueError(f"none of the fit_sequences {list(fit_sequences)[:3]} is in {data}")
        fit = stack[sel]
    else:
        fit = stack
    pca = fit_pca(fit, n_components, seed)
    lat = pca.transform(stack)
    meta = {"kind": "pca", "n_components": int(n_components), "explained_variance_ratio": pca.explained_ratio,
            "fit_sequences": list(fit_sequences) if fit_sequences is not None else None, "data": info,
            "latent_shape": [int(n_components)]}
    return save_embeddings(out, lat, [m[0] for m in metas], [m[1] for m in metas], [m[2] for m in metas],
                           [m[3] for m in metas], meta)


__all__ = ["PCA", "fit_pca", "gram_pca", "pca_embed", "pca_latents"]
