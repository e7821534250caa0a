"""Largest training batch under a memory cap (``--max-memory 8GiB``).

The cap is :func:`torch.cuda.set_per_process_memory_fraction` (the caching allocator
refuses to hold more; the CUDA context itself, about half a GiB, is outside it). For
each preset and size the search tries the target batch, doubles until a training step
runs out of memory, then bisects to within 1/8 of the largest batch that ran. A probe is
two full training steps (forward, backward, fused AdamW; the optimizer state exists
from the first), eager, with autocast and without gradient checkpointing unless asked.
cuDNN autotuning is off during the search (its trial workspaces are not the steady state).
"""
from __future__ import annotations

import gc
import logging
import re
from dataclasses import replace
from typing import Any

import torch

from aecnn.bench.runner import ModelCase, _is_oom, build_model, make_inputs, make_train_step

logger = logging.getLogger(__name__)

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "t": 10**12, "tb": 10**12, "tib": 2**40}
# the seed's batch sizes x 2 for (201x201, 152x1280): the targets
TARGETS = {"tiny": (64, 32), "small": (32, 16), "medium": (16, 8), "large": (8, 4)}


def parse_bytes(text: str) -> int:
    """``'8GiB'`` -> 8589934592; ``'8GB'`` -> 8e9; bare numbers are bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"cannot read memory size {text!r}; write e.g. 8GiB, 7.5GB or 8000MiB")
    n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if n <= 0:
        raise ValueError(f"memory size must be positive, got {text!r}")
    return n


def target_batch(preset: str, input_size: tuple[int, int]) -> int | None:
    """The issue's batch for a preset: the first value at 201x201, the second for wide strips."""
    if preset not in TARGETS:
        return None
    return TARGETS[preset][0] if input_size[1] <= 2 * input_size[0] else TARGETS[preset][1]


def apply_cap(device: torch.device, cap_bytes: int) -> float:
    """Cap this process's CUDA allocator at ``cap_bytes``; returns the fraction set.

    Raises:
        ValueError: not a CUDA device, or a cap above the device's memory.
    """
    if device.type != "cuda":
        raise ValueError("--max-memory caps CUDA memory; it needs a CUDA device (use --device cuda on a GPU)")
    if device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    total = torch.cuda.get_device_properties(device).total_memory
    if cap_bytes > total:
        raise ValueError(f"--max-memory {cap_bytes / 2**30:.1f} GiB is more than the device has "
                         f"({total / 2**30:.1f} GiB)")
    frac = cap_bytes / total
    torch.cuda.set_per_process_memory_fraction(frac, device)
    return frac


def _probe(case: ModelCase, model: torch.nn.Module, device: torch.device) -> tuple[bool, float, float | None]:
    """Two training steps at ``case.batch``; (ran, peak GiB, device free GiB after a failure)."""
    xs = step = state = None
    try:
        torch.cuda.reset_peak_memory_stats(device)
        xs = make_inputs(case, device, n=1)
        step, state = make_train_step(model, model, xs, case.dtype, device)
        step(0)
        step(1)
        torch.cuda.synchronize(device)
        return True, torch.cuda.max_memory_allocated(device) / 2**30, None
    except Exception as exc:
        if not _is_oom(exc):
            raise
        free, _ = torch.cuda.mem_get_info(device)  # low free memory here means another process, not the cap
        logger.info("out of memory at batch %d; device free %.1f GiB", case.batch, free / 2**30)
        return False, torch.cuda.max_memory_allocated(device) / 2**30, free / 2**30
    finally:
        if state is not None:
            state.clear()
        del xs, step, state
        model.zero_grad(set_to_none=True)
        gc.collect()
        torch.cuda.empty_cache()


def max_batch(case: ModelCase, device: torch.device, start: int | None = None, limit: int = 4096,
              checkpointing: bool = False) -> dict[str, Any]:
    """Search the largest batch of ``case`` that trains under the cap already applied.

    Returns:
        ``{"preset", "input_size", "target_batch", "target_ok", "target_peak_gib",
        "max_batch", "max_peak_gib", "first_failing", "probes": [[batch, ok, peak], ...]}``.
    """
    if device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    bench_before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = False
    model = build_model(case, device, gradient_checkpointing=checkpointing)
    model.train()
    probes: list[list] = []  # [batch, ran, peak GiB, device free GiB after a failure]
    results: dict[int, tuple[bool, float, float | None]] = {}

    def run(b: int) -> bool:
        if b not in results:
            results[b] = _probe(replace(case, batch=b), model, device)
            probes.append([b, *results[b]])
            logger.info("max-memory probe %s %s batch %d: %s", case.preset, case.input_size, b, results[b])
        return results[b][0]

    target = target_batch(case.preset, case.input_size)
    try:
        lo, hi = 0, None
        b = start or target or 1
        while b <= limit:
            if run(b):
                lo = b
                b *= 2
            else:
                hi = b
                break
        if lo == 0 and hi is not None:  # even the start failed: go down
            b = hi // 2
            while b >= 1 and not run(b):
                hi, b = b, b // 2
            lo = b if b >= 1 else 0
        while hi is not None and lo > 0 and hi - lo > max(1, lo // 8):
            mid = (lo + hi) // 2
            if run(mid):
                lo = mid
            else:
                hi = mid
        if target is not None:
            run(target)
    finally:
        model = None
        gc.collect()
        torch.cuda.empty_cache()
        torch.backends.cudnn.benchmark = bench_before
    return {
        "preset": case.preset, "input_size": list(case.input_size), "dtype": case.dtype,
        "channels_last": case.channels_last, "attention": case.attention,
        "gradient_checkpointing": checkpointing,
        "overrides": {k: (list(v) if isinstance(v, tuple) else v) for k, v in case.overrides},
        "target_batch": target, "target_ok": results[target][0] if target in results else None,
        "target_peak_gib": results[target][1] if target in results else None,
        "max_batch": lo, "max_peak_gib": results[lo][1] if lo in results else None,
        "first_failing": hi, "search_limit": limit, "probes": probes,
    }
