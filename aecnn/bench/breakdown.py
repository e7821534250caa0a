"""Where a step's GPU time goes: kernel time by category, from ``torch.profiler``.

Each CUDA kernel of a few profiled steps is put in one category by its name (cuDNN
convolutions, normalisation, fused Triton kernels from ``torch.compile``, other
element-wise work, matrix products and attention, the optimizer, copies). The share
of the un-profiled step time the GPU spends in kernels says whether the host (launch
overhead) or the device bounds the step; the FLOPs counted for the step over the
convolution kernels' time is the rate those kernels alone reach.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import torch

from aecnn.bench.timing import synchronize

# first match wins; patterns on the lower-cased kernel name
CATEGORIES: list[tuple[str, re.Pattern]] = [
    ("norm", re.compile(r"batch_?norm|bn_fw|bn_bw|welford|group_?norm|layer_?norm|native_batch")),
    ("optimizer", re.compile(r"adam|multi_tensor|fused_.*optim")),
    ("upsample/pool", re.compile(r"upsample|adaptive|pool|interp|index_put")),
    ("layout/cast copy", re.compile(r"nchwtonhwc|nhwctonchw|direct_copy|_to_copy|memcpy|memset|copy_kernel")),
    ("triton (compiled)", re.compile(r"^triton_")),
    ("conv", re.compile(r"conv|implicit_?gemm|xmma|cudnn|dgrad|wgrad|fprop|cutlass.*(tensorop|sm90)")),
    ("gemm/attention", re.compile(r"gemm|cublas|flash|fmha|attention|sdpa|mma")),
    ("reduce", re.compile(r"reduce")),
    ("copy/fill", re.compile(r"copy|fill")),
    ("elementwise", re.compile(r"elementwise|vectorized|unrolled|relu|sigmoid|add|mul|threshold")),
]


def categorize(name: str) -> str:
    low = name.lower()
    for cat, pat in CATEGORIES:
        if pat.search(low):
            return cat
    return "other"


def kernel_breakdown(step: Callable[[int], object], device: torch.device, step_s: float,
                     gflop_per_step: float, steps: int = 3, top: int = 8) -> dict[str, Any]:
    """Profile ``steps`` calls of ``step`` and summarise the CUDA kernels.

    Args:
        step: the timed closure.
        device: must be CUDA (returns ``{"error": ...}`` otherwise).
        step_s: the un-profiled median seconds per step.
        gflop_per_step: counted GFLOP of one step.

    Returns:
        ``{"kernel_ms_per_step", "gpu_busy_frac", "categories": {cat: {"ms", "share", "kernels"}},
        "conv_kernel_tflops", "top": [...]}``.
    """
    if device.type != "cuda":
        return {"error": "kernel breakdown needs CUDA"}
    from torch.profiler import ProfilerActivity, profile

    try:
        synchronize(device)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for i in range(steps):
                step(i)
            synchronize(device)
        by_cat: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        by_name: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
        for e in prof.events():
            if getattr(e.device_type, "name", str(e.device_type)) != "CUDA":
                continue
            us = float(e.time_range.end - e.time_range.start)
            cat = categorize(e.name)
            by_cat[cat][0] += us
            by_cat[cat][1] += 1
            by_name[e.name][0] += us
            by_name[e.name][1] += 1
        total_us = sum(v[0] for v in by_cat.values())
        if total_us <= 0:
            return {"error": "the profiler reported no CUDA kernels"}
        per_step_ms = total_us / steps / 1e3
        cats = {c: {"ms": v[0] / steps / 1e3, "share": v[0] / total_us if total_us else 0.0,
                    "kernels": v[1] / steps}
                for c, v in sorted(by_cat.items(), key=lambda kv: -kv[1][0])}
        conv_ms = cats.get("conv", {}).get("ms", 0.0)
        tops = sorted(by_name.items(), key=lambda kv: -kv[1][0])[:top]
        return {
            "kernel_ms_per_step": per_step_ms,
            "step_ms": step_s * 1e3,
            "gpu_busy_frac": per_step_ms / (step_s * 1e3) if step_s else None,
            "kernels_per_step": sum(v[1] for v in by_cat.values()) / steps,
            "categories": cats,
            "conv_kernel_tflops": gflop_per_step / conv_ms if conv_ms else None,
            "top": [{"name": n[:120], "category": categorize(n), "ms": v[0] / steps / 1e3,
                     "calls": v[1] / steps} for n, v in tops],
        }
    except Exception as exc:  # noqa: BLE001  (profiling is an extra; never fail the run)
        return {"error": f"{type(exc).__name__}: {exc}"}
