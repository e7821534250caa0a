"""LSTM regressor over latent sequences.

::

    x (B, T, L) -> [summary 'width-fft': the first L - passthrough values, a (C, h, w) latent grid,
                    become |rfft| along w, C*h*(w//2+1) values: the same for a drop anywhere along w;
                    summary 'width-recentre': the grid minus its per-column training mean, cut to
                    `summary_window` columns centred on the column that deviates most: C*h*window values]
      -> [reduce: first K principal components (or PLS directions) of those values,
                    fitted on the training frames; the last `passthrough` values kept as they are]
      -> standardise (train-set mean/std per value) -> dropout
      -> Linear L -> P (optional input projection) -> LSTM (hidden H, layers)
      -> head 'v1':   mean over time -> Linear H -> 1     (the users' V1 client)
         head 'last': last time step -> Linear H -> 1
      -> * y_std + y_mean  -> (B,) prediction in target units

The standardisation statistics live in buffers, so a saved model takes raw latents.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

HEADS = ("v1", "last")
SUMMARIES = ("none", "width-fft", "width-recentre")
REDUCE_METHODS = ("pca", "pls")


@dataclass(frozen=True)
class SequenceModelConfig:
    """Architecture of :class:`LatentLSTM`.

    Attributes:
        latent_size: L, values per frame.
        hidden_size: LSTM hidden size H.
        num_layers: stacked LSTM layers.
        head: ``'v1'`` (mean over time, then linear: the users' client) or ``'last'`` (last step).
        projection: size of a linear input projection before the LSTM (0: none).
        dropout: dropout on the (standardised) input and between LSTM layers.
        reduce: keep the first ``reduce`` principal components of the latent values (0: all values).
            With a few hundred training sequences an LSTM over 512 values or more fits noise; a
            few components carry what a sequence needs (benchmarks/QUALITY.md, "R² ceiling").
        passthrough: trailing input values that are not latents (e.g. ``--frame-features``) and
            are kept beside the components, not mixed into them.
        summary: ``'none'`` or ``'width-fft'``: replace the latent values, a ``grid`` = (C, h, w) spatial
            latent, by the magnitude of their Fourier transform along w. A drop sliding along a strip
            moves between the grid's columns; the magnitude does not follow it (benchmarks/QUALITY.md,
            "Strips with the tracked displacement": R² 0.906 -> 0.936 on synthetic strips).
            ``'width-recentre'``: subtract each grid column's mean over the training frames, then keep
            ``summary_window`` columns centred on the column whose deviation (L2 over C and h) is largest,
            i.e. on the drop (columns beyond the grid count as no deviation). The drop's own columns
            then sit at the same place whatever its position (benchmarks/QUALITY.md, "A strip summary
            tested on new trainings").
        grid: (C, h, w) of the latent values, for the ``width-*`` summaries.
        summary_window: columns kept by ``'width-recentre'`` (odd keeps the drop's column in the middle; default 9).
        reduce_method: how the ``reduce`` components are found. ``'pca'``: principal components of the
            training frames' latent values (unsupervised). ``'pls'``: partial least squares (PLS1) of
            the training frames' latent values against their sequence's target (Wold et al. 2001,
            "PLS-regression: a basic tool of chemometrics"; scikit-learn's ``PLSRegression``, needed
            only to fit): the directions along which the latents co-vary with the target, not
            those of largest variance (benchmarks/QUALITY.md, "Sequence stage on the outline generator").
    """

    latent_size: int
    hidden_size: int = 64
    num_layers: int = 1
    head: str = "v1"
    projection: int = 0
    dropout: float = 0.1
    reduce: int = 0
    passthrough: int = 0
    summary: str = "none"
    grid: tuple[int, int, int] | None = None
    reduce_method: str = "pca"
    summary_window: int = 9

    @property
    def n_values(self) -> int:
        """Latent values per frame after the summary (what ``reduce`` chooses components of)."""
        if self.summary == "width-fft":
            c, h, w = self.grid
            return c * h * (w // 2 + 1)
        if self.summary == "width-recentre":
            c, h, _ = self.grid
            return c * h * self.summary_window
        return self.latent_size - self.passthrough

    @property
    def input_width(self) -> int:
        """Values per frame after the summary and the reduction (what the LSTM's input layer sees)."""
        return (self.reduce or self.n_values) + self.passthrough

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; valid: {', '.join(HEADS)}")
        if self.latent_size < 1 or self.hidden_size < 1 or self.num_layers < 1 or self.projection < 0:
            raise ValueError("latent_size, hidden_size, num_layers must be >= 1 and projection >= 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0 <= self.passthrough < self.latent_size:
            raise ValueError(f"passthrough must be in [0, latent_size), got {self.passthrough} of {self.latent_size}")
        if self.summary not in SUMMARIES:
            raise ValueError(f"unknown summary {self.summary!r}; valid: {', '.join(SUMMARIES)}")
        if self.grid is not None:
            object.__setattr__(self, "grid", tuple(int(v) for v in self.grid))
        if self.summary != "none":
            n = self.latent_size - self.passthrough
            if self.grid is None or len(self.grid) != 3 or min(self.grid) < 1 or math.prod(self.grid) != n:
                raise ValueError(f"summary {self.summary!r} needs grid = (C, h, w) of the {n} latent values, "
                                 f"got {self.grid}")
        if self.summary_window < 1:
            raise ValueError(f"summary_window must be >= 1, got {self.summary_window}")
        if self.reduce_method not in REDUCE_METHODS:
            raise ValueError(f"unknown reduce_method {self.reduce_method!r}; valid: {', '.join(REDUCE_METHODS)}")
        if not 0 <= self.reduce <= self.n_values:
            raise ValueError(f"reduce must be in [0, {self.n_values}] (the latent values), got {self.reduce}")


class LatentLSTM(nn.Module):
    """Predicts one scalar per window of latents (see the module docstring).

    Args:
        config: a :class:`SequenceModelConfig`; or pass its fields as keywords.
    """

    def __init__(self, config: SequenceModelConfig | None = None, **kwargs: Any) -> None:
        super().__init__()
        cfg = self.config = config or SequenceModelConfig(**kwargs)
        width = cfg.input_width
        if cfg.summary == "width-recentre":
            self.register_buffer("col_mean", torch.zeros(cfg.grid))
        if cfg.reduce:
            self.register_buffer("pc_mean", torch.zeros(cfg.n_values))
            self.register_buffer("pc_components", torch.zeros(cfg.n_values, cfg.reduce))
        self.register_buffer("in_mean", torch.zeros(width))
        self.register_buffer("in_std", torch.ones(width))
        self.register_buffer("y_mean", torch.zeros(()))
        self.register_buffer("y_std", torch.ones(()))
        self.drop = nn.Dropout(cfg.dropout)
        self.proj = nn.Linear(width, cfg.projection) if cfg.projection else nn.Identity()
        self.lstm = nn.LSTM(cfg.projection or width, cfg.hidden_size, cfg.num_layers, batch_first=True,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.out = nn.Linear(cfg.hidden_size, 1)

    def set_normalisation(self, frames: torch.Tensor, y: torch.Tensor, frame_y: torch.Tensor | None = None) -> None:
        """Store input mean/std over ``frames (N, L)`` and target mean/std over ``y (M,)``; with
        ``reduce``, first the components of the frames' latent values: principal axes (float64
        covariance), or with ``reduce_method='pls'`` the PLS directions against ``frame_y (N,)``, each
        frame's target."""
        frames, y = frames.float(), y.float()
        if self.config.summary == "width-recentre":
            n = self.config.latent_size - self.config.passthrough
            self.col_mean.copy_(frames[:, :n].double().mean(0).reshape(self.config.grid).float())
        frames = self._summarise(frames)
        if self.config.reduce:
            lat = frames[:, :self.pc_mean.numel()].double()
            mean = lat.mean(0)
            if self.config.reduce_method == "pls":
                if frame_y is None or len(frame_y) != len(lat):
                    raise ValueError("reduce_method 'pls' needs frame_y, the target of each of the "
                                     f"{len(lat)} frames")
                comps = _pls_rotations(lat - mean, frame_y.double(), self.config.reduce)
            else:
                cov = (lat - mean).T @ (lat - mean) / max(len(lat) - 1, 1)
                _, vecs = torch.linalg.eigh(cov)  # ascending
                comps = vecs[:, -self.config.reduce:].flip(1)
            # deterministic signs: each component's largest entry positive
            signs = comps.gather(0, comps.abs().argmax(0, keepdim=True)).sign()
            comps *= torch.where(signs == 0, torch.ones_like(signs), signs)
            self.pc_mean.copy_(mean.float())
            self.pc_components.copy_(comps.float())
            frames = self._reduce(frames)
        self.in_mean.copy_(frames.mean(0))
        self.in_std.copy_(frames.std(0, unbiased=False).clamp_min(1e-6))
        self.y_mean.copy_(y.mean())
        self.y_std.copy_(y.std(unbiased=False).clamp_min(1e-6) if y.numel() > 1 else torch.ones(()))

    def _summarise(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., L)`` -> ``(..., n_values + passthrough)``: the ``summary`` of the latent values, then the rest."""
        if self.config.summary == "none":
            return x
        n = self.config.latent_size - self.config.passthrough
        grid = x[..., :n].reshape(*x.shape[:-1], *self.config.grid)
        if self.config.summary == "width-fft":
            values = torch.fft.rfft(grid, dim=-1).abs().flatten(-3)
        else:
            values = width_recentre(grid - self.col_mean, self.config.summary_window).flatten(-3)
        return torch.cat([values, x[..., n:]], dim=-1)

    def _reduce(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., L)`` -> ``(..., reduce + passthrough)``: components of the latent values, then the rest."""
        n = self.pc_mean.numel()
        z = (x[..., :n] - self.pc_mean) @ self.pc_components
        return torch.cat([z, x[..., n:]], dim=-1)

    def forward_standardised(self, x: torch.Tensor) -> torch.Tensor:
        """Prediction in standardised target units, ``(B,)``, for ``x (B, T, L)``."""
        if x.ndim != 3 or x.shape[-1] != self.config.latent_size:
            raise ValueError(f"expected latents (B, T, {self.config.latent_size}), got {tuple(x.shape)}")
        x = self._summarise(x.float())
        if self.config.reduce:
            x = self._reduce(x)
        h = self.proj(self.drop((x - self.in_mean) / self.in_std))
        seq, _ = self.lstm(h)  # (B, T, H)
        pooled = seq.mean(1) if self.config.head == "v1" else seq[:, -1]
        return self.out(pooled).squeeze(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Prediction in target units, ``(B,)``."""
        return self.forward_standardised(x) * self.y_std + self.y_mean

    def get_config(self) -> dict[str, Any]:
        return asdict(self.config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LatentLSTM:
        return cls(SequenceModelConfig(**config))


def width_recentre(deviation: torch.Tensor, window: int) -> torch.Tensor:
    """``(..., C, h, w)`` -> ``(..., C, h, window)``: the ``window`` columns of ``deviation`` (a latent grid
    minus its per-column mean) centred on the column whose deviation, L2 over C and h, is largest;
    columns beyond the grid are zeros (no deviation). Ties go to the leftmost column."""
    *lead, c, h, _ = deviation.shape
    half = window // 2
    centre = deviation.pow(2).sum((-3, -2)).argmax(-1)  # (...,)
    padded = torch.nn.functional.pad(deviation, (half, window - 1 - half))
    idx = centre[..., None] + torch.arange(window, device=deviation.device)  # into the padded columns
    idx = idx[..., None, None, :].expand(*lead, c, h, window)
    return padded.gather(-1, idx)


def _pls_rotations(x: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """``(D, k)`` PLS1 x-rotations of centred ``x (N, D)`` against ``y (N,)``: scores = x @ rotations,
    as scikit-learn's ``PLSRegression(k, scale=False).transform``."""
    try:
        from sklearn.cross_decomposition import PLSRegression
    except ImportError:
        raise ImportError("reduce_method 'pls' needs scikit-learn to fit: pip install 'aecnn[sklearn]'") from None
    n = min(k, x.shape[0] - 1, x.shape[1])  # PLS finds at most this many; the rest stay zero
    pls = PLSRegression(n_components=n, scale=False).fit(x.numpy(), y.numpy())
    rot = torch.from_numpy(pls.x_rotations_).to(x.dtype)
    return torch.cat([rot, rot.new_zeros(rot.shape[0], k - n)], 1)


__all__ = ["HEADS", "REDUCE_METHODS", "SUMMARIES", "LatentLSTM", "SequenceModelConfig", "width_recentre"]
