"""``aecnn info``: parameters, GFLOP per image and latent shape of a model."""
from __future__ import annotations

import argparse
import sys

from aecnn.cli.aliases import add_positional_alias
from aecnn.cli.common import add_model_arguments, add_size_argument, model_overrides


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arguments(p)
    p.set_defaults(preset=None)  # None = not typed: 'small' for a preset, the file's own for a checkpoint
    add_size_argument(p, default=None)  # None: the checkpoint's own input size, or 201 201 for a preset
    p.add_argument("--checkpoint", help="describe a saved model instead of a preset")
    add_positional_alias(p, "checkpoint", "--checkpoint", "CKPT", "describe this saved model instead of a preset")
    p.add_argument("--model-input-size", nargs=2, type=int, metavar=("H", "W"), default=None,
                   help="plain state_dict files: the input_size (H W) it was trained with (default 201 201)")


def run(args: argparse.Namespace) -> int:
    from aecnn.checkpoint import load_model
    from aecnn.models import create_autoencoder
    from aecnn.profiling import count_flops, count_parameters

    if args.checkpoint:
        ignored = sorted(set(model_overrides(args)) - {"latent_size"})
        if ignored:
            print(f"note: {', '.join(ignored)} ignored with a checkpoint (the file holds the architecture)",
                  file=sys.stderr)
        model = load_model(args.checkpoint, preset=args.preset, latent_size=args.latent_size,
                           input_size=tuple(args.model_input_size) if args.model_input_size else None)
        name = args.checkpoint
        size = tuple(args.input_size or model.config.input_size)  # once always 201 x 201, a strip model's too
    else:
        size = tuple(args.input_size or (201, 201))
        model = create_autoencoder(args.preset or "small", input_size=size, **model_overrides(args))
        name = f"preset {args.preset or 'small'}"
    cfg = model.config
    fwd = count_flops(model, size) / 1e9
    train = count_flops(model, size, backward=True) / 1e9
    shape = model.latent_shape
    print(f"aecnn model: {name}")
    print(f"  input (H x W):      {size[0]} x {size[1]} (padded to multiples of {model.plan.multiple})")
    print(f"  blocks / channels:  {list(cfg.block_config)} / {list(cfg.channel_config)}, strides {list(cfg.stride_config)}")
    print(f"  parameters:         {count_parameters(model):,}")
    print(f"  GFLOP per image:    {fwd:.3f} forward, {train:.3f} forward+backward")
    print(f"  latent:             {cfg.latent_size} values, strategy '{cfg.latent_strategy}', "
          f"native shape (B, {', '.join(map(str, shape))})")
    print(f"  bottleneck grid:    {model.plan.grid[0]} x {model.plan.grid[1]} positions x "
          f"{model.plan.channels} channels, attention {'on' if cfg.use_attention else 'off'}")
    return 0
