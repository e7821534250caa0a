"""GPU memory cap (``--max-memory``) and the largest batch that fits (``--batch-size auto``)."""
from __future__ import annotations

import copy
import gc
import logging
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from aecnn.train.config import parse_memory
from aecnn.train.optim import autocast

logger = logging.getLogger(__name__)

CPU_BATCH_SIZE = 16
MAX_AUTO_BATCH = 4096


def apply_memory_cap(max_memory: str | None, device: torch.device, note: Callable[[str], None]) -> None:
    """Cap this process's CUDA memory (``torch.cuda.set_per_process_memory_fraction``).

    Rehearses an 8 GB card on a bigger one: allocations beyond the cap raise
    ``torch.OutOfMemoryError`` as they would on the small card. A no-op (with a note) on CPU.

    Raises:
        ValueError: the cap is larger than the device.
    """
    if max_memory is None:
        return
    cap = parse_memory(max_memory)
    if device.type != "cuda":
        note(f"--max-memory {max_memory}: caps CUDA memory only; ignored on {device}")
        return
    total = torch.cuda.get_device_properties(device).total_memory
    if cap > total:
        raise ValueError(f"--max-memory {max_memory} is more than {device} has ({total / 2**30:.1f} GiB)")
    torch.cuda.set_per_process_memory_fraction(cap / total, device)
    note(f"CUDA memory capped at {cap / 2**30:.2f} GiB of {total / 2**30:.1f} GiB on {device}")


def find_batch_size(model: nn.Module, size: tuple[int, int], device: torch.device, dtype: torch.dtype | None,
                    channels_last: bool, limit: int, note: Callable[[str], None]) -> int:
    """Largest power-of-two batch (up to ``limit``) whose forward, backward and AdamW step fit.

    Runs on a copy of ``model`` (its weights and statistics stay untouched), under the
    memory cap if one is set. On CPU there is nothing to probe: returns
    :data:`CPU_BATCH_SIZE` (or ``limit`` if smaller) with a note.

    Raises:
        ValueError: not even a batch of 1 fits.
    """
    limit = max(1, min(int(limit), MAX_AUTO_BATCH))
    if device.type != "cuda":
        bs = min(CPU_BATCH_SIZE, limit)
        note(f"--batch-size auto: probing needs a CUDA device; using batch size {bs} on {device}")
        return bs
    probe = copy.deepcopy(model).to(device).train()
    opt = torch.optim.AdamW(probe.parameters(), lr=1e-6)
    best, bs = 0, 1
    while bs <= limit:
        if not _fits(probe, opt, bs, size, device, dtype, channels_last):
            break
        best, bs = bs, bs * 2
    del probe, opt
    gc.collect()
    torch.cuda.empty_cache()
    if best == 0:
        raise ValueError(f"not even a batch of 1 at {size[0]}x{size[1]} fits in GPU memory; raise --max-memory, "
                         "use a smaller preset, --gradient-checkpointing or --amp bf16/fp16")
    note(f"--batch-size auto: {best} per process (largest power of two up to {limit} that fits at "
         f"{size[0]}x{size[1]})")
    return best


def _fits(model: nn.Module, opt: torch.optim.Optimizer, bs: int, size: tuple[int, int], device: torch.device,
          dtype: torch.dtype | None, channels_last: bool) -> bool:
    ok = True
    try:
        x = torch.rand(bs, 1, *size, device=device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(device, dtype):
            y = model(x)
        F.mse_loss(y.float(), x).backward()
        opt.step()
        torch.cuda.synchronize(device)
    except torch.OutOfMemoryError:
        ok = False
    opt.zero_grad(set_to_none=True)
    x = y = None  # free before the next try
    gc.collect()
    torch.cuda.empty_cache()
    return ok
