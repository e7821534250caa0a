"""Before/after check of the decoder's ``NearestUpsample`` (a speed change that must not change
the model) against the ``nn.Upsample`` it replaced.

Same weights, same inputs: forward outputs and parameter gradients compared; then the same
short training run on the synthetic default crops for each and the validation PSNR of both;
then (with ``--time``) the bf16 training step of both timed with the bench's own protocol
(:func:`aecnn.bench.timing.measure`), eager and compiled — all in one process.
``PYTHONPATH=$PWD python3 benchmarks/check_nearest_upsample.py --out FILE.json [--time]``.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from aecnn.models import create_autoencoder
from aecnn.models.layers import NearestUpsample


def with_nn_upsample(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose ``NearestUpsample`` layers are ``nn.Upsample`` again (the old path)."""
    old = copy.deepcopy(model)
    for name, mod in list(old.named_modules()):
        for child_name, child in list(mod.named_children()):
            if isinstance(child, NearestUpsample):
                setattr(mod, child_name, nn.Upsample(scale_factor=child.scale, mode="nearest"))
    return old


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-30))


def compare_step(preset: str, size: tuple[int, int], device: torch.device, batch: int = 8) -> dict[str, Any]:
    """One bf16-autocast forward+backward of both paths on fresh random inputs."""
    torch.manual_seed(0)
    new = create_autoencoder(preset, input_size=size).to(device).to(memory_format=torch.channels_last)
    old = with_nn_upsample(new)
    x = torch.rand(batch, 1, *size, device=device).contiguous(memory_format=torch.channels_last)
    out = {}
    grads = {}
    for tag, m in (("new", new), ("old", old)):
        m.train()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            y = m(x)
        F.mse_loss(y.float(), x).backward()
        out[tag] = y.detach()
        grads[tag] = torch.cat([p.grad.flatten().float() for p in m.parameters()])
    return {"preset": preset, "input_size": list(size), "forward_max_abs_diff": float((out["new"].float() -
            out["old"].float()).abs().max()), "forward_identical": bool(torch.equal(out["new"], out["old"])),
            "grad_rel_diff": _rel(grads["new"], grads["old"])}


def quick_psnr(model: nn.Module, device: torch.device, steps: int, batch: int, seed: int = 0) -> float:
    """Train ``model`` on the synthetic default crops (sequences 0-5) and return the mean
    validation PSNR (dB) on sequences 6-7; same data order for every call with ``seed``."""
    from aecnn.data.synth import SynthConfig, generate_in_memory

    data = generate_in_memory(SynthConfig(), kind="crop")
    frames = torch.from_numpy(data.frames).float().div_(255.0)[:, None]  # (N, 1, 201, 201)
    seq = torch.from_numpy(data.sequence_ids)
    train, val = frames[seq < 6].to(device), frames[seq >= 6].to(device)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=device.type == "cuda")
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, train.shape[0], (batch,), generator=g).to(device)
        x = train[idx].contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            y = model(x)
        loss = F.mse_loss(y.float(), x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        mse = torch.cat([F.mse_loss(model(v.contiguous(memory_format=torch.channels_last)).float(), v,
                                    reduction="none").mean((1, 2, 3)) for v in val.split(32)])
    return float((10 * torch.log10(1.0 / mse.clamp_min(1e-12))).mean())


def time_step(preset: str, size: tuple[int, int], batch: int, device: torch.device, compiled: bool) -> dict:
    """Training images/s (median of the timed blocks) of a bf16 step, channels_last, fused AdamW: new vs old path."""
    from aecnn.bench.runner import make_train_step
    from aecnn.bench.timing import measure

    torch.manual_seed(0)
    new = create_autoencoder(preset, input_size=size).to(device).to(memory_format=torch.channels_last)
    g = torch.Generator(device=device).manual_seed(1234)
    xs = [torch.rand(batch, 1, *size, device=device, generator=g).contiguous(memory_format=torch.channels_last)
          for _ in range(2)]
    out = {"preset": preset, "input_size": list(size), "batch": batch, "compiled": compiled}
    for tag, m in (("new", new), ("old", with_nn_upsample(new))):
        fwd = torch.compile(m) if compiled else m
        step, _ = make_train_step(m, fwd, xs, "bf16", device)
        t = measure(step, device, warmup=3, repeats=5)
        out[f"{tag}_img_s"] = batch / t.median_s
        out[f"{tag}_spread"] = t.spread
        del fwd, step
        if device.type == "cuda":
            torch.cuda.empty_cache()
    out["speedup"] = out["new_img_s"] / out["old_img_s"]
    print(json.dumps(out), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", required=True)
    p.add_argument("--preset", default="small")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--time", action="store_true", help="also time the training step, new vs old (GPU sizes)")
    p.add_argument("--seeds", type=int, default=1, help="PSNR runs per path (seeds 0..N-1: init and data order)")
    p.add_argument("--no-step", action="store_true", help="skip the output/gradient comparison")
    a = p.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    res: dict[str, Any] = {"check": "NearestUpsample vs nn.Upsample", "device": str(device),
                           "torch": torch.__version__}
    if not a.no_step:
        res["step"] = [compare_step(pr, sz, device) for pr in ("small", "medium") for sz in ((201, 201), (152, 1280))]
    after, before = [], []
    for seed in range(a.seeds):
        torch.manual_seed(seed)
        new = create_autoencoder(a.preset, input_size=(201, 201)).to(device).to(memory_format=torch.channels_last)
        old = with_nn_upsample(new)
        after.append(quick_psnr(new, device, a.steps, a.batch, seed=seed))
        before.append(quick_psnr(old, device, a.steps, a.batch, seed=seed))
        print(f"seed {seed}: after {after[-1]:.3f} dB, before {before[-1]:.3f} dB", flush=True)
    diffs = [x - y for x, y in zip(after, before)]
    res["psnr"] = {"preset": a.preset, "steps": a.steps, "batch": a.batch, "data": "SynthConfig() crops 201x201, "
                   "train sequences 0-5, validation 6-7", "seeds": a.seeds, "after_db": after, "before_db": before,
                   "mean_after_db": sum(after) / len(after), "mean_before_db": sum(before) / len(before),
                   "mean_diff_db": sum(diffs) / len(diffs),
                   "sd_diff_db": statistics.stdev(diffs) if len(diffs) > 1 else None}
    if a.time:
        cases = [("medium", (201, 201), 256, False), ("large", (152, 1280), 32, False),
                 ("medium", (201, 201), 256, True)] if device.type == "cuda" else [("tiny", (64, 64), 4, False)]
        res["timing"] = [time_step(pr, sz, b, device, c) for pr, sz, b, c in cases]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1))
    ok = all(s["forward_identical"] or s["forward_max_abs_diff"] < 1e-2 for s in res.get("step", []))
    return 0 if ok and all(math.isfinite(v) for v in after) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
