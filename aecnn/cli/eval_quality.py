"""``aecnn eval-quality``: the quality benchmark (PCA, V1, seed bottleneck, aecnn presets).

Examples::

    aecnn eval-quality --quick --out /tmp/q                      # CPU smoke run, < 1 min
    aecnn eval-quality --device cuda --out results/ --real-dir ../shared/data/droplet_frames
"""
from __future__ import annotations

import argparse
import datetime
import logging
import platform
import subprocess
import sys
from pathlib import Path

from aecnn.cli.common import at_least, fraction, model_overrides, positive
from aecnn.cli.errors import CLIError
from aecnn.models import PRESETS

DEFAULT_REAL = ("../shared/data/droplet_frames", ".device_data/droplet_frames")
# the checkout aecnn runs from (an editable install): its commit is recorded, and the default real-frame
# folders are looked up beside it as well as in the current folder
REPO = Path(__file__).resolve().parents[2]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="CPU smoke run at toy sizes (< 60 s), for CI")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda, cuda:N (--quick: cpu)")
    p.add_argument("--out", "-o", required=True, help="output folder (results.json, results.md, figures; "
                   "results.partial.json while it runs)")
    p.add_argument("--latents", nargs="+", type=at_least(1), help="crop latent sizes (default 128 512 2048)")
    p.add_argument("--strip-latents", nargs="+", type=at_least(1), help="strip latent sizes (default 512)")
    p.add_argument("--reference-latent", type=at_least(1), help="latent of the target comparisons (default 512)")
    p.add_argument("--images-seen", type=at_least(1), help="images each network sees on crops (default: fitted to "
                   "--train-budget from measured throughput)")
    p.add_argument("--strip-images-ratio", type=positive, help="strip images seen as a fraction of --images-seen "
                   "(default 0.25)")
    p.add_argument("--seconds", type=positive, help="training seconds of the same-time comparison (default: the "
                   "time aecnn's default (spatial) took for its images at the reference latent)")
    p.add_argument("--seconds-methods", nargs="*", metavar="METHOD",
                   help="networks also trained for the same GPU seconds at the reference latent (default v1; "
                   "none: give the flag alone)")
    p.add_argument("--train-budget", type=positive, help="seconds of training to fit --images-seen to (default 170)")
    p.add_argument("--deadline", type=positive, help="seconds the whole run may take: runs that would end later "
                   "are skipped, a training still going near it is stopped, scored and marked 'cut', and the wait for "
                   "sequence-stage fits ends 10 s before it (their LSTM R² left out)")
    p.add_argument("--preset", choices=list(PRESETS), help="aecnn preset (default small; --quick: tiny)")
    p.add_argument("--spatial-channels", type=at_least(1), help="channels of aecnn's spatial latent (default: the preset's, "
                   "the fewest that fit: 2 x 16 x 16 at latent 512 on crops; 8 gives 8 x 8 x 8); aecnn-spatial only, "
                   "so --methods must leave out aecnn-conv and seed")
    p.add_argument("--max-grid-positions", type=at_least(16), help="most positions of aecnn's spatial latent grid "
                   "(default: the preset's, 256; 64 lays latent 512 on crops out as 8 x 8 x 8 and on 1280 x 152 strips as "
                   "16 x 2 x 16); aecnn-spatial only, as --spatial-channels")
    p.add_argument("--blocks-per-stage", type=at_least(0), help="blocks per encoder / decoder stage of every aecnn network "
                   "(and the seed bottleneck's; default: the preset's, 1)")
    p.add_argument("--kinds", nargs="+", choices=("crop", "strip"), help="frame kinds (default both)")
    p.add_argument("--methods", nargs="+", help="subset of pca v1 seed aecnn-conv aecnn-spatial untrained (default "
                   "all; untrained: the control, aecnn spatial at its initial weights, scored and never trained)")
    p.add_argument("--train-sequences", type=at_least(2), help="synthetic training sequences (default 192)")
    p.add_argument("--val-sequences", type=at_least(2), help="held-out synthetic sequences (default 64)")
    p.add_argument("--batch-size", type=at_least(1), help="training batch (default 32, as aecnn train)")
    p.add_argument("--lr", type=positive, help="peak learning rate (default 1e-3, as aecnn train)")
    p.add_argument("--beta2", type=fraction, help="AdamW's second-moment decay (default 0.99, as aecnn train; "
                   "every benchmark run before 2026-12-06 used torch's 0.999: give --beta2 0.999 to repeat one)")
    p.add_argument("--recipe", choices=("bench", "train"), help="optimiser and schedule: aecnn train's (default: "
                   "weight decay on weights only, one-epoch warm-up, 1 %% floor, no clipping) or the benchmark's own "
                   "(weight decay on every parameter, 3 %% warm-up, cosine to 0, gradient clipping at 1), which every "
                   "benchmark run before the seventeenth session (2026-12-06) used: give --recipe bench to repeat one")
    p.add_argument("--train-seed", type=int, help="seed of every network's initialisation and batch order "
                   "(default 0); the data stay the same, so runs with other seeds measure training noise")
    p.add_argument("--seq-workers", type=at_least(0), help="processes for the sequence-stage fits (default 8; 0 inline)")
    p.add_argument("--real-dir", default=None, help="folder of real frames to evaluate on (default: the first of "
                   f"{', '.join(DEFAULT_REAL)} that exists; skipped when none)")
    p.add_argument("--no-real", action="store_true", help="skip the real-frame evaluation")
    p.add_argument("--commit", default=None, help="git commit to record (default: git rev-parse, if available)")
    p.add_argument("--no-figures", action="store_true", help="write only results.json and results.md")
    p.add_argument("--synth", action="append", default=[], metavar="FIELD=VALUE", type=_synth_item,
                   help="a SynthConfig field for the benchmark's synthetic data, e.g. aspect_range=0.85,1.5 or "
                   "reflection_spots=3 (repeatable; a generator variant)")
    p.add_argument("--train-state", metavar="DIR", default=None,
                   help="a training --deadline stops saves its whole state in DIR (weights, optimizer, batch order); "
                   "the same command with the same DIR continues it there instead of starting over (so one "
                   "training can span several device calls; the other rows train again) and deletes the state "
                   "once it completes. Needs --images-seen; seconds-budget rows are never saved")
    p.add_argument("--save-models", metavar="DIR", default=None,
                   help="write every trained network to DIR: aecnn as checkpoints `aecnn reconstruct` and "
                   "`aecnn.checkpoint.load_model` open, V1 as its state_dict")


def _synth_item(text: str) -> tuple[str, object]:
    """argparse type of ``--synth``: see :func:`aecnn.data.synth.parse_override`."""
    from aecnn.data.synth import parse_override
    from aecnn.quality.data import SPLIT_FIELDS

    try:
        return parse_override(text, exclude=SPLIT_FIELDS)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _config(args: argparse.Namespace):
    from aecnn.quality.plan import BenchConfig

    given = {
        "device": args.device, "latents": tuple(args.latents) if args.latents else None,
        "strip_latents": tuple(args.strip_latents) if args.strip_latents else None,
        "reference_latent": args.reference_latent, "images_seen": args.images_seen,
        "strip_images_ratio": args.strip_images_ratio, "seconds": args.seconds, "train_budget_s": args.train_budget,
        "deadline_s": args.deadline, "preset": args.preset, "kinds": tuple(args.kinds) if args.kinds else None,
        "methods": tuple(args.methods) if args.methods else None, "train_sequences": args.train_sequences,
        "val_sequences": args.val_sequences, "batch_size": args.batch_size, "lr": args.lr, "beta2": args.beta2,
        "recipe": args.recipe, "seq_workers": args.seq_workers,
        "train_seed": args.train_seed, "models_dir": args.save_models, "state_dir": args.train_state,
        "synth_overrides": tuple(args.synth) if args.synth else None,
        "seconds_methods": tuple(args.seconds_methods) if args.seconds_methods is not None else None}
    over = {k: v for k, v in given.items() if v is not None}
    if args.latents and args.reference_latent is None:
        over["reference_latent"] = 512 if 512 in args.latents else args.latents[0]
    if args.latents and not args.strip_latents:
        over["strip_latents"] = (over["reference_latent"],)
    if args.synth:  # check the variant before any rendering or training
        from aecnn.data.synth import SynthConfig

        try:
            SynthConfig(**dict(args.synth))
        except (TypeError, ValueError) as exc:
            raise CLIError(f"--synth: {exc}") from None
    given = model_overrides(args)  # --spatial-channels / --max-grid-positions / --blocks-per-stage, those given
    if given:
        over["model_overrides"] = _model_options(args, given)
    found = (c for d in DEFAULT_REAL for c in (Path(d), REPO / d) if c.is_dir())
    real = None if args.no_real else (args.real_dir or next((str(c) for c in found), None))
    over["real_dir"] = real
    cfg = BenchConfig.quick(**over) if args.quick else BenchConfig(**over)
    if given:
        _check_builds(cfg)
    return cfg


def _check_builds(cfg) -> None:
    """Build every planned network once on the CPU, before any data is rendered, so a latent the
    model options cannot lay out is refused at once with the model's own message."""
    from aecnn.quality.plan import build_model, plan

    for run in plan(cfg):
        size = cfg.crop_size if run.kind == "crop" else cfg.strip_size
        try:
            build_model(run.method, cfg.preset, size, run.latent, dict(cfg.model_overrides))
        except ValueError as exc:
            raise CLIError(f"{run.kind} {run.method} at latent {run.latent}: {exc}") from None


def _model_options(args: argparse.Namespace, given: dict) -> tuple[tuple[str, object], ...]:
    """The model overrides: the quick preset's own, then those ``given``; refuses a run whose methods would
    build a flat latent with ``--spatial-channels``, where it does not apply."""
    from aecnn.quality.plan import METHODS, BenchConfig

    flat = sorted(set(args.methods or METHODS) & {"aecnn-conv", "seed"})
    for field in ("spatial_channels", "max_grid_positions"):
        if field in given and flat:
            raise CLIError(f"--{field.replace('_', '-')} applies to the spatial latent only, but --methods includes "
                           f"{', '.join(flat)}: give e.g. --methods aecnn-spatial (and pca / v1 if wanted)")
    base = dict(BenchConfig.quick().model_overrides) if args.quick else {}
    return tuple({**base, **given}.items())


def _env(commit: str | None) -> dict:
    import torch

    if commit is None:
        try:
            commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                    text=True, timeout=5, check=True).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            commit = None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"torch": torch.__version__, "python": platform.python_version(), "gpu": gpu, "commit": commit,
            "date": datetime.date.today().isoformat(), "argv": sys.argv}


def run(args: argparse.Namespace) -> int:
    from aecnn.inference.reconstruct import check_writable_dir
    from aecnn.quality.bench import run_benchmark
    from aecnn.quality.report import markdown_table, targets, write_figures, write_report

    cfg = _config(args)
    out = check_writable_dir(args.out, create=True)
    for folder in (cfg.models_dir, cfg.state_dir):  # checked before hours of training, not after
        if folder:
            check_writable_dir(folder, create=True)
    if cfg.real_dir and args.real_dir and not Path(cfg.real_dir).is_dir():
        raise CLIError(f"--real-dir {args.real_dir} is not a folder (give --no-real to skip the real frames)")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("aecnn.quality").setLevel(logging.INFO)
    # progress beside, not over, an earlier run's results.json: a stopped run leaves that one as it was
    partial = out / "results.partial.json"
    results, samples = run_benchmark(cfg, progress_path=partial)
    results["meta"]["env"] = _env(args.commit)
    paths = write_report(results, samples, out, figures=False)
    partial.unlink(missing_ok=True)
    print(markdown_table(results))
    print()
    print(targets(results), flush=True)
    if not args.no_figures:
        paths += write_figures(results, samples, out)
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    unsaved = [r for r in results["runs"] if "could not save" in str(r.get("note", ""))]
    if unsaved:
        raise CLIError(f"{len(unsaved)} trained network(s) could not be saved to --save-models {cfg.models_dir} "
                       "(see the errors above); the results are written")
    return 0
