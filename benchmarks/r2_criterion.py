"""The R² target's pre-registered criterion (QUALITY.md, eleventh and fifteenth sessions), applied to a
``seq_repeats.py`` JSON (CPU, instant).

For each counted aecnn training and for PCA latents, the held-out R² is the mean over the LSTM seeds at
the K that cross-validation on the training sequences chose for that latent space (``cv_choice``).
The criterion holds when at least ``--min`` trainings count, their mean R² is ≥ PCA latents' from the
same run, and none is below 0.95. With ``--results ROOT`` a training counts only if its
``ROOT/**/NAME/results.json`` (``FOLDER`` for ``--count NAME=FOLDER``) shows its aecnn row completed
(a training cut by the deadline does not count). Several JSONs are pooled (trainings scored in different
sessions) when their PCA rows agree to four decimals, as seeded fits on the same data do.

    PYTHONPATH=$PWD python3 benchmarks/r2_criterion.py seq_repeats_b099_512.json --count s61 s62 s63 s64 \\
        --results benchmarks/quality_results/<session> --out r2_criterion.md
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from aecnn.quality.report import print_report

FLOOR = 0.95  # the target: R² ≥ 0.95 from aecnn latents


def cv_r2(repeats: dict, name: str) -> tuple[int, float]:
    """(K chosen by CV, mean held-out R² over the LSTM seeds at that K) of one latent space."""
    if name not in repeats.get("cv_choice", {}):
        raise SystemExit(f"{name!r} has no CV choice in the seq_repeats JSON (names there: "
                         f"{', '.join(repeats.get('cv_choice', {})) or 'none'}; was it run with --cv-folds 0?)")
    k = repeats["cv_choice"][name]["k"]
    return k, repeats["summary"][f"{name} K={k}"]["mean"]


def completed(root: Path, folder: str) -> str | None:
    """Why the training in ``folder`` does not count (no results, or cut), or None if it completed."""
    found = sorted(root.rglob(f"{folder}/results.json"))
    if len(found) != 1:
        return f"{len(found)} {folder}/results.json under {root}"
    runs = [r for r in json.loads(found[0].read_text())["runs"] if r["method"].startswith("aecnn")]
    if not runs or any(r["status"] != "ok" for r in runs):
        return f"{found[0]}: {', '.join(r['status'] for r in runs) or 'no aecnn row'}"
    return None


def decide(repeats: dict, names: list[str], minimum: int, root: Path | None = None) -> tuple[list[str], str]:
    """The report's lines and its verdict."""
    pca_k, pca = cv_r2(repeats, "PCA")
    lines = ["| latents | K by CV | held-out R² (mean over LSTM seeds) | counts |", "| --- | --- | --- | --- |",
             f"| PCA | {pca_k} | {pca:.4f} | reference |"]
    scores = []
    for item in names:
        name, _, folder = item.partition("=")
        k, r2 = cv_r2(repeats, name)
        why = completed(root, folder or name) if root is not None else None
        lines.append(f"| {name} | {k} | {r2:.4f} | {'no: ' + why if why else 'yes'} |")
        if why is None:
            scores.append(r2)
    if len(scores) < minimum:
        return lines, f"only {len(scores)} training(s) count, the criterion needs {minimum}: no verdict"
    mean = statistics.mean(scores)
    at_least = mean >= pca
    floor = min(scores) >= FLOOR
    verdict = "met" if at_least and floor else "missed"
    return lines, (f"{len(scores)} training{'s' if len(scores) != 1 else ''}; mean R² {mean:.4f} vs PCA latents' {pca:.4f} "
                   f"({mean - pca:+.4f}, {'at least' if at_least else 'below'}); lowest {min(scores):.4f} "
                   f"({'none' if floor else 'one or more'} below {FLOOR}): **{verdict}**")


def merge(files: list[Path]) -> dict:
    """One ``seq_repeats.py`` JSON from several runs scored against the same PCA latents (a pooled
    verdict over trainings scored in different sessions). Their PCA rows must agree to four decimals
    (the fits are seeded), and a model name may appear in one file only."""
    merged: dict = {"cv_choice": {}, "summary": {}}
    pca_seen: tuple[int, float, Path] | None = None
    for f in files:
        try:
            rep = json.loads(f.read_text())
        except (OSError, ValueError) as e:
            raise SystemExit(f"cannot read {f}: {e}") from None
        k, r2 = cv_r2(rep, "PCA")
        if pca_seen is not None and (k != pca_seen[0] or round(r2, 4) != round(pca_seen[1], 4)):
            raise SystemExit(f"PCA latents differ: K {pca_seen[0]}, R² {pca_seen[1]:.4f} in {pca_seen[2]} but "
                             f"K {k}, R² {r2:.4f} in {f}; a pooled verdict needs one reference")
        pca_seen = pca_seen or (k, r2, f)
        for name, choice in rep.get("cv_choice", {}).items():
            if name != "PCA" and name in merged["cv_choice"]:
                raise SystemExit(f"{name!r} is in more than one of {', '.join(map(str, files))}")
            merged["cv_choice"].setdefault(name, choice)
        for key, value in rep.get("summary", {}).items():
            merged["summary"].setdefault(key, value)
    return merged


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("repeats", type=Path, nargs="+", help="JSON written by seq_repeats.py (with CV choice); several "
                   "are pooled when their PCA rows agree")
    p.add_argument("--count", nargs="+", required=True, metavar="NAME",
                   help="the trainings the criterion counts: seq_repeats.py's model name, or NAME=FOLDER where "
                   "the training's results folder is named otherwise")
    p.add_argument("--min", type=int, default=3, help="trainings needed for a verdict (default 3)")
    p.add_argument("--results", type=Path, help="folder of the trainings' results.json (a cut training is not counted)")
    p.add_argument("--out", type=Path, help="also write the report here (markdown)")
    args = p.parse_args(argv)
    repeats = merge(args.repeats)
    lines, verdict = decide(repeats, args.count, args.min, args.results)
    text = "\n".join([f"# R² from aecnn latents vs PCA latents ({', '.join(f.name for f in args.repeats)})", "", *lines, "",
                      f"**Criterion:** {verdict}.", ""])
    return print_report(text, args.out)


if __name__ == "__main__":
    sys.exit(main())
