"""Argument helpers shared by the sub-commands: model options, sizes, and the checkpoint options
of the inference commands (aecnn checkpoints need none; plain V1-style state_dicts need
``--preset`` / ``--latent-size``, and ``--model-input-size`` if not 201x201)."""
from __future__ import annotations

import argparse
import logging
import math
from typing import Any

from aecnn.models import BLOCKS, PRESETS
from aecnn.models.config import OUTPUT_ACTIVATIONS, STRATEGIES
from aecnn.models.layers import ACTIVATIONS, NORMS


def at_least(minimum: int):
    """argparse ``type=``: an integer >= ``minimum`` (``--workers -2`` or ``--epochs 0`` refused by name)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def positive(text: str) -> float:
    """argparse ``type=``: a finite number > 0 (a learning rate, seconds, a ratio)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def fraction(text: str) -> float:
    """argparse ``type=``: a number in (0, 1) (a decay such as AdamW's beta2)."""
    value = positive(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text}")
    return value


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """Preset plus every model option (None = keep the preset's value)."""
    g = p.add_argument_group("model")
    g.add_argument("--preset", choices=list(PRESETS), default="small",
                   help="architecture and latent size to start from (default small; the options below change it)")
    g.add_argument("--latent-size", "--latent_size", type=int, help="values in the latent (default: the preset's)")
    g.add_argument("--latent-strategy", "--latent_strategy", choices=STRATEGIES)
    g.add_argument("--blocks", "--block_config", nargs="+", choices=sorted(BLOCKS), dest="block_config")
    g.add_argument("--channels", "--channel_config", nargs="+", type=int, dest="channel_config")
    g.add_argument("--strides", "--stride_config", nargs="+", type=int, dest="stride_config")
    g.add_argument("--blocks-per-stage", type=int)
    g.add_argument("--norm", choices=NORMS)
    g.add_argument("--activation", choices=ACTIVATIONS)
    g.add_argument("--output-activation", choices=OUTPUT_ACTIVATIONS)
    g.add_argument("--no-attention", action="store_true", help="disable the bottleneck self-attention")
    g.add_argument("--attention-heads", type=int)
    g.add_argument("--bottleneck-channels", type=int)
    g.add_argument("--bottleneck-grid", nargs=2, type=int, metavar=("GH", "GW"),
                   help="force the bottleneck grid; 4 4 gives the seed's pooled bottleneck")
    g.add_argument("--spatial-channels", type=int)
    g.add_argument("--max-grid-positions", type=int,
                   help="most positions of the bottleneck grid (default 256: 2 x 16 x 16 at latent 512 on 201 x 201; "
                   "64 gives 8 x 8 x 8 there)")
    g.add_argument("--gradient-checkpointing", action="store_true")


MODEL_FIELDS = ("latent_size", "latent_strategy", "block_config", "channel_config", "stride_config",
                "blocks_per_stage", "norm", "activation", "output_activation", "attention_heads",
                "bottleneck_channels", "bottleneck_grid", "spatial_channels", "max_grid_positions")


def model_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Config overrides from parsed model arguments (only those the user gave)."""
    out = {k: getattr(args, k) for k in MODEL_FIELDS if getattr(args, k, None) is not None}
    if getattr(args, "no_attention", False):
        out["use_attention"] = False
    if getattr(args, "gradient_checkpointing", False):
        out["gradient_checkpointing"] = True
    return out


def add_size_argument(p: argparse.ArgumentParser, default: tuple[int, int] | None = (201, 201)) -> None:
    p.add_argument("--input-size", "--input_size", nargs=2, type=int, metavar=("H", "W"), default=default,
                   help="image size as H W (PyTorch order: a 1280-wide strip is 152 1280)")


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


def load_model_from_args(args: argparse.Namespace, warn_stale: bool = True):
    """The model of ``args.checkpoint`` on ``args.device``, in eval mode; with a warning when its BatchNorm
    statistics are stale (:mod:`aecnn.batchnorm`), unless ``aecnn recalibrate-bn`` wrote it."""
    from aecnn.batchnorm import RECALIBRATED, stale_batchnorm, stale_warning
    from aecnn.checkpoint import load_checkpoint, model_from_checkpoint
    from aecnn.devices import resolve_device

    device = resolve_device(args.device)
    size = getattr(args, "model_input_size", None)
    ckpt = load_checkpoint(args.checkpoint, map_location=device)
    model = model_from_checkpoint(ckpt, args.checkpoint, map_location=device, preset=args.preset,
                                  latent_size=args.latent_size, input_size=tuple(size) if size else None)
    stale = stale_batchnorm(model) if warn_stale and RECALIBRATED not in ckpt else None
    if stale is not None:
        logging.getLogger("aecnn.cli").warning("%s: %s.", args.checkpoint, stale_warning(stale))
    return model
