"""The pre-registered beta2 test (planned in the thirteenth session, run in the fifteenth; QUALITY.md):
small, spatial 512, 391,168 crops, lr 1e-3, seeds 51-54 at AdamW beta2 0.999 and 0.99.

Reads every ``results.json`` under ``ROOT`` (CPU, seconds), pairs the trainings by seed, counts loss
spikes (:func:`aecnn.loss_spikes.find_spike`, >= 10x) and applies the rule fixed before the numbers
existed: the benchmark's default beta2 becomes 0.99 if, over the complete pairs (at least three), the 0.99
arm has fewer spikes **and** its mean validation PSNR is not lower than the 0.999 arm's by more than 0.1 dB.
A training cut by the deadline does not complete its pair.

    PYTHONPATH=$PWD python3 benchmarks/beta2_pairs.py benchmarks/quality_results/2026-12-06-fifteenth \\
        --out benchmarks/quality_results/2026-12-06-fifteenth/beta2_pairs.md \\
        --figure benchmarks/quality_results/2026-12-06-fifteenth/beta2_loss_curves.png
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from aecnn.loss_spikes import FACTOR, find_spike
from aecnn.quality.report import print_report, saved_results

ARMS = (0.999, 0.99)
SEEDS = (51, 52, 53, 54)  # the plan's training seeds; no other seed counts
MIN_PAIRS = 3
MAX_LOSS_DB = 0.1


def trainings(root: Path) -> dict[tuple[int, float], dict]:
    """(seed, beta2) -> the small spatial-512 crop training (preset layout, lr 1e-3, 391,168 images, seeds
    51-54) of that seed and beta2; of a seed trained twice, the completed training."""
    found = {}
    for path, res in saved_results(root):
        cfg = res["meta"]["config"]
        for r in res["runs"]:
            if (r["kind"], r["method"], r["latent"], r["budget"]) != ("crop", "aecnn-spatial", 512, "images"):
                continue
            if (cfg["preset"], cfg["lr"], cfg.get("model_overrides") or [], cfg["images_seen"]) != (
                    "small", 1e-3, [], 391_168):
                continue  # not the planned settings
            key = (cfg["train_seed"], cfg.get("beta2", 0.999))
            if key[0] not in SEEDS:
                continue
            if key in found:  # a cut training re-run: the completed one counts; two completed ones: ambiguous
                if found[key]["status"] == "ok" and r["status"] == "ok":
                    raise SystemExit(f"two completed trainings of seed {key[0]} at beta2 {key[1]}: "
                                     f"{found[key]['file']} and {path}")
                if r["status"] != "ok":
                    continue
            spike = find_spike(r.get("loss_curve") or [], FACTOR)
            found[key] = {"file": str(path), "status": r["status"], "psnr": (r.get("metrics") or {}).get("psnr"),
                          "images": r["images_seen"],
                          "spike": spike.ratio if spike else 0.0, "spike_at": spike.at if spike else None,
                          "curve": r.get("loss_curve") or []}
    return found


def decide(found: dict) -> tuple[list[int], str]:
    """The complete pairs' seeds and the rule's verdict, in words."""
    seeds = sorted({s for s, _ in found})
    pairs = [s for s in seeds if all(found.get((s, b), {}).get("status") == "ok" for b in ARMS)]
    if len(pairs) < MIN_PAIRS:
        return pairs, f"only {len(pairs)} complete pair(s), the rule needs {MIN_PAIRS}: no decision, beta2 stays 0.999"
    spikes = {b: sum(found[(s, b)]["spike"] > 0 for s in pairs) for b in ARMS}
    mean = {b: statistics.mean(found[(s, b)]["psnr"] for s in pairs) for b in ARMS}
    fewer = spikes[0.99] < spikes[0.999]
    close = mean[0.99] >= mean[0.999] - MAX_LOSS_DB
    verdict = "the benchmark's default beta2 becomes 0.99" if fewer and close else "the benchmark stays at 0.999"
    return pairs, (f"{len(pairs)} complete pairs; spikes (≥ {FACTOR:g}×): {spikes[0.999]} at 0.999, {spikes[0.99]} at "
                   f"0.99 ({'fewer' if fewer else 'not fewer'}); mean val PSNR {mean[0.999]:.2f} vs {mean[0.99]:.2f} dB "
                   f"(0.99 − 0.999 = {mean[0.99] - mean[0.999]:+.2f}, {'within' if close else 'beyond'} "
                   f"−{MAX_LOSS_DB} dB): {verdict}")


def report(found: dict) -> str:
    pairs, verdict = decide(found)
    lines = ["# beta2 0.999 vs 0.99: small, spatial 512, 391,168 crops, lr 1e-3 (pre-registered test)", "",
             "| seed | beta2 | status | val PSNR dB | largest spike (≥ 10×) | at images | complete pair | file |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (seed, b2), r in sorted(found.items()):
        spike = f"{r['spike']:.0f}×" if r["spike"] else "—"
        at = f"{r['spike_at']:,}" if r["spike_at"] is not None else "—"
        psnr = f"{r['psnr']:.2f}" if r["psnr"] is not None else "—"
        lines.append(f"| {seed} | {b2:g} | {r['status']} | {psnr} | {spike} | {at} | "
                     f"{'yes' if seed in pairs else 'no'} | {r['file']} |")
    return "\n".join([*lines, "", f"**Rule:** {verdict}.", ""])


def figure(found: dict, path: Path) -> Path:
    """The complete pairs' loss curves, one panel per seed: 0.999 and 0.99 on a log scale, spikes marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs, _ = decide(found)
    if not pairs:
        raise SystemExit("no complete pair to draw")
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.4), sharey=True, squeeze=False)
    for ax, seed in zip(axes[0], pairs):
        for b2, color in zip(ARMS, ("0.45", "C0")):
            r = found[(seed, b2)]
            x, y = zip(*r["curve"])
            ax.plot(x, y, color=color, lw=1.2, label=f"beta2 {b2:g}: {r['psnr']:.2f} dB")
            if r["spike_at"] is not None:
                at = min(range(len(x)), key=lambda i: abs(x[i] - r["spike_at"]))
                ax.plot(x[at], y[at], "v", color="C3", ms=7, label=f"{r['spike']:.0f}× spike")
        ax.set_yscale("log")
        ax.set_title(f"training seed {seed}")
        ax.set_xlabel("images seen")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("training MSE (segment mean)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", type=Path, help="folder holding the calls' results.json files")
    p.add_argument("--out", type=Path, help="also write the table here (markdown)")
    p.add_argument("--figure", type=Path, help="also draw the complete pairs' loss curves here (PNG)")
    args = p.parse_args(argv)
    found = trainings(args.root)
    if args.figure:
        figure(found, args.figure)
    return print_report(report(found), args.out)


if __name__ == "__main__":
    sys.exit(main())
