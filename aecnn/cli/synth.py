"""``aecnn synth``: write synthetic droplet videos to a folder (the embedded default dataset).

Example::

    aecnn synth --out data/synth --sequences 8 --frames 32 --seed 0

writes ``data/synth/strips/seq_000/frame_000000.png ...``, ``data/synth/crops/...``,
``metadata.csv`` (one row per sequence, with its hidden viscosity) and ``frames.csv``.
"""
from __future__ import annotations

import argparse
import sys
import time

from aecnn.cli.errors import CLIError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from aecnn.data.synth import KINDS, SynthConfig

    d = SynthConfig()
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--sequences", type=int, default=d.n_sequences, metavar="N",
                        help=f"number of sequences (experiments), default {d.n_sequences}")
    parser.add_argument("--frames", type=int, default=d.frames_per_sequence, metavar="N",
                        help=f"frames per sequence, default {d.frames_per_sequence}")
    parser.add_argument("--seed", type=int, default=d.seed, metavar="N", help=f"random seed, default {d.seed}")
    parser.add_argument("--kinds", nargs="+", choices=sorted(KINDS), default=list(KINDS), metavar="KIND",
                        help="what to write: strip (full width) and/or crop (centred on the drop); default both")
    parser.add_argument("--strip-size", type=int, nargs=2, default=list(d.strip_size), metavar=("H", "W"),
                        help=f"strip height and width, default {d.strip_size[0]} {d.strip_size[1]}")
    parser.add_argument("--crop-size", type=int, nargs=2, default=list(d.crop_size), metavar=("H", "W"),
                        help=f"crop height and width, default {d.crop_size[0]} {d.crop_size[1]}")
    parser.add_argument("--viscosity-range", type=float, nargs=2, default=list(d.viscosity_range),
                        metavar=("LO", "HI"), help="viscosity range, sampled log-uniformly (default %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from aecnn.data.synth import SynthConfig, write_dataset

    try:
        cfg = SynthConfig(
            n_sequences=args.sequences,
            frames_per_sequence=args.frames,
            strip_size=tuple(args.strip_size),
            crop_size=tuple(args.crop_size),
            viscosity_range=tuple(args.viscosity_range),
            seed=args.seed,
        )
    except ValueError as exc:
        raise CLIError(f"invalid option: {exc}") from None
    kinds = tuple(dict.fromkeys(args.kinds))
    start = time.perf_counter()
    out = write_dataset(args.out, cfg, kinds=kinds, progress=not args.no_progress and sys.stderr.isatty())
    n = cfg.n_sequences * cfg.frames_per_sequence
    what = " + ".join(f"{n} {k}" for k in kinds)
    print(f"wrote {what} frames ({cfg.n_sequences} sequences x {cfg.frames_per_sequence} frames) "
          f"to {out} in {time.perf_counter() - start:.1f} s")
    return 0
