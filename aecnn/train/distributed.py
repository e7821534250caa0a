"""DistributedDataParallel set-up from ``torchrun``'s environment variables.

``torchrun --nproc_per_node 2 -m aecnn train ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; without them training runs in one
process. The backend is NCCL on CUDA and gloo on CPU. Only rank 0 writes files.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from aecnn.devices import resolve_device

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``, on ``device``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``'auto'`` -> ``cuda:LOCAL_RANK`` when CUDA is there, else CPU; else the named device."""
    return resolve_device(name, local_rank)


def init_distributed(device: str = "auto") -> DistInfo:
    """Join the process group when started by ``torchrun`` (``WORLD_SIZE`` > 1), else run alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device, local)
    if world <= 1:
        return DistInfo(0, 1, 0, dev)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not dist.is_initialized():
        kwargs = {"device_id": dev} if dev.type == "cuda" else {}
        dist.init_process_group(backend=backend, rank=rank, world_size=world, **kwargs)
    logger.info("DDP rank %d/%d on %s (%s)", rank, world, dev, backend)
    return DistInfo(rank, world, local, dev)


def cleanup() -> None:
    """Leave the process group (no-op when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_(t: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """In-place all-reduce (sum or max) when distributed; returns ``t``."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
    return t


def broadcast_object(obj: object, src: int = 0) -> object:
    """``obj`` from rank ``src`` on every rank (identity when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        box = [obj]
        dist.broadcast_object_list(box, src=src)
        return box[0]
    return obj
