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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aecnn.loss_spikes import FACTOR, find_spike
from aecnn.quality.report import print_report, saved_results

MIN_PAIRS = 3
MAX_LOSS_DB = 0.1


@dataclass(frozen=True)
class PairedTest:
    """A pre-registered test of two arms (old, new) trained with the same seeds: small, spatial 512,
    391,168 crops, lr 1e-3. The new arm is adopted if, over the complete pairs (at least
    :data:`MIN_PAIRS`), its spikes are fewer (``fewer_spikes``) or no more (otherwise) than the old arm's
    and its mean validation PSNR is not lower by more than :data:`MAX_LOSS_DB`. ``recipe_pairs.py``
    tests the benchmark's recipe with it."""

    name: str  # what the arms vary, as the tables write it ("beta2")
    arms: tuple  # (old, new)
    seeds: tuple[int, ...]  # the plan's training seeds; no other seed counts
    arm_of: Callable[[dict], object]  # a results.json config -> its arm
    fewer_spikes: bool
    also: Callable[[dict], bool] = lambda cfg: True  # further settings the plan fixed

    def label(self, arm) -> str:
        return f"{arm:g}" if isinstance(arm, float) else str(arm)


BETA2 = PairedTest("beta2", (0.999, 0.99), (51, 52, 53, 54), lambda cfg: cfg.get("beta2", 0.999), fewer_spikes=True)


def trainings(root: Path, test: PairedTest = BETA2) -> dict[tuple[int, object], dict]:
    """(seed, arm) -> the small spatial-512 crop training (preset layout, lr 1e-3, 391,168 images, the
    test's seeds) of that seed and arm; of a seed trained twice, the completed training."""
    found = {}
    for path, res in saved_results(root):
        cfg = res["meta"]["config"]
        for r in res["runs"]:
            if (r["kind"], r["method"], r["latent"], r["budget"]) != ("crop", "aecnn-spatial", 512, "images"):
                continue
            if (cfg["preset"], cfg["lr"], cfg.get("model_overrides") or [], cfg["images_seen"]) != (
                    "small", 1e-3, [], 391_168):
                continue  # not the planned settings
            if not test.also(cfg):
                continue
            key = (cfg["train_seed"], test.arm_of(cfg))
            if key[0] not in test.seeds or key[1] not in test.arms:
                continue
            if key in found:  # a cut training re-run: the completed one counts; two completed ones: ambiguous
                if found[key]["status"] == "ok" and r["status"] == "ok":
                    raise SystemExit(f"two completed trainings of seed {key[0]} at {test.name} {test.label(key[1])}: "
                                     f"{found[key]['file']} and {path}")
                if r["status"] != "ok":
                    continue
            spike = find_spike(r.get("loss_curve") or [], FACTOR)
            found[key] = {"file": str(path), "status": r["status"], "psnr": (r.get("metrics") or {}).get("psnr"),
                          "images": r["images_seen"],
                          "spike": spike.ratio if spike else 0.0, "spike_at": spike.at if spike else None,
                          "curve": r.get("loss_curve") or []}
    return found


def decide(found: dict, test: PairedTest = BETA2) -> tuple[list[int], str]:
    """The complete pairs' seeds and the rule's verdict, in words."""
    old, new = test.arms
    o, n, what = test.label(old), test.label(new), test.name
    seeds = sorted({s for s, _ in found})
    pairs = [s for s in seeds if all(found.get((s, b), {}).get("status") == "ok" for b in test.arms)]
    if len(pairs) < MIN_PAIRS:
        return pairs, f"only {len(pairs)} complete pair(s), the rule needs {MIN_PAIRS}: no decision, {what} stays {o}"
    spikes = {b: sum(found[(s, b)]["spike"] > 0 for s in pairs) for b in test.arms}
    mean = {b: statistics.mean(found[(s, b)]["psnr"] for s in pairs) for b in test.arms}
    if test.fewer_spikes:
        ok, words = spikes[new] < spikes[old], ("fewer", "not fewer")
    else:
        ok, words = spikes[new] <= spikes[old], ("no more", "more")
    close = mean[new] >= mean[old] - MAX_LOSS_DB
    verdict = f"the benchmark's default {what} becomes {n}" if ok and close else f"the benchmark stays at {o}"
    return pairs, (f"{len(pairs)} complete pairs; spikes (≥ {FACTOR:g}×): {spikes[old]} at {o}, {spikes[new]} at "
                   f"{n} ({words[0] if ok else words[1]}); mean val PSNR {mean[old]:.2f} vs {mean[new]:.2f} dB "
                   f"({n} − {o} = {mean[new] - mean[old]:+.2f}, {'within' if close else 'beyond'} "
                   f"−{MAX_LOSS_DB} dB): {verdict}")


def report(found: dict, test: PairedTest = BETA2) -> str:
    pairs, verdict = decide(found, test)
    o, n = (test.label(a) for a in test.arms)
    lines = [f"# {test.name} {o} vs {n}: small, spatial 512, 391,168 crops, lr 1e-3 (pre-registered test)", "",
             f"| seed | {test.name} | status | val PSNR dB | largest spike (≥ 10×) | at images | complete pair | file |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for (seed, arm), r in sorted(found.items()):
        spike = f"{r['spike']:.0f}×" if r["spike"] else "—"
        at = f"{r['spike_at']:,}" if r["spike_at"] is not None else "—"
        psnr = f"{r['psnr']:.2f}" if r["psnr"] is not None else "—"
        lines.append(f"| {seed} | {test.label(arm)} | {r['status']} | {psnr} | {spike} | {at} | "
                     f"{'yes' if seed in pairs else 'no'} | {r['file']} |")
    return "\n".join([*lines, "", f"**Rule:** {verdict}.", ""])


def figure(found: dict, path: Path, test: PairedTest = BETA2) -> Path:
    """The complete pairs' loss curves, one panel per seed: both arms on a log scale, spikes marked."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs, _ = decide(found, test)
    if not pairs:
        raise SystemExit("no complete pair to draw")
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.2 * len(pairs), 3.4), sharey=True, squeeze=False)
    for ax, seed in zip(axes[0], pairs):
        for arm, color in zip(test.arms, ("0.45", "C0")):
            r = found[(seed, arm)]
            x, y = zip(*r["curve"])
            ax.plot(x, y, color=color, lw=1.2, label=f"{test.name} {test.label(arm)}: {r['psnr']:.2f} dB")
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


def main(argv: list[str] | None = None, test: PairedTest = BETA2, doc: str | None = None) -> int:
    p = argparse.ArgumentParser(description=(doc or __doc__).splitlines()[0])
    p.add_argument("root", type=Path, help="folder holding the calls' results.json files")
    p.add_argument("--out", type=Path, help="also write the table here (markdown)")
    p.add_argument("--figure", type=Path, help="also draw the complete pairs' loss curves here (PNG)")
    args = p.parse_args(argv)
    found = trainings(args.root, test)
    if args.figure:
        figure(found, args.figure, test)
    return print_report(report(found, test), args.out)


if __name__ == "__main__":
    sys.exit(main())
