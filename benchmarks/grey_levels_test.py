"""The pre-registered test of the widened drop grey levels (planned in the eighteenth session; QUALITY.md,
"Plan for the next GPU session"): aecnn small, spatial 512, crops, 391,168 images, lr 1e-3, beta2 0.99,
``--recipe train``, seeds 91-93, trained on the default generator ("before", eighteenth session) and on
``--synth drop_level=10,25 --synth rim_amp=20,70 --synth rim_len=3,7`` ("after").

The rule, fixed before the "after" trainings ran: the widened ranges become the generator's default if,
over the seeds trained in both arms (all three of the plan), (a) the after arm's mean real-crop gap
(synthetic validation minus real PSNR) is at most 6.0 dB and below the before arm's, (b) its mean
real-crop PSNR is not lower than the before arm's by more than 0.1 dB (the real frames are the one set both
arms share), and (c) every after-arm training's one-fit sequence-stage R² (``r2_lstm_pc``) is at least 0.95.
Otherwise the default stays. (It came out for the widened levels, the default since; arms are read from
each run's generator. ``--latent 128`` shows the same comparison at 128, seeds 0-2, without a rule.)

    PYTHONPATH=$PWD python3 benchmarks/grey_levels_test.py benchmarks/quality_results --out grey_levels_test.md
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from aecnn.quality.generator import GREY_BEFORE, changed, generator_of
from aecnn.quality.report import display_path, find, print_report, saved_results

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recipe_margins as margins

ROOT = Path(__file__).resolve().parent / "quality_results"
SEEDS = (91, 92, 93)
# the same comparison at latent 128 (seeds 0-2 in both arms), reported without a rule (the plan's call B)
SEEDS_BY_LATENT = {512: SEEDS, 128: (0, 1, 2)}
AFTER = {"drop_level": (10.0, 25.0), "rim_amp": (20.0, 70.0), "rim_len": (3.0, 7.0)}
GAP_LIMIT, REAL_TOLERANCE, R2_FLOOR = 6.0, 0.1, 0.95


def arm_of(meta: dict) -> str | None:
    """'before' (the grey levels of before the test), 'after' (the plan's widened ones) or None (another
    generator). Read from the run's generator (:func:`aecnn.quality.generator.generator_of`), not from its
    overrides: since the test the widened levels are the default, and a run needs no override for them."""
    try:
        gen = generator_of(meta)
    except (TypeError, ValueError):
        return None
    grey = {k: tuple(gen.get(k) or ()) for k in AFTER}
    rest = {k: v for k, v in changed(gen).items() if k not in AFTER}
    if rest:
        return None
    return "before" if grey == GREY_BEFORE else "after" if grey == AFTER else None


def planned(cfg: dict, latent: int = 512) -> bool:
    return margins.at_current_defaults(cfg) and cfg["train_seed"] in SEEDS_BY_LATENT[latent]


def trainings(root: Path, latent: int = 512) -> dict[tuple[str, int], dict]:
    """(arm, seed) -> the completed aecnn crop training of the plan's settings at ``latent``."""
    found = {}
    for path, res in saved_results(root):
        cfg = res["meta"]["config"]
        arm = arm_of(res["meta"])
        r = find(res, "crop", "aecnn-spatial", latent)
        if arm is None or r is None or not planned(cfg, latent) or not r.get("real_metrics"):
            continue
        key = (arm, cfg["train_seed"])
        if key in found:
            raise SystemExit(f"seed {key[1]} trained twice in the {arm} arm: {found[key]['file']} and {path}")
        found[key] = {"file": display_path(path), "psnr": r["metrics"]["psnr"], "real": r["real_metrics"]["psnr"],
                      "r2": r.get("r2_lstm_pc")}
    return found


def decide(found: dict) -> tuple[list[int], str]:
    """The seeds trained in both arms and the rule's verdict, in words."""
    seeds = sorted(s for s in SEEDS if ("before", s) in found and ("after", s) in found)
    if len(seeds) < len(SEEDS):
        return seeds, f"incomplete: {len(seeds)} of {len(SEEDS)} seeds in both arms; no verdict"

    def mean(arm, value):
        return statistics.mean(value(found[(arm, s)]) for s in seeds)
    gap_b, gap_a = (mean(arm, lambda f: f["psnr"] - f["real"]) for arm in ("before", "after"))
    real_b, real_a = (mean(arm, lambda f: f["real"]) for arm in ("before", "after"))
    r2 = [found[("after", s)]["r2"] for s in seeds]
    a = gap_a <= GAP_LIMIT and gap_a < gap_b
    b = real_a >= real_b - REAL_TOLERANCE
    c = all(v is not None and v >= R2_FLOOR for v in r2)
    words = (f"(a) gap {gap_a:.2f} after vs {gap_b:.2f} before: {'holds' if a else 'fails'}; "
             f"(b) real PSNR {real_a:.2f} vs {real_b:.2f}: {'holds' if b else 'fails'}; "
             f"(c) R² after {' / '.join('—' if v is None else f'{v:.3f}' for v in r2)}: {'holds' if c else 'fails'}")
    return seeds, words + (" → the widened grey levels become the default" if a and b and c
                           else " → the default generator stays")


def report(found: dict, latent: int = 512) -> str:
    lines = ["| arm | seed | val PSNR dB | real PSNR dB | synth − real dB | R² LSTM 8 PCs | file |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for arm, seed in sorted(found):
        f = found[(arm, seed)]
        r2 = "—" if f["r2"] is None else f"{f['r2']:.3f}"
        lines.append(f"| {arm} | {seed} | {f['psnr']:.2f} | {f['real']:.2f} | {f['psnr'] - f['real']:.2f} | {r2} | "
                     f"`{f['file']}` |")
    if latent == 512:
        _, verdict = decide(found)
    else:
        gap = {arm: statistics.mean(f["psnr"] - f["real"] for (a, _), f in found.items() if a == arm)
               for arm in ("before", "after") if any(a == arm for a, _ in found)}
        verdict = (f"latent {latent}, no rule (the rule is the 512 one): mean gap "
                   + ", ".join(f"{arm} {g:.2f} dB" for arm, g in gap.items()))
    return "\n".join(lines + ["", verdict]) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("root", type=Path, nargs="?", default=ROOT, help="folder searched for results.json files")
    p.add_argument("--latent", type=int, choices=sorted(SEEDS_BY_LATENT), default=512,
                   help="512: the rule; 128: the same comparison, reported without one")
    p.add_argument("--out", type=Path, help="also write the report here (markdown)")
    args = p.parse_args(argv)
    return print_report(report(trainings(args.root, args.latent), args.latent), args.out)


if __name__ == "__main__":
    sys.exit(main())
