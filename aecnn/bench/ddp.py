"""Data-parallel scaling: the same training step on 1 GPU and with DDP on N GPUs.

One process per GPU (``torch.multiprocessing.spawn``, NCCL on this host); every rank
times its steps with CUDA events after a barrier, and the rate is ``N * batch`` per
median step of the slowest rank. NVLink multicast stays off (``NCCL_NVLS_ENABLE=0``):
the lending machines require it.
"""
from __future__ import annotations

import os
import socket
from typing import Any

import torch

from aecnn.bench.runner import ModelCase, build_model, make_inputs, make_train_step
from aecnn.bench.timing import measure

SAFE_ENV = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1", "NVSHMEM_DISABLE_NVLS": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, case: ModelCase, opts: dict, queue: Any) -> None:
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    for k, v in SAFE_ENV.items():
        os.environ[k] = v
    cuda = opts.get("cuda", True)
    if cuda:
        torch.cuda.set_device(rank)
        torch.backends.cudnn.benchmark = True
    device = torch.device("cuda", rank) if cuda else torch.device("cpu")
    dist.init_process_group("nccl" if cuda else "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, **({"device_id": device} if cuda else {}))
    try:
        torch.manual_seed(0)
        model = build_model(case, device)
        ddp = DDP(model, device_ids=[rank] if cuda else None, gradient_as_bucket_view=True)
        forward = torch.compile(ddp, dynamic=False) if case.compiled else ddp
        xs = make_inputs(case, device)
        step, _ = make_train_step(ddp, forward, xs, case.dtype, device)
        for i in range(opts["warmup"]):
            step(i)
        if cuda:
            torch.cuda.synchronize(device)
        dist.barrier()
        t = measure(step, device, warmup=0, repeats=opts["repeats"], min_time=opts["min_time"])
        slowest = torch.tensor([t.median_s], device=device)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        if rank == 0:
            queue.put({"median_s": float(slowest), "iters": t.iters, "spread": t.spread,
                       "peak_gib": torch.cuda.max_memory_allocated(device) / 2**30 if cuda else None})
    finally:
        dist.destroy_process_group()


def ddp_scaling(case: ModelCase, world_sizes: list[int], warmup: int = 5, repeats: int = 5,
                min_time: float = 0.5, cuda: bool = True) -> list[dict[str, Any]]:
    """Training images/s with DDP for each world size (1 = DDP on one GPU, same code path).

    ``cuda=False`` runs CPU processes over gloo (for tests only).

    Raises:
        ValueError: more GPUs asked for than are visible.
    """
    import torch.multiprocessing as mp

    have = torch.cuda.device_count() if cuda else max(world_sizes)
    if max(world_sizes) > have:
        raise ValueError(f"--ddp asks for {max(world_sizes)} GPUs but {have} are visible")
    for k, v in SAFE_ENV.items():
        os.environ[k] = v
    ctx = mp.get_context("spawn")
    rows = []
    for world in world_sizes:
        queue = ctx.SimpleQueue()
        mp.start_processes(_worker, args=(world, _free_port(), case, {"warmup": warmup, "repeats": repeats,
                                                                       "min_time": min_time, "cuda": cuda}, queue),
                           nprocs=world, join=True, start_method="spawn")
        r = queue.get()
        rows.append({**case.describe(), "mode": "train", "gpus": world,
                     "img_per_s": world * case.batch / r["median_s"], "ms_per_step": r["median_s"] * 1e3,
                     "iters": r["iters"], "spread": r["spread"], "peak_gib": r["peak_gib"]})
    base = next((r["img_per_s"] for r in rows if r["gpus"] == 1), None)
    for r in rows:
        r["scaling_vs_1gpu"] = r["img_per_s"] / base if base else None
    return rows
