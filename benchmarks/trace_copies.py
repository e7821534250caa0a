"""Which operators launch the layout-conversion and copy kernels of a training step.

The compiled medium step spends about a fifth of its GPU time in cuDNN ``nchwToNhwc`` and
``direct_copy`` kernels (BENCHMARKS.md). This profiles eager bf16 channels_last training
steps (the same step as ``aecnn bench``) and lists, for every such kernel, the operator that
launched it and that operator's input shapes, summed over the profiled steps.

``PYTHONPATH=$PWD python3 benchmarks/trace_copies.py --preset medium --batch 64 --out FILE.json``
"""
from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from aecnn.bench.runner import make_train_step
from aecnn.models import create_autoencoder

PATTERN = re.compile(r"nchwtonhwc|nhwctonchw|direct_copy|copy_kernel", re.IGNORECASE)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--preset", default="medium")
    p.add_argument("--input-size", nargs=2, type=int, default=(201, 201))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    size = tuple(a.input_size)
    model = create_autoencoder(a.preset, input_size=size).to(device).to(memory_format=torch.channels_last)
    xs = [torch.rand(a.batch, 1, *size, device=device).contiguous(memory_format=torch.channels_last) for _ in range(2)]
    step, _ = make_train_step(model, model, xs, "bf16", device)
    for i in range(3):
        step(i)
    if device.type == "cuda":
        torch.cuda.synchronize()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts, record_shapes=True) as prof:
        for i in range(a.steps):
            step(i)
        if device.type == "cuda":
            torch.cuda.synchronize()
    found: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0])
    for evt in prof.events():
        for k in getattr(evt, "kernels", []):
            if PATTERN.search(k.name):
                key = (evt.name, str(evt.input_shapes), k.name[:90])
                found[key][0] += k.duration / 1e3 / a.steps  # ms per step
                found[key][1] += 1 / a.steps
    rows = sorted(({"op": op, "shapes": sh, "kernel": kn, "ms_per_step": v[0], "calls_per_step": v[1]}
                   for (op, sh, kn), v in found.items()), key=lambda r: -r["ms_per_step"])
    for r in rows[:30]:
        print(f"{r['ms_per_step']:7.3f} ms  x{r['calls_per_step']:.0f}  {r['op']}  {r['shapes'][:150]}  <- {r['kernel']}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"preset": a.preset, "input_size": list(size), "batch": a.batch,
                                       "torch": torch.__version__, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
