"""PCA as a linear autoencoder (the best one, in mean squared error), fitted exactly.

The principal axes come from the eigendecomposition of the centred Gram matrix ``X X^T``
(``n x n``, n = training frames), which is exact and cheap when the frames have more pixels
than there are frames (201x201 = 40,401 and 152x1280 = 194,560 pixels per frame)::

    X (n, d) centred -> G = X X^T -> eigh (float64) -> U (n, k), lam (k,)
    components V = X^T U / sqrt(lam)  (d, k), orthonormal columns
    encode: z = (x - mean) V[:, :L];  decode: x' = z V[:, :L]^T + mean
"""
from __future__ import annotations

import torch

from aecnn.sequence.pca import gram_pca


class PCA:
    """Principal components of uint8 frames, for every latent size up to ``max_components``."""

    def __init__(self, max_components: int) -> None:
        if max_components < 1:
            raise ValueError(f"max_components must be >= 1, got {max_components}")
        self.max_components = max_components
        self.mean: torch.Tensor | None = None
        self.components: torch.Tensor | None = None  # (d, k)
        self.shape: tuple[int, int] | None = None

    @torch.no_grad()
    def fit(self, frames: torch.Tensor, chunk: int = 1024) -> PCA:
        """Fit on ``frames`` ``(n, H, W)`` uint8 (on the device that should do the work).

        Raises:
            ValueError: if there are fewer frames than components.
        """
        n = frames.shape[0]
        k = self.max_components
        if n < k:
            raise ValueError(f"PCA with {k} components needs at least {k} training frames, got {n}")
        self.shape = tuple(frames.shape[1:])
        x = frames.reshape(n, -1).float().div_(255.0)  # (n, d)
        self.mean, comps, _ = gram_pca(x, k, chunk)
        self.components = comps.T  # (d, k)
        return self

    def _v(self, latent: int) -> torch.Tensor:
        if self.components is None:
            raise RuntimeError("PCA is not fitted")
        if not 1 <= latent <= self.components.shape[1]:
            raise ValueError(f"latent must be in 1..{self.components.shape[1]}, got {latent}")
        return self.components[:, :latent]

    @torch.no_grad()
    def encode(self, x: torch.Tensor, latent: int) -> torch.Tensor:
        """``(B, 1, H, W)`` floats in [0, 1] -> ``(B, latent)``."""
        return (x.flatten(1).float() - self.mean) @ self._v(latent)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, latent: int) -> torch.Tensor:
        """``(B, latent)`` -> ``(B, 1, H, W)``."""
        return (z.float() @ self._v(latent).T + self.mean).view(z.shape[0], 1, *self.shape)


def pca_codec(pca: PCA, latent: int):
    """(encode, decode) of a fitted :class:`PCA` at ``latent`` components, in float32 even
    under autocast; the same call signatures as :func:`aecnn.quality.loop.model_codec`."""
    def enc(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return pca.encode(x, latent)

    def dec(z: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        with torch.autocast(z.device.type, enabled=False):
            return pca.decode(z, latent)

    return enc, dec
