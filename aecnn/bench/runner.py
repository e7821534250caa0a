"""The model benchmark: presets x sizes x batches x dtypes x memory format x attention x
eager/compiled, training step and inference, timed on one device.

A training step is ``zero_grad -> forward (autocast) -> MSE loss -> backward -> fused AdamW
step`` (GradScaler for fp16); inference is ``eval() + no_grad`` forward. Throughput is
images per second of the median timed block; FLOPs per image come from
:func:`aecnn.profiling.count_flops` (convolutions, matrix products, attention), so TFLOP/s
and the share of the measured conv ceiling count the same work on every model.
"""
from __future__ import annotations

import gc
import itertools
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from aecnn.bench.timing import Timing, measure, synchronize
from aecnn.models import create_autoencoder, preset_config
from aecnn.profiling import count_flops, count_parameters

logger = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
MODES = ("train", "infer")
# channel-pixels (first-stage channels x H x W x batch) of a batch that fills an H200 for
# training: medium 201x201 -> 256, large -> 128, small -> 512, tiny -> 1024; 152x1280: 64/32/128/256.
FILL_CHANNEL_PIXELS = 6.6e8


def fill_batch(preset: str, input_size: tuple[int, int], **overrides: Any) -> int:
    """The batch ``--batch-size auto`` uses: the power of two nearest (in log scale) to
    ``FILL_CHANNEL_PIXELS / (C0 * H * W)``, where C0 is the first stage's width."""
    c0 = preset_config(preset, input_size, **overrides).channel_config[0]
    raw = FILL_CHANNEL_PIXELS / (c0 * input_size[0] * input_size[1])
    return int(min(4096, max(1, 2 ** round(math.log2(max(raw, 1.0))))))


@dataclass(frozen=True)
class ModelCase:
    """One built model and how it runs; the modes (train/infer) are timed on it in turn."""

    preset: str
    input_size: tuple[int, int]
    batch: int
    dtype: str = "bf16"
    compiled: bool = False
    channels_last: bool = True
    attention: bool = True
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def model_kwargs(self) -> dict[str, Any]:
        return {"use_attention": self.attention, **dict(self.overrides)}

    def describe(self) -> dict[str, Any]:
        return {"preset": self.preset, "input_size": list(self.input_size), "batch": self.batch,
                "dtype": self.dtype, "compiled": self.compiled, "channels_last": self.channels_last,
                "attention": self.attention, "overrides": {k: _plain(v) for k, v in self.overrides}}


@dataclass
class BenchSettings:
    """How to time (see :func:`aecnn.bench.timing.measure`) and what else to record."""

    device: torch.device
    warmup: int = 3
    repeats: int = 5
    min_time: float = 0.25
    compile_mode: str | None = None
    ceiling_tflops: float | None = None
    profile: bool = False
    warmup_only: bool = False
    lr: float = 1e-4
    _flops: dict = field(default_factory=dict)


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def expand_grid(presets: list[str], sizes: list[tuple[int, int]], batches: list[int | str],
                dtypes: list[str], compiled: list[bool], channels_last: list[bool], attention: list[bool],
                overrides: dict[str, Any] | None = None) -> list[ModelCase]:
    """Every combination, in loop order preset > size > batch > dtype > format > attention > compile.

    ``'auto'`` in ``batches`` becomes :func:`fill_batch` for each preset and size.
    """
    ov = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in (overrides or {}).items()))
    cases = []
    for p, s in itertools.product(presets, sizes):
        bs = [fill_batch(p, s, **dict(ov)) if b == "auto" else int(b) for b in batches]
        for b, d, cl, a, c in itertools.product(dict.fromkeys(bs), dtypes, channels_last, attention, compiled):
            cases.append(ModelCase(p, tuple(s), b, d, c, cl, a, ov))
    return cases


def build_model(case: ModelCase, device: torch.device, **extra: Any) -> torch.nn.Module:
    model = create_autoencoder(case.preset, input_size=case.input_size, **case.model_kwargs, **extra).to(device)
    if case.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def make_inputs(case: ModelCase, device: torch.device, n: int = 2) -> list[torch.Tensor]:
    """``n`` different random batches in [0, 1) (never zeros), rotated between steps."""
    g = torch.Generator(device=device).manual_seed(1234)
    xs = [torch.rand(case.batch, 1, *case.input_size, device=device, generator=g) for _ in range(n)]
    if case.channels_last:
        xs = [x.contiguous(memory_format=torch.channels_last) for x in xs]
    return xs


def make_train_step(model: torch.nn.Module, forward: Any, xs: list[torch.Tensor], dtype: str,
                    device: torch.device, lr: float = 1e-4) -> tuple[Any, dict]:
    """A closure ``step(i)`` doing one full training step on ``xs[i % len(xs)]``.

    Returns ``(step, state)``; ``state['loss']`` holds the last loss tensor (not synced).
    """
    fused = device.type == "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=lr, fused=fused, foreach=None if fused else True)
    amp = dtype != "fp32"
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == "fp16")
    state: dict[str, Any] = {"opt": opt}

    def step(i: int) -> None:
        x = xs[i % len(xs)]
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=DTYPES[dtype], enabled=amp):
            y = forward(x)
        loss = F.mse_loss(y.float(), x)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        state["loss"] = loss.detach()

    return step, state


def make_infer_step(forward: Any, xs: list[torch.Tensor], dtype: str, device: torch.device) -> tuple[Any, dict]:
    state: dict[str, Any] = {}

    def step(i: int) -> None:
        x = xs[i % len(xs)]
        with torch.no_grad(), torch.autocast(device.type, dtype=DTYPES[dtype], enabled=dtype != "fp32"):
            y = forward(x)
        state["out"] = y

    return step, state


def model_flops(case: ModelCase, model: torch.nn.Module, settings: BenchSettings) -> tuple[float, float, int]:
    """(forward FLOPs, forward+backward FLOPs, parameters) per image, cached per architecture."""
    key = (case.preset, case.input_size, case.attention, case.overrides)
    if key not in settings._flops:
        fwd = count_flops(model, case.input_size)
        both = count_flops(model, case.input_size, backward=True)
        settings._flops[key] = (fwd, both, count_parameters(model))
    return settings._flops[key]


def _free(device: torch.device, compiled: bool) -> None:
    if compiled:
        torch._dynamo.reset()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _is_oom(exc: BaseException) -> bool:
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    msg = str(exc)
    return "out of memory" in msg or "CUBLAS_STATUS_ALLOC_FAILED" in msg or "CUDNN_STATUS_ALLOC" in msg


def _row(case: ModelCase, mode: str, settings: BenchSettings) -> dict[str, Any]:
    return {**case.describe(), "mode": mode, "device": str(settings.device)}


def run_case(case: ModelCase, modes: tuple[str, ...], settings: BenchSettings) -> list[dict[str, Any]]:
    """Build, (compile,) warm up and time one model case in each mode; one row per mode.

    Errors (out of memory, a compiler failure) become a row with an ``error`` field.
    """
    device = settings.device
    rows: list[dict[str, Any]] = []
    model = forward = None
    try:
        model = build_model(case, device)
        fwd_flops, train_flops, params = model_flops(case, model, settings)
        forward = torch.compile(model, dynamic=False, mode=settings.compile_mode) if case.compiled else model
        xs = make_inputs(case, device)
        for mode in modes:
            row = _row(case, mode, settings)
            row["params"] = params
            row["gflop_per_img"] = (train_flops if mode == "train" else fwd_flops) / 1e9
            try:
                row.update(_time_mode(model, forward, xs, case, mode, settings))
            except Exception as exc:  # noqa: BLE001  (recorded, the sweep goes on)
                row["error"] = "out of memory" if _is_oom(exc) else f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                logger.warning("%s %s failed: %s", case, mode, row["error"])
                _free(device, False)
            if "img_per_s" in row:
                row["tflops"] = row["gflop_per_img"] * row["img_per_s"] / 1e3
                if settings.ceiling_tflops:
                    row["frac_ceiling"] = row["tflops"] / settings.ceiling_tflops
            rows.append(row)
    except Exception as exc:  # noqa: BLE001
        err = "out of memory" if _is_oom(exc) else f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        logger.warning("%s failed: %s", case, err)
        rows = [{**_row(case, m, settings), "error": err} for m in modes]
    finally:
        del model, forward
        _free(device, case.compiled)
    return rows


def _time_mode(model: torch.nn.Module, forward: Any, xs: list[torch.Tensor], case: ModelCase, mode: str,
               settings: BenchSettings) -> dict[str, Any]:
    device = settings.device
    if mode == "train":
        model.train()
        step, state = make_train_step(model, forward, xs, case.dtype, device, settings.lr)
    else:
        model.eval()
        step, state = make_infer_step(forward, xs, case.dtype, device)
    t0 = time.perf_counter()
    for i in range(max(1, settings.warmup)):
        step(i)
    synchronize(device)
    out: dict[str, Any] = {"warmup_s": time.perf_counter() - t0}
    check = state["loss"] if mode == "train" else state["out"].float().mean()
    if not bool(torch.isfinite(check)):
        raise RuntimeError(f"non-finite {'loss' if mode == 'train' else 'output'} after warm-up")
    if mode == "train":
        out["loss"] = float(state["loss"])
    if settings.warmup_only:
        out["note"] = "warm-up only (compiler cache priming), not timed"
        return out
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    timing: Timing = measure(step, device, warmup=0, repeats=settings.repeats, min_time=settings.min_time)
    out.update({"img_per_s": case.batch / timing.median_s, "ms_per_step": timing.median_s * 1e3,
                "iters": timing.iters, "repeats": len(timing.per_call_s), "spread": timing.spread})
    if device.type == "cuda":
        out["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        out["reserved_gib"] = torch.cuda.max_memory_reserved(device) / 2**30
    if settings.profile and mode == "train":
        from aecnn.bench.breakdown import kernel_breakdown

        gflop_step = model_flops(case, model, settings)[1] * case.batch / 1e9
        out["profile"] = kernel_breakdown(step, device, timing.median_s, gflop_step)
    if mode == "train":
        state["opt"].zero_grad(set_to_none=True)
        del state["opt"]
    return out


def run_grid(cases: list[ModelCase], modes: tuple[str, ...], settings: BenchSettings) -> Iterator[dict[str, Any]]:
    """Run every case; yields rows as they complete (so a caller can print progress)."""
    if settings.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    for case in cases:
        yield from run_case(case, modes, settings)
