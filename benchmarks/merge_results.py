"""Merge the runs of several ``eval-quality`` outputs into one table and one PSNR-versus-latent figure.

A long-budget latent sweep does not fit one 10-minute device call, so its latents are run in
separate calls (each with the same data, recipe and images seen); this puts them back together. A
run (frame kind, method, latent, budget) that appears in more than one file is taken from the first.

    python3 benchmarks/merge_results.py benchmarks/quality_results/2026-12-02-recipe/crop/results.json \\
        benchmarks/quality_results/2026-12-02-recipe/crop_b/results.json \\
        benchmarks/quality_results/2026-12-02-presets/sweep/results.json \\
        --out benchmarks/quality_results/2026-12-02-presets/merged
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from aecnn.quality.report import markdown_table, psnr_latent_figure


def merge(paths: list[str]) -> dict:
    runs, seen, sources = [], set(), []
    first = None
    for p in paths:
        res = json.loads(Path(p).read_text())
        first = first or res
        sources.append({"file": str(p), "env": res["meta"].get("env", {})})
        for r in res["runs"]:
            key = (r["kind"], r["method"], r["latent"], r["budget"])
            if key not in seen:
                seen.add(key)
                runs.append(r)
    meta = dict(first["meta"])
    meta["sources"] = sources
    return {"meta": meta, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", nargs="+", help="results.json files, the first one wins on repeated runs")
    p.add_argument("--out", required=True, help="folder for results.json, results.md and fig_psnr_latent.png")
    a = p.parse_args(argv)
    merged = merge(a.results)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(merged, indent=1))
    src = "\n".join(f"- `{s['file']}`: {s['env']}" for s in merged["meta"]["sources"])
    (out / "results.md").write_text(f"# Merged quality results\n\nSources:\n\n{src}\n\n{markdown_table(merged)}\n")
    psnr_latent_figure(merged, out / "fig_psnr_latent.png")
    print(f"{len(merged['runs'])} runs -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
