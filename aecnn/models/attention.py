"""Multi-head self-attention over the bottleneck grid positions."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GridSelfAttention(nn.Module):
    """Pre-norm residual self-attention over the ``N = gh * gw`` positions of a feature grid.

    The training and inference path calls :func:`torch.nn.functional.scaled_dot_product_attention`
    (flash / memory-efficient kernels on GPU); the explicit ``(B, N, N)`` weights are computed
    only by :meth:`attention_weights`, for interpretation.

    Args:
        channels: feature channels C (tokens are C-dimensional).
        grid: (gh, gw); a learned positional embedding is added per position.
        heads: attention heads; C must divide by it.
    """

    def __init__(self, channels: int, grid: tuple[int, int], heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(channels)
        self.pos = nn.Parameter(torch.zeros(1, grid[0] * grid[1], channels))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        nn.init.zeros_(self.proj.weight)  # the block starts as identity
        nn.init.zeros_(self.proj.bias)

    def _qkv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        b, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)  # (B, N, C)
        q, k, v = self.qkv(self.norm(tokens + self.pos)).chunk(3, dim=-1)
        split = lambda t: t.reshape(b, h * w, self.heads, c // self.heads).transpose(1, 2)
        return tokens, split(q), split(k), split(v)  # q, k, v: (B, heads, N, C/heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens, q, k, v = self._qkv(x)
        y = F.scaled_dot_product_attention(q, k, v)  # (B, heads, N, C/heads)
        y = self.proj(y.transpose(1, 2).reshape(b, h * w, c))
        return (tokens + y).transpose(1, 2).reshape(b, c, h, w)

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Explicit attention weights averaged over heads: ``(B, N, N)``, rows sum to 1."""
        _, q, k, _ = self._qkv(x)
        scores = (q.float() @ k.float().transpose(-2, -1)) * q.shape[-1] ** -0.5
        return scores.softmax(dim=-1).mean(dim=1)
