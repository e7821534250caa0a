"""``aecnn synth``: write synthetic droplet videos to a folder (the embedded default dataset).

Example::

    aecnn synth --out data/synth --sequences 8 --frames 32 --seed 0
    aecnn synth --out data/old_blur --set blur_sigma=0.8 --set blur_spread=0.8,1.25   # a generator variant
    aecnn synth --out data/again --config data/synth/synth_config.json               # the same frames again

writes ``data/synth/strips/seq_000/frame_000000.png ...``, ``data/synth/crops/...``,
``metadata.csv`` (one row per sequence, with its hidden viscosity), ``frames.csv`` and
``synth_config.json`` (every generator setting, which ``--config`` reads back).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from aecnn.cli.errors import CLIError

#: SynthConfig fields with their own option (``--set`` does not take them)
_OWN_OPTION = {"n_sequences": "sequences", "frames_per_sequence": "frames", "seed": "seed",
               "strip_size": "strip_size", "crop_size": "crop_size", "viscosity_range": "viscosity_range"}


def _set_item(text: str) -> tuple[str, object]:
    """argparse type of ``--set``: see :func:`aecnn.data.synth.parse_override`."""
    from aecnn.data.synth import parse_override

    try:
        return parse_override(text, exclude=tuple(_OWN_OPTION))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from aecnn.data.synth import KINDS, SynthConfig

    d = SynthConfig()
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--sequences", type=int, default=None, metavar="N",
                        help=f"number of sequences (experiments), default {d.n_sequences}")
    parser.add_argument("--frames", type=int, default=None, metavar="N",
                        help=f"frames per sequence, default {d.frames_per_sequence}")
    parser.add_argument("--seed", type=int, default=None, metavar="N", help=f"random seed, default {d.seed}")
    parser.add_argument("--kinds", nargs="+", choices=sorted(KINDS), default=list(KINDS), metavar="KIND",
                        help="what to write: strip (full width) and/or crop (centred on the drop); default both")
    parser.add_argument("--strip-size", type=int, nargs=2, default=None, metavar=("H", "W"),
                        help=f"strip height and width, default {d.strip_size[0]} {d.strip_size[1]}")
    parser.add_argument("--crop-size", type=int, nargs=2, default=None, metavar=("H", "W"),
                        help=f"crop height and width, default {d.crop_size[0]} {d.crop_size[1]}")
    parser.add_argument("--viscosity-range", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                        help=f"viscosity range, sampled log-uniformly (default {d.viscosity_range[0]} "
                        f"{d.viscosity_range[1]})")
    parser.add_argument("--set", dest="overrides", action="append", type=_set_item, default=[],
                        metavar="FIELD=VALUE", help="any other generator setting (SynthConfig field), e.g. "
                        "blur_sigma=0.8 or aspect_range=0.96,1.15 (repeatable)")
    parser.add_argument("--config", metavar="JSON", default=None,
                        help="start from a dataset's synth_config.json (options given here override it)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier synthetic dataset in --out (a folder holding anything else is "
                             "never written into)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _read_config(path: str) -> dict:
    """The fields of a ``synth_config.json``; a clear error for a missing, unreadable or foreign file."""
    from aecnn.data.synth import SynthConfig

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CLIError(f"cannot read --config {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CLIError(f"--config {path} is not a JSON file: {exc}") from None
    if not isinstance(data, dict):
        raise CLIError(f"--config {path}: expected a JSON object of SynthConfig fields")
    unknown = sorted(set(data) - set(SynthConfig.__dataclass_fields__))
    if unknown:
        raise CLIError(f"--config {path}: unknown generator settings {', '.join(unknown)} "
                       "(written by a newer aecnn, or not a synth_config.json)")
    return data


def run(args: argparse.Namespace) -> int:
    from aecnn.data.synth import SynthConfig, write_dataset

    fields = _read_config(args.config) if args.config else {}
    for field, option in _OWN_OPTION.items():
        value = getattr(args, option)
        if value is not None:
            fields[field] = tuple(value) if isinstance(value, list) else value
    fields.update(dict(args.overrides))
    try:
        cfg = SynthConfig(**fields)
    except (TypeError, ValueError) as exc:
        where = f" (with --config {args.config})" if args.config else ""
        raise CLIError(f"invalid option{where}: {exc}") from None
    kinds = tuple(dict.fromkeys(args.kinds))
    start = time.perf_counter()
    strip_h, strip_w = cfg.strip_size
    if "strip" in kinds and strip_h > strip_w:
        print(f"warning: --strip-size is H W: {strip_h}x{strip_w} strips are taller than wide (the users' strips "
              f"are {strip_w}-wide? then --strip-size {strip_w} {strip_h})", file=sys.stderr)
    out = write_dataset(args.out, cfg, kinds=kinds, progress=not args.no_progress and sys.stderr.isatty(),
                        overwrite=args.overwrite)
    n = cfg.n_sequences * cfg.frames_per_sequence
    what = " + ".join(f"{n} {k}" for k in kinds)
    print(f"wrote {what} frames ({cfg.n_sequences} sequences x {cfg.frames_per_sequence} frames) "
          f"to {out} in {time.perf_counter() - start:.1f} s")
    return 0
