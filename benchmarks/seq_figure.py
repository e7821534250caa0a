"""One figure of repeated sequence-stage fits (``seq_repeats.py`` JSON): the held-out R² of each
latent space with K chosen by cross-validation on the training sequences, mean ± sd over the LSTM
seeds, one group per JSON file (CPU, seconds).

    python3 benchmarks/seq_figure.py --json "512, principal=a.json" --json "512, PLS=b.json" --out fig.png
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cv_points(path: Path) -> dict[str, tuple[int, float, float]]:
    """{latent space: (K chosen by CV, mean R², sd)} of one ``seq_repeats.py`` result."""
    d = json.loads(path.read_text())
    out = {}
    for name, choice in d.get("cv_choice", {}).items():
        s = d["summary"].get(f"{name} K={choice['k']}")
        if s is not None:
            out[name] = (int(choice["k"]), float(s["mean"]), float(s["sd"]))
    if not out:
        raise ValueError(f"{path}: no cross-validated choice of K (run seq_repeats.py with --cv-folds > 1)")
    return out


def colours(names: list[str]) -> dict[str, str | tuple]:
    """One colour per latent space, all distinct: PCA (the reference) grey, the others from tab10, or
    from tab20 past nine (tab10's colours repeat after ten, which once gave PCA and a training the same)."""
    import matplotlib

    others = [n for n in names if n != "PCA"]
    cmap = matplotlib.colormaps["tab10" if len(others) <= 9 else "tab20"]
    palette = [c for i, c in enumerate(cmap.colors) if cmap.name != "tab10" or i != 7]  # tab10's 7 is grey
    if len(others) > len(palette):
        raise ValueError(f"{len(others)} latent spaces in one figure: at most {len(palette)} can be told apart")
    out: dict[str, str | tuple] = {n: palette[j] for j, n in enumerate(others)}
    if "PCA" in names:
        out["PCA"] = "0.45"
    return out


def figure(groups: list[tuple[str, dict]], out: Path, target: float = 0.95) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({n for _, g in groups for n in g}, key=lambda n: (n != "PCA", n))
    colour = colours(names)
    width = 0.8 / max(len(g) for _, g in groups)
    fig, ax = plt.subplots(figsize=(2.4 + 1.5 * len(groups), 3.6))
    shown = set()
    for i, (_, g) in enumerate(groups):
        here = [n for n in names if n in g]  # bars of a group side by side, centred on its tick
        for j, name in enumerate(here):
            k, m, s = g[name]
            x = i + (j - (len(here) - 1) / 2) * width
            ax.bar(x, m, width * 0.9, yerr=s, capsize=3, color=colour[name],
                   label=None if name in shown else name)
            shown.add(name)
            ax.annotate(f"K={k}", (x, m + s), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=7)
    ax.axhline(target, color="k", lw=0.8, ls="--")
    ax.set_xticks(range(len(groups)), [label for label, _ in groups], fontsize=8)
    lo = min(m - s for _, g in groups for _, m, s in g.values())
    ax.set_ylim(min(lo, target) - 0.01, 1.0)
    ax.set_ylabel("held-out R² (mean ± sd over LSTM seeds)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="append", required=True, metavar="LABEL=FILE",
                   help="a seq_repeats.py result and its group label (repeatable)")
    p.add_argument("--out", required=True, help="PNG figure")
    a = p.parse_args(argv)
    groups = []
    for item in a.json:
        label, sep, file = item.rpartition("=")
        if not sep or not label:
            p.error(f"--json wants LABEL=FILE, got {item!r}")
        try:
            groups.append((label, cv_points(Path(file))))
        except (OSError, ValueError, KeyError) as exc:
            p.error(f"--json {file}: {exc}")
    try:
        print(f"wrote {figure(groups, Path(a.out))}")
    except ValueError as exc:
        p.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
