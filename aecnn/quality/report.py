"""Tables, target checks and figures of the quality benchmark (from the results dict)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from aecnn.quality.plan import CONTROL, LATE_LSTM, METHODS

ORDER = {m: i for i, m in enumerate(METHODS)}
COMPARED = tuple(m for m in METHODS if m != CONTROL)  # the control reconstructs nothing: no gap line, no figure


def saved_results(root: Path):
    """``(path, results)`` of every benchmark ``results.json`` under ``root``, in path order; merged tables
    (they repeat their sources' runs) and files of other tools (a probe's, a fit's) are left out."""
    import json

    for path in sorted(Path(root).rglob("results.json")):
        if "merged" in path.relative_to(root).parts:
            continue
        try:
            res = json.loads(path.read_text())
            res["meta"]["config"], res["runs"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        yield path, res


def display_path(path: Path) -> str:
    """``path`` relative to the working directory where it lies below it (for reports that name their
    source files), else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def print_report(text: str, out: Path | None) -> int:
    """A benchmark script's markdown report: printed, and written atomically to ``out`` when given; exit code 0."""
    from aecnn.io import atomic_write_text

    print(text, end="" if text.endswith("\n") else "\n")
    if out:
        atomic_write_text(out, text)
    return 0


def preset_name(config: dict) -> str:
    """The preset as run: its name, and the model options that changed it (``--quick`` shrinks the
    channels, so its "tiny" or "small" is not the preset of that name)."""
    over = ", ".join(f"{k}={'-'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                     for k, v in config.get("model_overrides") or ())
    return f"{config['preset']} [{over}]" if over else config["preset"]


def label(method: str, preset: str) -> str:
    return {"pca": "PCA", "v1": "V1 (users')", "seed": f"seed 4x4 bottleneck ({preset})",
            "aecnn-conv": f"aecnn {preset} conv", "aecnn-spatial": f"aecnn {preset} spatial",
            CONTROL: f"aecnn {preset} spatial, untrained (control)"}.get(method, method)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _f(v, fmt: str = ".2f") -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)


def _sorted(runs: list[dict]) -> list[dict]:
    return sorted(runs, key=lambda r: (r["kind"] != "crop", r["budget"] != "images", r["latent"],
                                       ORDER.get(r["method"], 99)))


def find(results: dict, kind: str, method: str, latent: int, budget: str = "images") -> dict | None:
    for r in results["runs"]:
        if (r["kind"], r["method"], r["latent"], r["budget"]) == (kind, method, latent, budget) and r["status"] == "ok":
            return r
    return None


def markdown_table(results: dict) -> str:
    preset = preset_name(results["meta"]["config"])
    k = results["meta"]["config"].get("seq_reduce", 0)
    head = ("| frames | budget | latent | method | images seen | train s | train img/s | params | val PSNR dB | "
            f"SSIM | band PSNR dB | R² LSTM | R² ridge | R² LSTM {k} PCs + drop motion | real PSNR dB | "
            "real band dB | synth−real dB |")
    lines = [head, "|" + " --- |" * (head.count("|") - 1)]
    for r in _sorted(results["runs"]):
        m, rm = r.get("metrics") or {}, r.get("real_metrics") or {}
        if r["status"] not in ("ok", "cut"):  # a cut training has scores: shown, marked, never a target
            lines.append(f"| {r['kind']} | {r['budget']} | {r['latent']} | {label(r['method'], preset)} | "
                         f"{r['status']}: {r['note']} |" + " |" * 12)
            continue
        gap = m.get("psnr") - rm["psnr"] if rm.get("psnr") is not None and m.get("psnr") is not None else None
        lines.append(
            f"| {r['kind']} | {r['budget']} | {r['latent']} | {label(r['method'], preset)}"
            f"{' (cut at the deadline)' if r['status'] == 'cut' else ''} | {r['images_seen']:,} | "
            f"{_f(r['train_seconds'], '.1f')} | {_f(r['train_ips'], ',.0f')} | {r['params'] / 1e6:.2f}M | "
            f"{_f(m.get('psnr'))} | {_f(m.get('ssim'), '.4f')} | {_f(m.get('band_psnr'))} | {_f(r['r2_lstm'], '.3f')} | "
            f"{_f(r['r2_ridge'], '.3f')} | {_f(r.get('r2_lstm_pc'), '.3f')} | {_f(rm.get('psnr'))} | "
            f"{_f(rm.get('band_psnr'))} | {_f(gap)} |")
    return "\n".join(lines)


def _check(name: str, value: float | None, need: float, unit: str = "dB", difference: bool = True,
           why: str = "") -> str:
    """One target line; ``difference``: ``value`` is a margin over another method (printed signed);
    ``why``: the reason printed when ``value`` is missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"- {name}: NOT MEASURED" + (f" ({why})" if why else "")
    ok = value >= need
    spec = ("+" if difference else "") + (".3f" if unit == "R²" else ".2f")
    return f"- {name}: {value:{spec}} {unit} (need ≥ {need:{spec}}) → {'MET' if ok else 'MISSED'}"


def targets(results: dict) -> str:
    """The issue's targets, checked against the measured numbers."""
    ref = results["meta"]["config"]["reference_latent"]
    out = []

    def d(a: dict | None, b: dict | None, key: str = "psnr") -> float | None:
        if a is None or b is None:
            return None
        return a["metrics"].get(key) - b["metrics"].get(key)

    # the presets' default (spatial) first, then the flat bottleneck
    strategies = (("aecnn-spatial", "aecnn spatial (default)"), ("aecnn-conv", "aecnn conv"))
    for budget in ("images", "seconds"):
        for m, label in strategies:
            ae = find(results, "crop", m, ref, budget)
            if ae is None:
                continue
            for other, name, need in (("pca", "PCA", 3.0), ("v1", "V1", 1.5)):
                o = find(results, "crop", other, ref, budget)
                out.append(_check(f"crop L={ref}, same {budget}: {label} − {name}", d(ae, o), need,
                                  why="" if o is not None else f"no {name} run at this budget"))
    for kind in ("crop", "strip"):
        for lat in sorted({r["latent"] for r in results["runs"] if r["kind"] == kind}):
            for m, label in strategies:
                a, s = find(results, kind, m, lat), find(results, kind, "seed", lat)
                if a and s:
                    out.append(_check(f"{kind} L={lat}: {label} − seed 4x4", d(a, s), 2.0))
    for kind in ("crop", "strip"):
        pca, control = find(results, kind, "pca", ref), find(results, kind, CONTROL, ref)
        for m, label in strategies:
            ae = find(results, kind, m, ref)
            if ae is None:
                continue
            for reg in ("r2_lstm", "r2_ridge", "r2_lstm_pc"):
                v = ae.get(reg)
                if reg == "r2_lstm_pc" and (v is None or math.isnan(v)):
                    continue  # not run (seq_reduce 0, or a results.json from before it existed)
                why = "not finished by the deadline" if LATE_LSTM in ae.get("note", "") else ""
                out.append(_check(f"{kind} L={ref}: {reg} of {label}", v, 0.95, "R²", difference=False, why=why))
                if pca is not None and v is not None and pca.get(reg) is not None:
                    out.append(_check(f"{kind} L={ref}: {reg} {label} − PCA", v - pca[reg], 0.0, "R²"))
                if control is not None and _finite(v) and _finite(control.get(reg)):
                    out.append(f"- {kind} L={ref}: {reg} {label} − untrained control = {v - control[reg]:+.3f} R² "
                               "(not a target; an R² target shows what training gave only where this is above 0)")
    for kind in ("crop", "strip"):
        for m in COMPARED:
            r = find(results, kind, m, ref)
            if r and r.get("real_metrics"):
                gap = r["metrics"]["psnr"] - r["real_metrics"]["psnr"]
                flag = "more than 6 dB: generator needs work" if gap > 6 else "within 6 dB"
                out.append(f"- {kind} L={ref} {m}: synthetic val − real PSNR = {gap:+.2f} dB ({flag})")
    return "\n".join(out)


# ----------------------------------------------------------------------------- figures


def _window(img: np.ndarray, width: int) -> slice:
    dark = img < 128
    rows = dark.mean(1) > 0.5
    dark[rows] = False
    cx = int(np.nonzero(dark)[1].mean()) if dark.any() else img.shape[1] // 2
    x0 = int(np.clip(cx - width // 2, 0, max(img.shape[1] - width, 0)))
    return slice(x0, x0 + width)


def _methods_at(results: dict, kind: str, latent: int) -> list[str]:
    return [m for m in COMPARED if find(results, kind, m, latent) is not None]


def recon_figure(results: dict, samples: dict, kind: str, path: Path) -> Path | None:
    """Original and each method's reconstruction (reference latent, images budget) of the same
    validation frames (and real frames, if any), side by side."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref, preset = results["meta"]["config"]["reference_latent"], preset_name(results["meta"]["config"])
    methods = _methods_at(results, kind, ref)
    if not methods or kind not in samples.get("val", {}):
        return None
    val = samples["val"][kind]
    real = samples.get("real", {}).get(kind)
    if kind == "crop":
        cols = [("synthetic", val[i], i, "val") for i in range(len(val))]
        cols += [("real", real[i], i, "real") for i in range(min(2, len(real)))] if real is not None else []
    else:
        cols = [("synthetic", val[0], 0, "val"), ("synthetic", val[-1], len(val) - 1, "val")]
        cols += [("real", real[i], i, "real") for i in range(min(2, len(real)))] if real is not None else []
    width = 480 if kind == "strip" else None
    n_r, n_c = len(methods) + 1, len(cols)
    cell = (2.0, 2.0) if kind == "crop" else (4.2, 1.5)
    fig, axes = plt.subplots(n_r, n_c, figsize=(cell[0] * n_c, cell[1] * n_r + 0.4), squeeze=False)
    for j, (src, img, i, which) in enumerate(cols):
        win = _window(img, width) if width else slice(None)
        axes[0, j].imshow(img[:, win], cmap="gray", vmin=0, vmax=255)
        axes[0, j].set_title(f"{src} #{i}" + (" (zoom)" if width else ""), fontsize=8)
        for k, m in enumerate(methods, start=1):
            r = find(results, kind, m, ref)
            rec = samples.get((kind, m, ref, "images"), {}).get(which)
            ax = axes[k, j]
            if rec is not None:
                ax.imshow(rec[i][:, win], cmap="gray", vmin=0, vmax=255)
            if j == 0:
                ax.set_ylabel(f"{label(m, preset)}\n{r['metrics']['psnr']:.1f} dB", fontsize=7)
    axes[0, 0].set_ylabel("original", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{kind}s, latent {ref}, same images seen (PSNR = mean over the validation set)", fontsize=9)
    return _save(fig, path)


def psnr_latent_figure(results: dict, path: Path) -> Path | None:
    """Validation PSNR (solid) and outline-band PSNR (dashed) against latent size."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    preset = preset_name(results["meta"]["config"])
    kinds = [k for k in ("crop", "strip") if any(r["kind"] == k for r in results["runs"])]
    if not kinds:
        return None
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 3.8), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        for k, m in enumerate(COMPARED):
            pts = sorted((r["latent"], r["metrics"]["psnr"], r["metrics"].get("band_psnr")) for r in results["runs"]
                         if r["kind"] == kind and r["method"] == m and r["budget"] == "images" and r["status"] == "ok")
            if not pts:
                continue
            x = [p[0] for p in pts]
            ax.plot(x, [p[1] for p in pts], "o-", color=f"C{k}", label=label(m, preset))
            ax.plot(x, [p[2] for p in pts], "x--", color=f"C{k}", alpha=0.6)
        ax.set_xscale("log", base=2)
        _label_axes(ax, "latent size", "val PSNR dB (solid), outline band (dashed)", f"{kind}s, same images seen", 7)
    return _save(fig, path)


def _label_axes(ax, xlabel: str, ylabel: str, title: str, legend_size: int) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=legend_size)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def loss_figure(results: dict, path: Path) -> Path | None:
    """Training-loss curves (log scale) of every trained network, one panel per frame kind."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    preset = preset_name(results["meta"]["config"])
    runs = _trained(results)
    kinds = [k for k in ("crop", "strip") if any(r["kind"] == k for r in runs)]
    if not kinds:
        return None
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 3.8), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        for r in _sorted([r for r in runs if r["kind"] == kind]):
            x, y = zip(*r["loss_curve"])
            style = "-" if r["budget"] == "images" else ":"
            ax.plot(x, y, style, color=f"C{METHODS.index(r['method']) % 10}", alpha=0.85,
                    label=f"{label(r['method'], preset)} L={r['latent']} ({r['budget']})")
        ax.set_yscale("log")
        _label_axes(ax, "images seen", "training MSE (segment mean)", f"{kind}s", 6)
    return _save(fig, path)


def training_warnings(results: dict) -> str:
    """One line per trained network whose loss rose before the end of its training, or spiked during
    it (:func:`aecnn.quality.loop.loss_rose`, :func:`~aecnn.quality.loop.loss_spike` on its ``loss_curve``)."""
    from aecnn.quality.loop import loss_rose, loss_spike

    preset = preset_name(results["meta"]["config"])
    return "\n".join(f"- {r['kind']} {label(r['method'], preset)} L={r['latent']} ({r['budget']}): {note}"
                      for r in _sorted(_trained(results))
                      for note in (loss_rose(r["loss_curve"]), loss_spike(r["loss_curve"])) if note)


def _trained(results: dict) -> list[dict]:
    """The runs that trained a network and recorded its loss curve (not the seconds row that repeats
    the reference run)."""
    return [r for r in results["runs"] if r["status"] == "ok" and r.get("loss_curve")
            and not r.get("note", "").startswith("same run as")]


def write_figures(results: dict, samples: dict, out: Path) -> list[Path]:
    """The figures under ``out``; a figure that fails is logged and left out."""
    import logging

    paths = []
    jobs = ((recon_figure, (results, samples, "crop", out / "fig_recon_crop.png")),
            (recon_figure, (results, samples, "strip", out / "fig_recon_strip.png")),
            (psnr_latent_figure, (results, out / "fig_psnr_latent.png")),
            (loss_figure, (results, out / "fig_loss.png")))
    for fn, args in jobs:
        try:
            p = fn(*args)
        except Exception:
            logging.getLogger(__name__).exception("figure %s failed", args[-1])
            continue
        if p is not None:
            paths.append(p)
    return paths


def write_report(results: dict, samples: dict, out: Path, figures: bool = True) -> list[Path]:
    """``results.json``, ``results.md`` and (with ``figures``) the figures under ``out``."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.json", out / "results.md"]
    paths[0].write_text(json.dumps(results, indent=1))
    meta = results["meta"]
    md = ["# Quality benchmark results", "", (f"- images seen per network: {meta.get('images_seen')} (crops), "
                                              f"{meta.get('strip_images_seen')} (strips); seconds budget "
                                              f"S = {_f(meta.get('seconds'), '.1f')} s"),
          f"- total {_f(meta.get('total_seconds'), '.0f')} s; environment: {meta.get('env', {})}", "",
          markdown_table(results), "", "## Targets", "", targets(results), ""]
    warnings = training_warnings(results)
    if warnings:
        md += ["## Training warnings", "", warnings, ""]
    paths[1].write_text("\n".join(md))
    if figures:
        paths += write_figures(results, samples, out)
    return paths
