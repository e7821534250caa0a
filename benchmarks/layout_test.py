"""The pre-registered test of a coarser default latent layout (QUALITY.md, "Twentieth session", "The R²
target: a candidate default and its test"): may the presets' spatial latent become "at most 64 grid
positions" (``--max-grid-positions 64``: 8x8x8 at 512 on crops, 16x2x16 on 1280x152 strips, 32x8x8 at 2048)?

Candidate runs, at the benchmark's current defaults on the default generator with ``--max-grid-positions 64``:
aecnn small, spatial 512 on strips, training seeds 2 and 3 (``sg2``, ``sg3``), and spatial 2048 on crops,
seed 0 (``wg0``). Strip scores come from ``strip_invariant.py`` (the ninth session's protocol: ``--variants
recentre --reduce 4 8 16 --base-reduce 4 8 16 --window 5 9 --reduce-method pls --seeds 0 1 2 3 4``), one JSON per
run, given as ``NAME=JSON`` where NAME is the run's results folder.

The rule, fixed before those trainings ran: the default changes if, for both candidate strip trainings
(neither cut), (a) ``aecnn recentre``'s held-out mean R² is at least 0.95 and at least ``PCA base``'s in the
same JSON, (b) the real-strip gap (synthetic validation minus real PSNR) is at most 6 dB, (c) the validation
PSNR is at least the strips' PCA PSNR + 3 dB (PCA's row on the same generator), and for wg0 (d) the
real-crop gap is at most 6 dB. Strip trainings of the current layout (e.g. ``st2``, ``st3``) are reported
beside them and do not enter the rule.

    PYTHONPATH=$PWD python3 benchmarks/layout_test.py --scores sg2=sg2.json sg3=sg3.json st2=st2.json st3=st3.json \\
        --out layout_test.md
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from aecnn.quality.report import display_path, find, print_report, saved_results

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recipe_margins as margins

ROOT = Path(__file__).resolve().parent / "quality_results"
CANDIDATE = [["max_grid_positions", 64]]  # a results.json's model_overrides for the candidate layout
STRIP_SEEDS, WIDE_SEED = (2, 3), 0
R2_FLOOR, GAP_LIMIT, PCA_MARGIN = 0.95, 6.0, 3.0


def layout_of(cfg: dict) -> str | None:
    """'candidate', 'current' (the preset's own layout) or None (other overrides)."""
    over = cfg.get("model_overrides") or []
    return "candidate" if over == CANDIDATE else "current" if over == [] else None


def runs(root: Path) -> tuple[dict, float]:
    """``{(layout, kind, latent, seed): run}`` of the aecnn trainings at the current defaults on the default
    generator, and the strips' PCA PSNR at 512 on that generator."""
    found, pca = {}, {}
    for path, res in saved_results(root):
        meta = res["meta"]
        cfg = meta["config"]
        if not margins.on_generator(meta, "default"):
            continue
        strip_pca = find(res, "strip", "pca", 512)
        if strip_pca is not None:
            pca[display_path(path)] = strip_pca["metrics"]["psnr"]
        layout = layout_of(cfg)
        if layout is None or not margins.at_current_defaults({**cfg, "model_overrides": []}):
            continue
        for kind, latent in (("strip", 512), ("crop", 2048)):
            r = find(res, kind, "aecnn-spatial", latent)
            if r is None:
                continue
            key = (layout, kind, latent, cfg["train_seed"])
            if key in found:
                raise SystemExit(f"{kind} {latent} seed {key[3]} ({layout} layout) trained twice: "
                                 f"{found[key]['file']} and {display_path(path)}")
            real = (r.get("real_metrics") or {}).get("psnr")
            found[key] = {"name": path.parent.name, "file": display_path(path), "status": r["status"],
                          "psnr": r["metrics"]["psnr"], "real": real}
    if not pca:
        raise SystemExit(f"no PCA 512 strip row on the default generator under {root}")
    if max(pca.values()) - min(pca.values()) > 0.01:  # an exact fit on the same frames: one value
        raise SystemExit(f"the strips' PCA rows differ: {pca}")
    return found, next(iter(pca.values()))


def strip_scores(path: Path) -> tuple[float, float]:
    """(``aecnn recentre``, ``PCA base``) held-out mean R² of a ``strip_invariant.py`` JSON."""
    try:
        summary = json.loads(Path(path).read_text())["summary"]
        return summary["aecnn recentre"]["mean"], summary["PCA base"]["mean"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"{path}: not a strip_invariant.py JSON with 'aecnn recentre' and 'PCA base' ({exc})") from None


def checks(run: dict, pca_psnr: float, scores: tuple[float, float] | None) -> dict[str, bool | None]:
    """The rule's checks for one run (None: not measurable, e.g. no scores given)."""
    gap = None if run["real"] is None else run["psnr"] - run["real"]
    out: dict[str, bool | None] = {"complete": run["status"] == "ok",
                                   "gap": None if gap is None else gap <= GAP_LIMIT}
    if scores is not None or run.get("kind") == "strip":
        out["r2"] = None if scores is None else scores[0] >= R2_FLOOR and scores[0] >= scores[1]
        out["pca"] = run["psnr"] >= pca_psnr + PCA_MARGIN
    return out


def decide(found: dict, pca_psnr: float, scores: dict[str, tuple[float, float]]) -> tuple[list[str], str]:
    """The report's table lines and the rule's verdict."""
    lines = [("| run | layout | frames, latent | seed | val PSNR dB | real PSNR dB | synth − real dB | "
             "R² recentre / PCA base | checks |"), "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    verdicts = []
    for key in sorted(found):
        layout, kind, latent, seed = key
        run = {**found[key], "kind": kind}
        sc = scores.get(run["name"])
        c = checks(run, pca_psnr, sc)
        in_rule = layout == "candidate" and ((kind, seed) in {("strip", s) for s in STRIP_SEEDS}
                                             or (kind, latent, seed) == ("crop", 2048, WIDE_SEED))
        if in_rule:
            verdicts.append(c)
        words = ", ".join(f"{k} {'—' if v is None else 'holds' if v else 'fails'}" for k, v in c.items())
        real = "—" if run["real"] is None else f"{run['real']:.2f}"
        gap = "—" if run["real"] is None else f"{run['psnr'] - run['real']:.2f}"
        r2 = "—" if sc is None else f"{sc[0]:.4f} / {sc[1]:.4f}"
        lines.append(f"| {run['name']} | {layout}{' (rule)' if in_rule else ''} | {kind} {latent} | {seed} | "
                     f"{run['psnr']:.2f} | {real} | {gap} | {r2} | {words} ({run['status']}) |")
    want = [("candidate", "strip", 512, s) for s in STRIP_SEEDS] + [("candidate", "crop", 2048, WIDE_SEED)]
    missing = [f"{k[1]} {k[2]} seed {k[3]}" for k in want if k not in found]
    if missing:
        return lines, f"incomplete: no candidate run for {', '.join(missing)}; no verdict"
    if any(v is None for c in verdicts for v in c.values()):
        return lines, "incomplete: a check of the rule could not be measured (scores or real frames missing); no verdict"
    ok = all(v for c in verdicts for v in c.values())
    return lines, ("every check holds → the presets' spatial latent becomes at most 64 positions (large excepted)"
                   if ok else "a check fails → the default layout stays")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("root", type=Path, nargs="?", default=ROOT, help="folder searched for results.json files")
    p.add_argument("--scores", nargs="*", default=[], metavar="NAME=JSON",
                   help="strip_invariant.py output of the strip run whose results folder is NAME")
    p.add_argument("--out", type=Path, help="also write the report here (markdown)")
    args = p.parse_args(argv)
    scores = {}
    for item in args.scores:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"--scores takes NAME=JSON, got {item!r}")
        scores[name] = strip_scores(Path(path))
    found, pca_psnr = runs(args.root)
    lines, verdict = decide(found, pca_psnr, scores)
    text = "\n".join(["# The candidate layout (at most 64 grid positions) against its rule", "",
                      (f"Strips' PCA 512 on the default generator: {pca_psnr:.2f} dB (check pca: val PSNR ≥ "
                      f"{pca_psnr + PCA_MARGIN:.2f})."), "", *lines, "", f"**Rule:** {verdict}.", ""])
    return print_report(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
