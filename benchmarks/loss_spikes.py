"""Loss spikes in the saved quality-benchmark trainings, and what they cost (CPU, seconds, diagnostic).

The ``results.json`` files under ``benchmarks/quality_results/`` written since the loss curve was added
keep each training's curve (100 segments of the images budget; older files have none and are left out).
This script reads them all, finds the largest spike of each aecnn
crop training with :func:`aecnn.loss_spikes.find_spike` (a segment ``--factor`` or more times the
lowest before it), and compares the validation PSNR of trainings with and without one inside each group
of identical settings (preset, latent, layout, blocks, images, lr, beta2, generator variant). A training that appears in
several files (a merged table repeats its runs) is counted once.

    PYTHONPATH=$PWD python3 benchmarks/loss_spikes.py --out benchmarks/quality_results/2026-12-05-thirteenth/loss_spikes.md

Exploratory: the trainings were not run to study spikes, and groups hold one to six trainings.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from pathlib import Path

from aecnn.loss_spikes import find_spike
from aecnn.quality.generator import describe, generator_of
from aecnn.quality.report import print_report, saved_results

ROOT = Path(__file__).resolve().parent / "quality_results"


def _generator(meta: dict) -> str:
    """The generator fields a run changed from today's default ("" for the default itself; the runs of
    2026-12-02 that named ``outline_modes=3`` ran what became the default; runs before the nineteenth
    session without overrides show the grey levels of then, :data:`aecnn.quality.generator.GREY_BEFORE`)."""
    return describe(generator_of(meta))


def trainings(root: Path, factor: float) -> list[dict]:
    """One row per distinct aecnn crop training (status ok or cut) with a loss curve."""
    rows, seen = [], set()
    for path, res in saved_results(root):
        cfg = res["meta"]["config"]
        over = dict(tuple(p) for p in cfg.get("model_overrides") or ())
        for r in res["runs"]:
            if (r["kind"] != "crop" or not r["method"].startswith("aecnn") or r["status"] not in ("ok", "cut")
                    or not r.get("loss_curve") or r.get("note", "").startswith("same run as")):
                continue
            psnr = (r.get("metrics") or {}).get("psnr")
            key = (r["method"], r["latent"], cfg["preset"], cfg.get("train_seed"), cfg.get("lr"), psnr)
            if psnr is None or key in seen:
                continue
            seen.add(key)
            spike = find_spike(r["loss_curve"], factor=factor)
            group = (f"{cfg['preset']} {r['method'].removeprefix('aecnn-')} {r['latent']}"
                     f"{' sc' + str(over['spatial_channels']) if 'spatial_channels' in over else ''}"
                     f"{' b' + str(over['blocks_per_stage']) if 'blocks_per_stage' in over else ''}"
                     f" N={r['images_seen']:,}{' (cut)' if r['status'] == 'cut' else ''}"
                     f" lr={cfg.get('lr')} beta2={cfg.get('beta2', 0.999)}"
                     f"{' recipe ' + cfg['recipe'] if cfg.get('recipe', 'bench') != 'bench' else ''}"
                     f"{' generator ' + gen if (gen := _generator(res['meta'])) else ''}")
            rows.append({"file": str(path.relative_to(root.parent)), "group": group, "seed": cfg.get("train_seed"),
                         "psnr": psnr, "spike": spike.ratio if spike else 0.0})
    return rows


def report(rows: list[dict], factor: float) -> str:
    lines = [f"# Loss spikes (a segment ≥ {factor:g}× the lowest before it) in the saved aecnn crop trainings", "",
             "| settings | training seed | val PSNR dB | largest spike | file |", "| --- | --- | --- | --- | --- |"]
    for r in sorted(rows, key=lambda r: (r["group"], r["seed"] or 0, r["psnr"])):
        spike = f"{r['spike']:.0f}×" if r["spike"] else "—"
        lines.append(f"| {r['group']} | {r['seed']} | {r['psnr']:.2f} | {spike} | {r['file']} |")
    by = defaultdict(list)
    for r in rows:
        by[r["group"]].append(r)
    lines += ["", "Groups with trainings on both sides:", "",
              "| settings | with a spike: n, mean dB | without: n, mean dB | difference dB |", "| --- | --- | --- | --- |"]
    diffs = []
    for g, rs in sorted(by.items()):
        a = [r["psnr"] for r in rs if r["spike"]]
        b = [r["psnr"] for r in rs if not r["spike"]]
        if a and b:
            diffs.append(statistics.mean(a) - statistics.mean(b))
            lines.append(f"| {g} | {len(a)}, {statistics.mean(a):.2f} | {len(b)}, {statistics.mean(b):.2f} | "
                         f"{diffs[-1]:+.2f} |")
    n_spiked = sum(1 for r in rows if r["spike"])
    lines += ["", f"{n_spiked} of {len(rows)} trainings have a spike ≥ {factor:g}×."]
    if diffs:
        lines.append(f"Mean difference over the {len(diffs)} groups with both: {statistics.mean(diffs):+.2f} dB.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, default=ROOT, help="folder searched for results.json (default: %(default)s)")
    p.add_argument("--factor", type=float, default=10.0, help="spike threshold (default 10, as the report)")
    p.add_argument("--out", type=Path, help="write the markdown here too")
    args = p.parse_args(argv)
    rows = trainings(args.root, args.factor)
    if not rows:
        print(f"no aecnn crop training with a loss curve under {args.root}", file=sys.stderr)
        return 1
    return print_report(report(rows, args.factor), args.out)


if __name__ == "__main__":
    raise SystemExit(main())
