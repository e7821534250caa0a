"""``aecnn bench``: throughput, memory and data-pipeline benchmark (GPU, or CPU at small sizes).

Examples::

    aecnn bench --preset small --input_size 201 201 --batch_size 16          # the seed's flags
    aecnn bench --preset small medium --input-size 201 201 --input-size 152 1280 \\
        --batch-size auto --compile both --mode both --out benchmarks/results
    aecnn bench --max-memory 8GiB --preset tiny small medium large --input-size 201 201
    aecnn bench --loader data/crops --input-size 201 201 --loader-workers 4 8
"""
from __future__ import annotations

import argparse
import json
import logging
import shlex
from pathlib import Path
from typing import Any

from aecnn.cli.common import add_model_arguments, at_least, model_overrides, positive
from aecnn.cli.errors import CLIError

logger = logging.getLogger(__name__)


def _batch(text: str) -> int | str:
    if text == "auto":
        return "auto"
    try:
        b = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"batch size must be a positive integer or 'auto', got {text!r}") from None
    if b < 1:
        raise argparse.ArgumentTypeError(f"batch size must be >= 1, got {b}")
    return b


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    for action in p._actions:  # one preset -> several: the seed's `--preset small` still parses
        if action.dest == "preset":
            action.nargs, action.default, action.help = "+", None, "preset(s) to benchmark (default: small)"
    g = p.add_argument_group("what to run")
    g.add_argument("--input-size", "--input_size", nargs=2, type=int, action="append", metavar=("H", "W"),
                   help="image size H W (PyTorch order: a 1280-wide strip is 152 1280); repeat for several "
                        "(default 201 201)")
    g.add_argument("--batch-size", "--batch_size", nargs="+", type=_batch, metavar="B",
                   help="batch size(s), or 'auto' for a batch that fills an H200 (default 16)")
    g.add_argument("--mode", choices=("train", "infer", "both"), default="both")
    g.add_argument("--dtype", nargs="+", choices=("fp32", "bf16", "fp16"),
                   help="compute dtype(s) via autocast (default bf16 on CUDA, fp32 on CPU)")
    g.add_argument("--compile", nargs="?", const="on", choices=("off", "on", "both"), default="off",
                   help="torch.compile the model: --compile (on), --compile both (eager and compiled)")
    g.add_argument("--compile-mode", default=None,
                   help="torch.compile mode, e.g. reduce-overhead, max-autotune-no-cudagraphs")
    g.add_argument("--channels-last", nargs="?", const="on", choices=("off", "on", "both"), default=None,
                   help="channels_last memory format (default on for CUDA, off for CPU)")
    g.add_argument("--attention", choices=("on", "off", "both"), default=None,
                   help="bottleneck self-attention (default on; --no-attention means off)")
    g.add_argument("--device", default=None, help="cuda, cuda:1 or cpu (default: cuda if available)")
    t = p.add_argument_group("timing")
    t.add_argument("--warmup", type=at_least(0), default=3, help="untimed steps first (compilation, autotuning)")
    t.add_argument("--repeats", type=at_least(1), default=5, help="timed blocks; the median is reported")
    t.add_argument("--min-time", type=positive, default=0.25, help="seconds per timed block")
    t.add_argument("--no-ceiling", action="store_true", help="skip the roofline probes")
    t.add_argument("--profile", action="store_true", help="add a GPU kernel-time breakdown of the training step (torch.profiler)")
    t.add_argument("--warmup-only", action="store_true",
                   help="build, compile and warm up without timing (primes the compiler caches)")
    m = p.add_argument_group("memory cap, data pipeline, several GPUs")
    m.add_argument("--max-memory", metavar="SIZE",
                   help="cap GPU memory (e.g. 8GiB) and report the largest batch that trains, per preset and size")
    m.add_argument("--search-limit", type=at_least(1), default=4096, help="largest batch the memory search tries")
    m.add_argument("--loader", nargs="+", metavar="DATA",
                   help="time the data pipeline from PNG folder(s) (one per --input-size, or one for all)")
    m.add_argument("--loader-workers", nargs="+", type=at_least(0), default=[4, 8])
    m.add_argument("--loader-batch", type=at_least(1), default=64)
    m.add_argument("--loader-epochs", type=at_least(1), default=3)
    m.add_argument("--cache-dir", help="frame-cache base folder for --loader")
    m.add_argument("--ddp", nargs="+", type=int, metavar="GPUS",
                   help="data-parallel training rate for these GPU counts (e.g. 1 2), one preset and size")
    o = p.add_argument_group("output")
    o.add_argument("--out", help="folder for NAME.json and NAME.md")
    o.add_argument("--name", default="bench", help="file stem of the results (default bench)")
    o.add_argument("--format", choices=("both", "json", "md"), default="both", help="which files --out gets")


def _choice(value: str | None, default: bool) -> list[bool]:
    if value is None:
        return [default]
    return {"on": [True], "off": [False], "both": [False, True]}[value]


def _device(name: str | None) -> Any:
    import torch

    from aecnn.devices import resolve_device

    try:  # memory caps and queries need an index: cuda -> cuda:<current>
        dev = resolve_device(name, torch.cuda.current_device() if torch.cuda.is_available() else None)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    if dev.type not in ("cuda", "cpu"):
        raise CLIError(f"--device {name}: only cuda and cpu are supported")
    return dev


def canonical_command(args: argparse.Namespace) -> str:
    """A command line that reruns this benchmark (options left at their defaults omitted)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    defaults = vars(parser.parse_args([]))
    flags = {a.dest: a.option_strings[0] for a in parser._actions if a.option_strings}
    parts = ["aecnn", "bench"]
    for k, v in vars(args).items():
        if k not in defaults or v == defaults[k] or v is None or v is False:
            continue
        flag = flags[k]
        if k == "input_size":
            for hw in v:
                parts += [flag, *map(str, hw)]
        elif v is True:
            parts.append(flag)
        elif isinstance(v, (list, tuple)):
            parts += [flag, *map(str, v)]
        else:
            parts += [flag, str(v)]
    return " ".join(shlex.quote(p) for p in parts)


def run(args: argparse.Namespace) -> int:

    from aecnn.bench import report

    device = _device(args.device)
    cuda = device.type == "cuda"
    sizes = [tuple(s) for s in (args.input_size or [(201, 201)])]
    for s in sizes:
        if min(s) < 32:
            raise CLIError(f"--input-size {s[0]} {s[1]}: both sides must be >= 32")
    explicit_presets = args.preset is not None
    presets = args.preset or ["small"]
    overrides = model_overrides(args)
    overrides.pop("use_attention", None)
    attention = _choice(args.attention, True) if args.attention else ([False] if args.no_attention else [True])
    dtypes = args.dtype or (["bf16"] if cuda else ["fp32"])
    channels_last = _choice(args.channels_last, cuda)
    compiled = _choice(args.compile, False)
    batches = args.batch_size or [16]
    if not cuda and "auto" in batches:  # sized for an H200: thousands of images per step on a CPU
        raise CLIError("--batch-size auto picks a batch that fills an H200; on the CPU give sizes, e.g. "
                       "--batch-size 8 16")
    modes = ("train", "infer") if args.mode == "both" else (args.mode,)

    result: dict[str, Any] = {"meta": report.environment(device, None)}
    result["meta"]["command"] = canonical_command(args)
    out = Path(args.out) if args.out else None

    def save() -> None:
        if out is not None:
            if args.format in ("both", "json"):
                report.write_json(out / f"{args.name}.json", result)
            if args.format in ("both", "md"):
                report.write_markdown(out / f"{args.name}.md", result)

    if args.max_memory:
        _run_memory(args, device, presets, sizes, dtypes[0], channels_last[0], attention[0], overrides, result, save)
    elif args.ddp:
        _run_ddp(args, device, presets, sizes, batches, dtypes[0], channels_last[0], compiled, attention[0],
                 overrides, result, save)
    else:
        if args.loader:
            _run_loader(args, device, sizes, result, save)
        if not args.loader or explicit_presets:
            _run_grid(args, device, presets, sizes, batches, dtypes, compiled, channels_last, attention, overrides,
                      modes, result, save)
    save()
    if out is not None:
        print(f"wrote {args.format} results to {out / args.name}.*")
    rows = [r for key in ("rows", "memory", "ddp", "loader") for r in (result.get(key) or []) if isinstance(r, dict)]
    if rows and all("error" in r for r in rows):
        raise CLIError(f"every benchmark row failed (first: {rows[0]['error']})")
    return 0


def _run_grid(args, device, presets, sizes, batches, dtypes, compiled, channels_last, attention, overrides, modes,
              result, save) -> None:
    import torch

    from aecnn.bench import report
    from aecnn.bench.ceiling import measure_ceilings
    from aecnn.bench.runner import BenchSettings, expand_grid, run_grid

    if device.type == "cpu" and any(c for c in compiled):
        logger.warning("torch.compile on the CPU compiles C++ for tens of seconds per model")
    settings = BenchSettings(device=device, warmup=args.warmup, repeats=args.repeats, min_time=args.min_time,
                             compile_mode=args.compile_mode, profile=args.profile, warmup_only=args.warmup_only)
    if not args.no_ceiling and not args.warmup_only:
        ceil = measure_ceilings(device, torch.bfloat16, repeats=args.repeats)
        result["ceiling"] = ceil
        settings.ceiling_tflops = ceil["conv_tflops"]
        print(f"ceilings on {result['meta'].get('gpu') or device}: conv 3x3 128ch bf16 channels_last "
              f"{ceil['conv_tflops']:.1f} TFLOP/s fwd, {ceil['conv_train_tflops']:.1f} fwd+bwd; "
              f"copy {ceil['copy_tb_s']:.2f} TB/s; matmul {ceil['matmul_tflops']:.1f} TFLOP/s", flush=True)
    cases = expand_grid(presets, sizes, batches, dtypes, compiled, channels_last, attention, overrides)
    result["rows"] = []
    print("  ".join(report.ROW_HEADER), flush=True)
    for row in run_grid(cases, modes, settings):
        result["rows"].append(row)
        print("  ".join(report.row_cells(row)), flush=True)
        save()
    print()
    print(report.text_table(report.ROW_HEADER, [report.row_cells(r) for r in result["rows"]]))


def _run_memory(args, device, presets, sizes, dtype, channels_last, attention, overrides, result, save) -> None:
    from aecnn.bench.memory import apply_cap, max_batch, parse_bytes
    from aecnn.bench.runner import ModelCase

    if device.type != "cuda":
        raise CLIError("--max-memory caps GPU memory and needs CUDA; none is available here "
                       "(run it on a GPU machine, or leave the option out to benchmark on the CPU)")
    cap = parse_bytes(args.max_memory)
    frac = apply_cap(device, cap)
    result["memory_cap"] = f"{args.max_memory} (allocator fraction {frac:.4f}; CUDA context not counted)"
    ckpt = bool(overrides.pop("gradient_checkpointing", False))
    ov = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in overrides.items()))
    result["memory"] = []
    for p in presets:
        for s in sizes:
            case = ModelCase(p, s, 1, dtype, False, channels_last, attention, ov)
            try:
                r = max_batch(case, device, limit=args.search_limit, checkpointing=ckpt)
            except Exception as exc:  # noqa: BLE001  (recorded; the sweep goes on)
                r = {"preset": p, "input_size": list(s), "error": f"{type(exc).__name__}: {exc}"[:300]}
            result["memory"].append(r)
            print(json.dumps({k: v for k, v in r.items() if k != "probes"}), flush=True)
            save()


def _run_loader(args, device, sizes, result, save) -> None:
    from aecnn.bench.loader import bench_loader

    roots = args.loader
    if len(roots) not in (1, len(sizes)):
        raise CLIError(f"--loader takes one folder, or one per --input-size ({len(sizes)}); got {len(roots)}")
    result["loader"] = []
    for root, size in zip(roots * len(sizes) if len(roots) == 1 else roots, sizes):
        if not Path(root).exists():
            raise CLIError(f"--loader {root}: no such folder")
        rows = bench_loader(root, size, args.loader_batch, args.loader_workers, device, args.loader_epochs,
                            cache_dir=args.cache_dir)
        for r in rows:
            print(f"loader {root} {size[0]}x{size[1]} workers {r['workers']}: {r['img_per_s']:,.0f} img/s "
                  f"(cache build/open {r['cache_build_s']:.1f} s, {r['frames']} frames)", flush=True)
        result["loader"].extend(rows)
        save()


def _run_ddp(args, device, presets, sizes, batches, dtype, channels_last, compiled, attention, overrides, result,
             save) -> None:
    from aecnn.bench.ddp import ddp_scaling
    from aecnn.bench.runner import expand_grid

    if device.type != "cuda":
        raise CLIError("--ddp needs CUDA GPUs")
    cases = expand_grid(presets, sizes, batches, [dtype], compiled, [channels_last], [attention], overrides)
    result["ddp"] = []
    for case in cases:
        rows = ddp_scaling(case, args.ddp, warmup=max(3, args.warmup), repeats=args.repeats,
                           min_time=max(args.min_time, 0.5))
        for r in rows:
            print(f"ddp {case.preset} {case.input_size} batch {case.batch}/GPU compiled={case.compiled}: "
                  f"{r['gpus']} GPU(s) {r['img_per_s']:,.0f} img/s (x{r['scaling_vs_1gpu']:.2f})", flush=True)
        result["ddp"].extend(rows)
        save()


def main(argv: list[str] | None = None) -> int:
    """``python -m aecnn.cli.bench``: the same command without importing the other sub-commands
    (whose optional dependencies a bare GPU image may lack)."""
    import sys

    parser = argparse.ArgumentParser(prog="aecnn bench", description="GPU/CPU throughput and memory benchmark")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return run(args)
    except KeyboardInterrupt:
        print("aecnn bench: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, FileNotFoundError, RuntimeError, OSError) as exc:
        if args.debug:
            raise
        print(f"aecnn bench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
