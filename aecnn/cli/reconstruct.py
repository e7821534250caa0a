"""``aecnn reconstruct CKPT INPUT... --out DIR``: reconstructions, error maps and PSNR/SSIM/MSE.

Also holds the checkpoint options shared by the inference commands (``embed``, ``visualize``,
``export-onnx``): aecnn checkpoints need none; plain V1-style state_dicts need ``--preset`` /
``--latent-size`` (and ``--input-size`` if not 201x201).
"""
from __future__ import annotations

import argparse

from aecnn.models import PRESETS


def add_checkpoint_arguments(p: argparse.ArgumentParser, positional: bool = True) -> None:
    """CKPT (positional, or ``--checkpoint``), device and the flags for plain state_dict files."""
    if positional:
        p.add_argument("checkpoint", metavar="CKPT", help="aecnn checkpoint (.pt), .safetensors or plain state_dict")
    g = p.add_argument_group("plain state_dict files (aecnn checkpoints carry their config)")
    g.add_argument("--preset", "--model_size", "--model-size", choices=list(PRESETS), default=None,
                   help="preset the state_dict was trained with")
    g.add_argument("--latent-size", "--latent_size", "--embedding-dim", "--embedding_dim", type=int, default=None,
                   dest="latent_size", help="latent size the state_dict was trained with")
    g.add_argument("--model-input-size", nargs=2, type=int, metavar=("H", "W"), default=None,
                   help="input_size (H W) the state_dict was trained with (default 201 201)")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:N")


def load_model_from_args(args: argparse.Namespace):
    """The model of ``args.checkpoint`` on ``args.device``, in eval mode."""
    from aecnn.checkpoint import load_model
    from aecnn.inference.reconstruct import resolve_device

    device = resolve_device(args.device)
    size = getattr(args, "model_input_size", None)
    return load_model(args.checkpoint, map_location=device, preset=args.preset, latent_size=args.latent_size,
                      input_size=tuple(size) if size else None)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_checkpoint_arguments(p)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders (recursive) or glob patterns")
    p.add_argument("--out", "-o", required=True, help="output folder (recon/, compare/, metrics.csv)")
    p.add_argument("--batch-size", type=int, default=16, help="images per forward pass (default 16)")
    p.add_argument("--no-figures", action="store_true", help="skip the side-by-side comparison PNGs (faster)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from aecnn.inference.reconstruct import check_writable_dir, expand_inputs, reconstruct_files

    expand_inputs(args.inputs)  # fail on bad inputs before loading the model
    check_writable_dir(args.out)
    model = load_model_from_args(args)
    summary = reconstruct_files(model, args.inputs, args.out, batch_size=args.batch_size,
                                figures=not args.no_figures, progress=not args.no_progress)
    print(summary.line())
    return 0
