"""Command-line interface: ``aecnn <command> [...]``.

Each sub-command lives in its own module ``aecnn.cli.<name>`` exposing
``add_arguments(parser)`` and ``run(args) -> int``; this module only dispatches.
Every module can also be called in-process as ``aecnn.cli.main([name, ...])``.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from aecnn.cli.aliases import merge_positional_aliases
from aecnn.cli.errors import CLIError

# name -> (module, one-line help). Modules are imported lazily so `aecnn info`
# does not pay for matplotlib or the training stack.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("aecnn.cli.info", "parameters, GFLOP and latent shape of a model"),
    "demo": ("aecnn.cli.demo", "train the tiny preset on synthetic droplets (CPU, ~3 min)"),
    "synth": ("aecnn.cli.synth", "write synthetic droplet videos to a folder"),
    "train": ("aecnn.cli.train", "train an autoencoder on a folder of frames"),
    "reconstruct": ("aecnn.cli.reconstruct", "reconstruct images and report PSNR/SSIM"),
    "embed": ("aecnn.cli.embed", "write latents of every frame, in frame order"),
    "track": ("aecnn.cli.track", "write where the drop is in every frame (for fit-sequence)"),
    "visualize": ("aecnn.cli.visualize", "attention matrix and saliency figure"),
    "recalibrate-bn": ("aecnn.cli.recalibrate_bn", "recompute BatchNorm statistics of a checkpoint from frames"),
    "export-onnx": ("aecnn.cli.export_onnx", "export encoder/decoder to ONNX and check them"),
    "fit-sequence": ("aecnn.cli.fit_sequence", "fit an LSTM on latent sequences"),
    "bench": ("aecnn.cli.bench", "GPU/CPU throughput and memory benchmark"),
    "eval-quality": ("aecnn.cli.eval_quality", "quality benchmark against PCA, V1, seed"),
}


def _available() -> dict[str, tuple[str, str]]:
    out = {}
    for name, (mod, helptext) in COMMANDS.items():
        if importlib.util.find_spec(mod) is not None:
            out[name] = (mod, helptext)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aecnn", description="Grayscale image autoencoders.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (mod, helptext) in _available().items():
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks")
        importlib.import_module(mod).add_arguments(p)
        p.set_defaults(_module=mod, _parser=p)  # _parser: errors found after parsing name the command
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``aecnn`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # argparse would blame "aecnn" and show the top-level usage; name the command instead
        getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    module = importlib.import_module(args._module)
    try:
        merge_positional_aliases(args)
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print(f"aecnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except (CLIError, ValueError, FileNotFoundError, PermissionError, OSError, RuntimeError) as exc:
        if args.debug:
            raise
        print(f"aecnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
