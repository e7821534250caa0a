"""``aecnn reconstruct CKPT INPUT... --out DIR``: reconstructions, error maps and PSNR/SSIM/MSE."""
from __future__ import annotations

import argparse

from aecnn.cli.common import add_checkpoint_arguments, at_least, load_model_from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_checkpoint_arguments(p)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (recursive) or glob patterns")
    p.add_argument("--out", "-o", required=True, help="output folder (recon/, compare/, metrics.csv)")
    p.add_argument("--batch-size", type=at_least(1), default=16, help="images per forward pass (default 16)")
    p.add_argument("--no-figures", action="store_true", help="skip the side-by-side comparison PNGs (faster)")
    p.add_argument("--strict", action="store_true", help="stop at the first unreadable image (default: skip it "
                   "with a warning and count it in the summary)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from aecnn.inference.reconstruct import check_writable_dir, expand_inputs, reconstruct_files

    expand_inputs(args.inputs)  # fail on bad inputs before loading the model
    check_writable_dir(args.out)
    model = load_model_from_args(args)
    summary = reconstruct_files(model, args.inputs, args.out, batch_size=args.batch_size,
                                figures=not args.no_figures, progress=not args.no_progress, strict=args.strict)
    print(summary.line())
    return 0
