"""Per-image PSNR and SSIM, and a running sum that can be all-reduced across DDP ranks.

Both metrics compare the reconstruction clamped to [0, 1] with the target (data range 1)
in float32, so they mean the same thing whatever the model's output activation is.
"""
from __future__ import annotations

import torch

from aecnn.metrics import MAX_PSNR, psnr, ssim  # noqa: F401  (re-exported)


class MetricSums:
    """Sums of per-image metrics and of batch losses; :meth:`means` gives the averages.

    ``loss`` is weighted by the images in each batch, so the mean is over images, as
    PSNR and SSIM are. :meth:`all_reduce` sums over DDP ranks (exact global means).
    """

    KEYS = ("loss", "psnr", "ssim", "count")

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.sums = torch.zeros(len(self.KEYS), dtype=torch.float64, device=device)

    @torch.no_grad()
    def update(self, pred: torch.Tensor, target: torch.Tensor, loss: torch.Tensor | float) -> None:
        n = pred.shape[0]
        p, s = psnr(pred, target), ssim(pred, target)
        add = torch.stack([torch.as_tensor(loss, dtype=torch.float64, device=self.sums.device) * n,
                           p.double().sum().to(self.sums.device), s.double().sum().to(self.sums.device),
                           torch.tensor(float(n), dtype=torch.float64, device=self.sums.device)])
        self.sums += add

    def all_reduce(self) -> MetricSums:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(self.sums)
        return self

    def means(self) -> dict[str, float]:
        """``{"loss", "psnr", "ssim"}`` averaged over images (NaN when empty), plus ``count``."""
        loss, p, s, n = (float(v) for v in self.sums.cpu())
        if n == 0:
            return {"loss": float("nan"), "psnr": float("nan"), "ssim": float("nan"), "count": 0}
        return {"loss": loss / n, "psnr": p / n, "ssim": s / n, "count": int(n)}
