"""``aecnn fit-sequence LATENTS TARGETS.csv``: LSTM on latent windows, R² and MAE on held-out sequences.

LATENTS is a file written by ``aecnn embed`` (.npz, .h5 or .pt). TARGETS.csv has a ``sequence``
column and a target column (``--target``, default ``viscosity``), e.g. the ``metadata.csv`` that
``aecnn synth`` writes. ``--frame-features FRAMES.csv`` appends per-frame columns to the latents
(by default the frame-to-frame change of ``crop_x0 crop_y0``, where each crop was cut: the drop's
speed, which crops centred on it do not show). ``--reduce K`` makes the LSTM read the first K principal
components of the latents (fitted on the training sequences; the frame features stay beside them),
which generalises better than hundreds of values when there are a few hundred sequences; ``--reduce
auto`` chooses K among ``--reduce-candidates`` by cross-validation on the training sequences;
``--reduce ensemble`` fits one LSTM per candidate K and averages their predictions (no choice);
``--reduce-method pls`` keeps partial-least-squares directions (those that co-vary with the target)
instead of principal components. With
``--out DIR``: results.json, predictions.csv, pred_vs_true.png and the trained model
(sequence_model.pt, last fold).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

from aecnn.cli.common import at_least
from aecnn.cli.errors import CLIError


def add_arguments(p: argparse.ArgumentParser) -> None:
    from aecnn.sequence.model import HEADS, SUMMARIES

    p.add_argument("latents", metavar="LATENTS", help="latent file from `aecnn embed` (.npz, .h5, .pt)")
    p.add_argument("targets", metavar="TARGETS.csv", help="CSV with a sequence column and a target column")
    p.add_argument("--target", default="viscosity", help="target column (default viscosity)")
    p.add_argument("--sequence-column", default="sequence", help="sequence column (default sequence)")
    p.add_argument("--out", "-o", default=None, help="folder for results.json, predictions.csv, pred_vs_true.png")
    f = p.add_argument_group("per-frame features appended to the latents")
    f.add_argument("--frame-features", metavar="FRAMES.csv", default=None,
                   help="per-frame CSV with sequence and frame columns, e.g. the frames.csv of `aecnn synth`")
    f.add_argument("--frame-columns", nargs="+", default=["crop_x0", "crop_y0"], metavar="COL",
                   help="its columns to append (default crop_x0 crop_y0: where each crop was cut; crops "
                        "centred on the drop lose its speed without them)")
    f.add_argument("--frame-mode", choices=("change", "value"), default="change",
                   help="change (default): each column's change from the previous frame; value: as is")
    f.add_argument("--frame-value-columns", nargs="+", default=[], metavar="COL",
                   help="further columns appended as they are, whatever --frame-mode, e.g. dark_fraction of "
                        "`aecnn track` (the drop's size) beside the change of drop_x drop_y")
    f.add_argument("--frame-column", default="frame", help="frame-number column of FRAMES.csv (default frame)")
    g = p.add_argument_group("windows and model")
    g.add_argument("--window", type=at_least(1), default=16, help="frames per window T (default 16)")
    g.add_argument("--stride", type=at_least(1), default=4, help="frames between windows S (default 4)")
    g.add_argument("--head", choices=HEADS, default="v1",
                   help="v1: mean over time then linear (the users' client); last: last time step")
    g.add_argument("--hidden", type=int, default=64, help="LSTM hidden size (default 64)")
    g.add_argument("--layers", type=int, default=1, help="LSTM layers (default 1)")
    g.add_argument("--projection", type=int, default=0, help="linear input projection size (0: none)")
    g.add_argument("--reduce", type=_reduce_arg, default=0, metavar="K|auto|ensemble",
                   help="keep the first K principal components of the latents, fitted on the training "
                        "sequences (0: all values); frame features are kept beside them. With a few hundred "
                        "sequences, a few components generalise better than 512 values. auto: choose K among "
                        "--reduce-candidates by 4-fold cross-validation on the training sequences of each "
                        "split (5x4 extra fits). ensemble: one LSTM per candidate K, their predictions averaged "
                        "(no choice to make; as many fits as candidates; helps when the candidates are about "
                        "equally good, hurts when one is clearly worse: benchmarks/QUALITY.md)")
    g.add_argument("--reduce-candidates", type=int, nargs="+", default=[2, 4, 8, 16, 32], metavar="K",
                   help="the K that --reduce auto tries or ensemble averages (default 2 4 8 16 32; those above the latent size "
                        "are skipped)")
    g.add_argument("--reduce-method", choices=("pca", "pls"), default="pca",
                   help="components --reduce keeps: pca (largest variance of the latents; default) or pls (partial "
                        "least squares: the directions along which the latents co-vary with the target, fitted "
                        "on the training sequences; needs scikit-learn)")
    g.add_argument("--latent-summary", choices=SUMMARIES, default="none",
                   help="strips, spatial (C, h, w) latents (the grid shape is read from the latent file), so a drop "
                        "sliding along the strip does not move between values. width-fft: the magnitude of the "
                        "latent's Fourier transform along the width; width-recentre: the latent minus its "
                        "per-column training mean, cut to --summary-window columns centred on the column that "
                        "deviates most (the drop). Default none")
    g.add_argument("--summary-window", type=int, default=9, metavar="COLUMNS",
                   help="columns width-recentre keeps (default 9)")
    g.add_argument("--dropout", type=float, default=0.1)
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=at_least(1), default=60)
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("--batch-size", type=at_least(1), default=32)
    t.add_argument("--val-fraction", type=float, default=0.25, help="share of sequences held out (default 0.25)")
    t.add_argument("--folds", type=int, default=0, help="K-fold cross-validation over sequences (K >= 2)")
    t.add_argument("--split", default=None, metavar="SPLIT.json",
                   help="fixed split {'train': [...], 'val': [...]}, e.g. the split.json of an `aecnn train` run: "
                        "held-out = its val sequences, unseen by the autoencoder too")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--log-target", action="store_true", help="fit log(target) (targets > 0)")
    t.add_argument("--device", default="cpu", help="cpu (default; the LSTM is small), cuda, auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _reduce_arg(text: str) -> int | str:
    if text.strip().lower() in ("auto", "ensemble"):
        return text.strip().lower()
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of components, 'auto' or 'ensemble', got {text!r}") from None


def _json_safe(obj):
    """``obj`` with non-finite floats as ``None``: strict JSON (``NaN`` is not JSON; parsers other than
    Python's refuse it)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _write_outputs(out: Path, result, target: str, meta: dict) -> None:
    from aecnn.inference.reconstruct import save_figure
    from aecnn.io import atomic_write
    from aecnn.sequence.fit import prediction_figure, save_sequence_model

    payload = _json_safe({"target": target, **meta, **result.to_dict()})  # NaN (one held-out sequence) -> null
    atomic_write(out / "results.json",
                 lambda tmp: Path(tmp).write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n"))

    def write_csv(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["sequence", "fold", "true", "pred", "n_windows"])
            w.writeheader()
            w.writerows(result.sequences)

    atomic_write(out / "predictions.csv", write_csv)
    save_figure(prediction_figure(result, target), out / "pred_vs_true.png", dpi=120)
    if result.model is not None:
        save_sequence_model(out / "sequence_model.pt", result.model, target=target, fit_config=result.config,
                            frame_features=meta.get("frame_features"))


def _summary_grid(summary: str, emb) -> tuple[int, int, int] | None:
    """The (C, h, w) latent grid ``--latent-summary`` needs, from the latent file's record."""
    if summary == "none":
        return None
    shape = emb.meta.get("latent_shape")
    if not shape or len(shape) != 3 or int(shape[0]) * int(shape[1]) * int(shape[2]) != emb.latent_size:
        raise CLIError(f"--latent-summary {summary} needs latents of a spatial (C, h, w) grid; the latent file "
                       f"records latent_shape {shape} (a flat 'conv' latent, or a file not written by `aecnn embed`)")
    return int(shape[0]), int(shape[1]), int(shape[2])


def run(args: argparse.Namespace) -> int:
    from aecnn.devices import resolve_device
    from aecnn.inference.embed import load_embeddings
    from aecnn.inference.reconstruct import check_writable_dir
    from aecnn.sequence.dataset import match_targets, read_targets
    from aecnn.sequence.fit import FitConfig, fit_sequence_model
    from aecnn.sequence.model import SequenceModelConfig

    out = check_writable_dir(args.out) if args.out else None
    emb = load_embeddings(args.latents)
    targets = read_targets(args.targets, args.target, args.sequence_column)
    seqs = emb.by_sequence()
    matched = match_targets(list(seqs), targets)
    n_extra = 0
    if args.frame_features:
        from aecnn.sequence.features import append_features, frame_features, read_frame_table

        table = read_frame_table(args.frame_features, [*args.frame_columns, *args.frame_value_columns],
                                 args.sequence_column, args.frame_column)
        seqs = append_features(seqs, frame_features(emb.frame_indices_by_sequence(), table, args.frame_mode,
                                                    keep_last=len(args.frame_value_columns)))
        n_extra = len(args.frame_columns) + len(args.frame_value_columns)
    elif args.frame_value_columns:
        raise CLIError("--frame-value-columns needs --frame-features FRAMES.csv (the table they are read from)")
    grid = _summary_grid(args.latent_summary, emb)
    # latent values the components are taken from: after the summary, if any
    if args.summary_window < 1:
        raise CLIError(f"--summary-window {args.summary_window}: must be at least 1 column")
    n_values = SequenceModelConfig(emb.latent_size, summary=args.latent_summary, grid=grid,
                                   summary_window=args.summary_window).n_values
    what = "the summary's values" if grid else "the latent size"
    ensemble = args.reduce == "ensemble"
    auto = args.reduce == "auto" or ensemble
    if auto:  # checked before any fit; the rest in FitConfig
        if min(args.reduce_candidates) > n_values:
            raise CLIError(f"--reduce-candidates {' '.join(map(str, args.reduce_candidates))}: need at least one "
                           f"<= {what} ({n_values})")
    elif args.reduce and not 0 < args.reduce <= n_values:
        raise CLIError(f"--reduce {args.reduce}: must be between 1 and {what} ({n_values})")
    try:
        cfg = FitConfig(window=args.window, stride=args.stride, hidden_size=args.hidden, num_layers=args.layers,
                        head=args.head, projection=args.projection, dropout=args.dropout, epochs=args.epochs,
                        lr=args.lr, weight_decay=args.weight_decay, batch_size=args.batch_size,
                        val_fraction=args.val_fraction, folds=args.folds, seed=args.seed, log_target=args.log_target,
                        reduce=0 if auto else args.reduce,
                        passthrough=n_extra if args.reduce or grid else 0,
                        reduce_candidates=args.reduce_candidates if auto else (), reduce_ensemble=ensemble,
                        summary=args.latent_summary,
                        grid=grid, reduce_method=args.reduce_method, summary_window=args.summary_window)
    except (TypeError, ValueError) as exc:  # e.g. a candidate K below 1
        raise CLIError(str(exc)) from None
    split = None
    if args.split:
        from aecnn.data.dataset import load_split

        split = load_split(args.split)
    result = fit_sequence_model(seqs, matched, cfg, device=resolve_device(args.device), progress=not args.no_progress,
                                split=split)
    if split:
        how = f"split from {args.split}"
    elif cfg.folds >= 2:
        how = f"{cfg.folds}-fold CV"
    else:
        how = f"held out {result.n_test_sequences}"
    extra = (f" + {len(args.frame_columns)} frame feature(s) ({args.frame_mode} of {', '.join(args.frame_columns)})"
             if args.frame_features else "")
    if args.frame_value_columns:
        extra += f" + {len(args.frame_value_columns)} as they are ({', '.join(args.frame_value_columns)})"
    kind = "PLS" if args.reduce_method == "pls" else "principal"
    if grid:
        how_summarised = ("|FFT| along its width" if args.latent_summary == "width-fft" else
                          f"{args.summary_window} columns re-centred on the drop")
        extra += f", latent grid {'x'.join(map(str, grid))} summarised by {how_summarised}"
    if ensemble:
        ks = ", ".join(map(str, result.reduce_choice[0]["reduce"]))
        extra += f", predictions averaged over LSTMs on K = {ks} {kind} components"
    elif auto:
        ks = ", ".join(f"{c['reduce']}" for c in result.reduce_choice)
        extra += f", reduced to K {kind} components chosen by cross-validation on the training sequences: {ks}"
    elif args.reduce:
        extra += f", reduced to {args.reduce} {kind} components"
    print(f"fit-sequence: {len(emb)} frames, latent size {emb.latent_size}{extra}, {len(matched)} sequences with "
          f"{args.target}; {how}")
    print(result.line())
    if out is not None:
        _write_outputs(out, result, args.target, {"latents": str(args.latents), "targets": str(args.targets),
                                                  "latent_meta_kind": emb.meta.get("kind", "autoencoder"),
                                                  "frame_features": {"file": args.frame_features,
                                                                     "columns": args.frame_columns,
                                                                     "mode": args.frame_mode,
                                                                     "value_columns": args.frame_value_columns}
                                                  if args.frame_features else None})
        print(f"wrote results.json, predictions.csv, pred_vs_true.png and sequence_model.pt to {out}")
    else:
        print("nothing saved (no --out DIR): the fitted model, predictions and figure are gone; "
              "add --out DIR to keep them")
    return 0
