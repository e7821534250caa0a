"""``aecnn recalibrate-bn CKPT FRAMES... --out NEW.ckpt``: BatchNorm statistics recomputed from frames.

After a short training (fewer than about 66 batches) BatchNorm's running statistics still hold part of
their starting values, and every eval-mode command (reconstruct, embed, visualize) normalises with them
(:mod:`aecnn.batchnorm`). This command averages them afresh over the given frames, read and batched as
``aecnn reconstruct`` reads them, and writes a new checkpoint; the weights and the input file are unchanged.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from aecnn.cli.common import add_checkpoint_arguments, at_least
from aecnn.cli.errors import CLIError


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_checkpoint_arguments(p)
    p.add_argument("inputs", nargs="+", metavar="FRAMES",
                   help="image files, folders (recursive) or glob patterns: frames like those the model will see")
    p.add_argument("--out", "-o", required=True, help="checkpoint to write (must not exist yet; .safetensors "
                   "writes that format, anything else an aecnn checkpoint)")
    p.add_argument("--batch-size", type=at_least(1), default=16, help="images per forward pass (default 16)")
    p.add_argument("--max-images", type=at_least(1), default=None, help="use at most this many frames, spread "
                   "evenly over the inputs (default: all)")
    p.add_argument("--strict", action="store_true", help="stop at the first unreadable image (default: skip it "
                   "with a warning)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm.auto import tqdm

    from aecnn.batchnorm import RECALIBRATED, recalibrate
    from aecnn.checkpoint import save_checkpoint, save_safetensors
    from aecnn.cli.common import load_model_from_args
    from aecnn.inference.reconstruct import _batches, check_writable_dir, expand_inputs

    out = Path(args.out).expanduser()
    if out.exists() or out.is_symlink():
        raise CLIError(f"--out {out} exists: give a new file name (the command never overwrites a checkpoint)")
    check_writable_dir(out.parent)
    paths = expand_inputs(args.inputs)
    if args.max_images is not None and len(paths) > args.max_images:
        step = len(paths) / args.max_images
        paths = [paths[int(i * step)] for i in range(args.max_images)]
    model = load_model_from_args(args, warn_stale=False)  # stale statistics are why it runs
    device = next(model.parameters()).device
    skipped: list[tuple[str, str]] = []
    bar = tqdm(total=len(paths), unit="img", desc="recalibrating BatchNorm", disable=args.no_progress)

    def tensors():
        for batch in _batches(paths, args.batch_size, skipped=None if args.strict else skipped):
            bar.update(len(batch))
            yield torch.stack([torch.from_numpy(i.pixels)[None] for i in batch]).to(device)

    try:
        n_batches, n_images = recalibrate(model, tensors())
    finally:
        bar.close()
    info = {"images": n_images, "batches": n_batches, "batch_size": args.batch_size,
            "source": str(Path(args.checkpoint).expanduser())}
    (save_safetensors if out.suffix == ".safetensors" else save_checkpoint)(out, model, **{RECALIBRATED: info})
    note = f"; {len(skipped)} unreadable frame{'' if len(skipped) == 1 else 's'} skipped" if skipped else ""
    print(f"BatchNorm statistics recomputed over {n_images} frame{'' if n_images == 1 else 's'} "
          f"({n_batches} batch{'' if n_batches == 1 else 'es'}){note}: wrote {out}")
    return 0
