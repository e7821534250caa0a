"""Benchmark results as JSON and a Markdown report, and merging several runs.

A result is a dict ``{"meta", "ceiling", "rows", "memory", "loader", "ddp"}`` (sections
may be missing). ``python -m aecnn.bench.report OUT_STEM IN.json [IN.json ...]`` merges
runs into ``OUT_STEM.json`` and ``OUT_STEM.md``.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

SECTIONS = ("rows", "memory", "loader", "ddp")


def environment(device: torch.device, command: list[str] | None = None) -> dict[str, Any]:
    """Date, device name, torch/CUDA/cuDNN versions, git commit, the command line."""
    meta: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": str(device), "torch": torch.__version__, "python": platform.python_version(),
        "host_cpus": os.cpu_count(), "commit": _commit(),
        "command": " ".join(command if command is not None else ["aecnn", *sys.argv[1:]]),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        meta.update({"gpu": props.name, "gpu_memory_gib": props.total_memory / 2**30,
                     "sms": props.multi_processor_count, "cuda": torch.version.cuda,
                     "cudnn": torch.backends.cudnn.version(),
                     "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
                     "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32})
    else:
        meta["gpu"] = None
        meta["cpu"] = platform.processor() or platform.machine()
    return meta


def _commit() -> str:
    env = os.environ.get("AECNN_COMMIT")
    if env:
        return env
    try:
        here = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], check=False,
                             capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               check=False, capture_output=True, text=True, timeout=5)
        if out.returncode == 0:
            return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def write_json(path: str | Path, result: dict[str, Any]) -> Path:
    from aecnn.io import atomic_write_text

    return atomic_write_text(path, json.dumps(result, indent=1, default=str) + "\n", fsync=False)


def _f(v: Any, fmt: str = "{:,.0f}") -> str:
    if v is None or v == "":
        return "—"
    if isinstance(v, float):
        return fmt.format(v)
    return str(v)


def _rate(v: Any) -> str:
    """A ceiling to three significant digits without an exponent: 989, 41.2, 0.214 (a CPU's)."""
    if not isinstance(v, float) or v <= 0:
        return _f(v)
    return _f(v, "{:.0f}" if v >= 100 else "{:.3g}")


def _size(r: dict) -> str:
    return f"{r['input_size'][0]}×{r['input_size'][1]}"


ROW_HEADER = ["preset", "H×W", "batch", "mode", "dtype", "ch-last", "compiled", "attn", "img/s", "ms/step",
              "GFLOP/img", "TFLOP/s", "% ceiling", "peak GiB", "params M"]


def row_cells(r: dict) -> list[str]:
    ov = r.get("overrides") or {}
    preset = r["preset"] + (" " + " ".join(f"{k}={v}" for k, v in ov.items()) if ov else "")
    if "error" in r:
        tail = [f"error: {r['error'][:80]}"] + [""] * 6
    elif "img_per_s" not in r:
        tail = [r.get("note", "—")] + [""] * 6
    else:
        frac = r.get("frac_ceiling")
        tail = [_f(r["img_per_s"]), _f(r["ms_per_step"], "{:.2f}"), _f(r.get("gflop_per_img"), "{:.2f}"),
                _f(r.get("tflops"), "{:.1f}"), _f(None if frac is None else 100 * frac, "{:.1f}"),
                _f(r.get("peak_gib"), "{:.2f}"), _f(r.get("params", 0) / 1e6, "{:.2f}")]
    return [preset, _size(r), str(r["batch"]), r["mode"], r["dtype"], "y" if r["channels_last"] else "n",
            "y" if r["compiled"] else "n", "on" if r["attention"] else "off", *tail]


def table(header: list[str], rows: Iterable[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def text_table(header: list[str], rows: list[list[str]]) -> str:
    """Aligned plain-text table for the terminal."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    fmt = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))
    return "\n".join([fmt(header), *(fmt(r) for r in rows)])


def _key(r: dict, *drop: str) -> tuple:
    keep = {k: r.get(k) for k in ("preset", "input_size", "batch", "mode", "dtype", "channels_last",
                                  "compiled", "attention", "overrides") if k not in drop}
    return tuple((k, json.dumps(v, sort_keys=True)) for k, v in keep.items())


def comparisons(rows: list[dict]) -> dict[str, list[dict]]:
    """Derived ratios between rows that differ in one setting.

    ``compile``: compiled / eager img/s; ``attention``: off / on training img/s (cost of
    attention = 1 - on/off); ``infer_vs_train``: best inference / best training img/s of a
    preset, size and dtype.
    """
    ok = [r for r in rows if "img_per_s" in r]
    out: dict[str, list[dict]] = {"compile": [], "attention": [], "infer_vs_train": []}
    index = {_key(r): r for r in ok}
    for r in ok:
        if r["compiled"]:
            e = index.get(_key({**r, "compiled": False}))
            if e:
                out["compile"].append({"row": r, "eager": e["img_per_s"], "compiled": r["img_per_s"],
                                       "speedup": r["img_per_s"] / e["img_per_s"]})
        if r["attention"] and r["mode"] == "train":
            off = index.get(_key({**r, "attention": False}))
            if off:
                out["attention"].append({"row": r, "on": r["img_per_s"], "off": off["img_per_s"],
                                         "cost": 1 - r["img_per_s"] / off["img_per_s"]})
    groups: dict[tuple, dict[str, dict]] = {}
    for r in ok:
        g = groups.setdefault(_key(r, "mode", "compiled", "batch", "channels_last"), {})
        if r["mode"] not in g or r["img_per_s"] > g[r["mode"]]["img_per_s"]:
            g[r["mode"]] = r
    for g in groups.values():
        if "train" in g and "infer" in g:
            out["infer_vs_train"].append({"row": g["infer"], "train": g["train"]["img_per_s"],
                                          "infer": g["infer"]["img_per_s"],
                                          "ratio": g["infer"]["img_per_s"] / g["train"]["img_per_s"]})
    return out


def to_markdown(result: dict[str, Any]) -> str:
    meta, ceil = result.get("meta", {}), result.get("ceiling") or {}
    lines = ["# aecnn bench", ""]
    lines.append(f"- date: {meta.get('date')}; device: {meta.get('gpu') or meta.get('device')}; "
                 f"torch {meta.get('torch')}, CUDA {meta.get('cuda')}, cuDNN {meta.get('cudnn')}; "
                 f"commit {meta.get('commit')}")
    lines.append(f"- command: `{meta.get('command')}`")
    if ceil:
        g = lambda k: _rate(ceil.get(k))
        lines.append(f"- ceilings (same process): bf16 3×3 conv 128→128 channels_last "
                     f"{g('conv_tflops')} TFLOP/s forward, {g('conv_train_tflops')} "
                     f"forward+backward; device copy {g('copy_tb_s')} TB/s; bf16 matmul "
                     f"{g('matmul_tflops')} TFLOP/s. % ceiling = counted FLOPs × img/s ÷ the forward "
                     "conv rate.")
    rows = result.get("rows") or []
    if rows:
        lines += ["", "## Throughput", "", table(ROW_HEADER, [row_cells(r) for r in rows])]
        comp = comparisons(rows)
        if comp["infer_vs_train"]:
            lines += ["", "### Inference vs training (best of each)", "",
                      table(["preset", "H×W", "dtype", "attn", "train img/s", "infer img/s", "ratio"],
                            [[c["row"]["preset"], _size(c["row"]), c["row"]["dtype"],
                              "on" if c["row"]["attention"] else "off", _f(c["train"]),
                              _f(c["infer"]), f"{c['ratio']:.2f}"] for c in comp["infer_vs_train"]])]
        if comp["compile"]:
            lines += ["", "### torch.compile vs eager", "",
                      table(["preset", "H×W", "batch", "mode", "dtype", "eager img/s", "compiled img/s", "speedup"],
                            [[c["row"]["preset"], _size(c["row"]), str(c["row"]["batch"]), c["row"]["mode"],
                              c["row"]["dtype"], _f(c["eager"]), _f(c["compiled"]), f"{c['speedup']:.2f}"]
                             for c in comp["compile"]])]
        if comp["attention"]:
            lines += ["", "### Attention on vs off (training)", "",
                      table(["preset", "H×W", "batch", "compiled", "off img/s", "on img/s", "cost"],
                            [[c["row"]["preset"], _size(c["row"]), str(c["row"]["batch"]),
                              "y" if c["row"]["compiled"] else "n", _f(c["off"]), _f(c["on"]),
                              f"{100 * c['cost']:.1f}%"] for c in comp["attention"]])]
        prof = [r for r in rows if isinstance(r.get("profile"), dict) and "categories" in r["profile"]]
        if prof:
            lines += ["", "### GPU kernel time by category (torch.profiler)", ""]
            cats = sorted({c for r in prof for c in r["profile"]["categories"]})
            lines.append(table(["preset", "H×W", "batch", "mode", "compiled", "GPU busy", "conv kernels TFLOP/s",
                                *[f"{c} %" for c in cats]],
                               [[r["preset"], _size(r), str(r["batch"]), r["mode"], "y" if r["compiled"] else "n",
                                 f"{100 * r['profile']['gpu_busy_frac']:.0f}%",
                                 _f(r["profile"].get("conv_kernel_tflops"), "{:.0f}"),
                                 *[f"{100 * r['profile']['categories'].get(c, {}).get('share', 0):.0f}" for c in cats]]
                                for r in prof]))
    mem = result.get("memory") or []
    if mem:
        lines += ["", f"## Largest training batch under {result.get('memory_cap', '?')}", "",
                  table(["preset", "H×W", "checkpointing", "target batch", "target runs", "peak GiB at target",
                         "max batch", "peak GiB at max", "first failing"],
                        [[m["preset"], _size(m), "y" if m["gradient_checkpointing"] else "n", _f(m["target_batch"]),
                          {True: "yes", False: "NO", None: "—"}[m["target_ok"]], _f(m["target_peak_gib"], "{:.2f}"),
                          _f(m["max_batch"]), _f(m["max_peak_gib"], "{:.2f}"),
                          _f(m["first_failing"]) if m["first_failing"] else f"none ≤ {m['search_limit']}"]
                         if "error" not in m else [m.get("preset", "?"), _size(m), "", "", f"error: {m['error']}",
                                                   "", "", "", ""]
                         for m in mem])]
    loader = result.get("loader") or []
    if loader:
        lines += ["", "## Data pipeline (PNG folder → cache → DataLoader)", "",
                  table(["data", "H×W", "frames", "cache build s", "batch", "workers", "to GPU", "img/s"],
                        [[Path(r["root"]).name, _size(r), str(r["frames"]), f"{r['cache_build_s']:.1f}",
                          str(r["batch"]), str(r["workers"]), "y" if r["to_device"] else "n", _f(r["img_per_s"])]
                         for r in loader])]
    ddp = result.get("ddp") or []
    if ddp:
        lines += ["", "## Data-parallel scaling (DDP)", "",
                  table(["preset", "H×W", "batch/GPU", "compiled", "GPUs", "img/s", "× 1 GPU"],
                        [[r["preset"], _size(r), str(r["batch"]), "y" if r["compiled"] else "n", str(r["gpus"]),
                          _f(r["img_per_s"]), _f(r.get("scaling_vs_1gpu"), "{:.2f}")] for r in ddp])]
    return "\n".join(lines) + "\n"


def write_markdown(path: str | Path, result: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_markdown(result))
    return path


def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from several: sections concatenated, the first ceiling kept, every
    run's meta listed under ``runs``."""
    out: dict[str, Any] = {"meta": dict(results[0].get("meta", {})) if results else {}, "runs": []}
    for r in results:
        out["runs"].append({"meta": r.get("meta"), "ceiling": r.get("ceiling")})
        if r.get("ceiling") and "ceiling" not in out:
            out["ceiling"] = r["ceiling"]
        if r.get("memory_cap"):
            out["memory_cap"] = r["memory_cap"]
        for s in SECTIONS:
            out.setdefault(s, []).extend(r.get(s) or [])
    out["meta"]["command"] = "; ".join(str((r.get("meta") or {}).get("command")) for r in results)
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    md = "--no-md" not in argv
    argv = [a for a in argv if a != "--no-md"]
    if len(argv) < 2:
        print("usage: python -m aecnn.bench.report [--no-md] OUT_STEM IN.json [IN.json ...]", file=sys.stderr)
        return 2
    results = [json.loads(Path(p).read_text()) for p in argv[1:]]
    merged = merge(results)
    write_json(argv[0] + ".json", merged)
    if md:
        write_markdown(argv[0] + ".md", merged)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
