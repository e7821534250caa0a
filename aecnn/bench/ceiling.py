"""Roofline probes measured in the same process as the model numbers.

* a large 3x3 convolution, 128 -> 128 channels, channels_last, in the compute dtype
  (bf16 on CUDA): forward, and forward + both backward passes (what training needs);
* a large device-to-device copy, counting bytes read plus bytes written;
* a large matrix product (the tensor cores' rate, for reference).

The forward convolution is the ceiling the model's TFLOP/s are compared with (the
issue's definition); the others say whether a gap is arithmetic or bytes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from aecnn.bench.timing import measure

# (batch, channels, side) of the conv probe; matrix side; copy bytes
CUDA_SHAPES = {"conv": (128, 128, 104), "matmul": 8192, "copy_bytes": 1 << 30}
CPU_SHAPES = {"conv": (4, 32, 32), "matmul": 256, "copy_bytes": 1 << 22}


def _conv_probe(device: torch.device, dtype: torch.dtype, shape: tuple[int, int, int],
                repeats: int) -> dict:
    n, c, s = shape
    g = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(n, c, s, s, device=device, dtype=dtype, generator=g).to(memory_format=torch.channels_last)
    w = (torch.randn(c, c, 3, 3, device=device, dtype=dtype, generator=g) * 0.05).to(
        memory_format=torch.channels_last)
    flops = 2.0 * n * c * c * 9 * s * s
    fwd = measure(lambda i: F.conv2d(x, w, padding=1), device, repeats=repeats)
    heuristic = None
    if device.type == "cuda":  # the same conv with cuDNN's heuristic choice instead of autotuning
        torch.backends.cudnn.benchmark = False
        heuristic = flops / measure(lambda i: F.conv2d(x, w, padding=1), device, repeats=repeats).median_s / 1e12
        torch.backends.cudnn.benchmark = True
    xg = x.detach().requires_grad_(True)
    wg = w.detach().requires_grad_(True)
    gy = torch.randn(n, c, s, s, device=device, dtype=dtype, generator=g).to(memory_format=torch.channels_last)

    def train(i: int) -> None:
        y = F.conv2d(xg, wg, padding=1)
        torch.autograd.grad(y, (xg, wg), gy)

    both = measure(train, device, repeats=repeats)
    return {
        "shape": f"{n}x{c}x{s}x{s} -> {c}, 3x3, channels_last, {str(dtype).replace('torch.', '')}",
        "fwd_tflops": flops / fwd.median_s / 1e12,
        "fwd_bwd_tflops": 3 * flops / both.median_s / 1e12,
        "fwd_tflops_cudnn_benchmark_off": heuristic,
        "fwd_ms": fwd.median_s * 1e3,
        "fwd_bwd_ms": both.median_s * 1e3,
        "spread": max(fwd.spread, both.spread),
    }


def measure_ceilings(device: torch.device, dtype: torch.dtype = torch.bfloat16, repeats: int = 5) -> dict:
    """Measure the probes on ``device`` (small shapes on the CPU, for tests).

    Returns:
        ``{"conv_tflops": forward conv TFLOP/s (the ceiling), "conv_train_tflops",
        "copy_tb_s", "matmul_tflops", "details": {...}}``.
    """
    shapes = CUDA_SHAPES if device.type == "cuda" else CPU_SHAPES
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    conv = _conv_probe(device, dtype, shapes["conv"], repeats)

    nbytes = shapes["copy_bytes"]
    src = torch.rand(nbytes // 4, device=device)
    dst = torch.empty_like(src)
    copy = measure(lambda i: dst.copy_(src), device, repeats=repeats)
    src = dst = None  # free before the next probe

    m = shapes["matmul"]
    a = torch.randn(m, m, device=device, dtype=dtype)
    b = torch.randn(m, m, device=device, dtype=dtype)
    mm = measure(lambda i: a @ b, device, repeats=repeats)
    a = b = None
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {
        "conv_tflops": conv["fwd_tflops"],
        "conv_train_tflops": conv["fwd_bwd_tflops"],
        "copy_tb_s": 2 * nbytes / copy.median_s / 1e12,
        "matmul_tflops": 2.0 * m ** 3 / mm.median_s / 1e12,
        "details": {"conv": conv, "copy_bytes_each_way": nbytes, "matmul_side": m,
                    "copy_spread": copy.spread, "matmul_spread": mm.spread},
    }
