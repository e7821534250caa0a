"""Write an untrained aecnn network as a checkpoint: the control for the sequence stage (CPU, instant).

A seeded network at its initial weights, saved like a trained one, so every script that reads checkpoints
(``seq_repeats.py``, ``strip_invariant.py``, ``latent_probe.py`` through a cache, ``r2_criterion.py``) scores
its latents exactly as it scores a trained network's. What the sequence stage reaches from these latents is
what it reaches without any training (QUALITY.md, "Twentieth session": at 512 on crops, 0.973 against
PCA latents' 0.967).

    PYTHONPATH=$PWD python3 benchmarks/untrained_checkpoint.py --out /tmp/rand0.pt --seed 0                  # small, 201x201, 512
    PYTHONPATH=$PWD python3 benchmarks/untrained_checkpoint.py --out /tmp/rand8.pt --set spatial_channels=8
    PYTHONPATH=$PWD python3 benchmarks/untrained_checkpoint.py --out /tmp/strip.pt --input-size 152 1280
"""
from __future__ import annotations

import argparse
import sys

import torch

from aecnn.checkpoint import save_checkpoint
from aecnn.models import PRESETS, AutoEncoderConfig
from aecnn.quality.plan import CONTROL, build_model


def parse_field(text: str) -> tuple[str, int]:
    """``"FIELD=INT"`` -> ``(field, value)`` for an integer field of :class:`AutoEncoderConfig`."""
    key, _, value = text.partition("=")
    fields = sorted(AutoEncoderConfig.__dataclass_fields__)
    if key not in fields or not value.strip().isdigit():
        raise ValueError(f"--set {text!r}: expected FIELD=INTEGER with FIELD a model config field ({', '.join(fields)})")
    return key, int(value)


def build(preset: str, input_size: tuple[int, int], latent: int, seed: int, overrides: dict) -> torch.nn.Module:
    """The preset's network for ``input_size`` and ``latent``, at the initial weights ``seed`` gives: the
    benchmark's own control (``eval-quality --methods untrained`` at ``--train-seed SEED``), built by it."""
    torch.manual_seed(seed)
    return build_model(CONTROL, preset, tuple(input_size), latent, overrides)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="checkpoint to write")
    p.add_argument("--preset", choices=list(PRESETS), default="small")
    p.add_argument("--input-size", type=int, nargs=2, default=(201, 201), metavar=("H", "W"))
    p.add_argument("--latent", type=int, default=512)
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="a model config field, e.g. spatial_channels=8 or max_grid_positions=64 (repeatable)")
    args = p.parse_args(argv)
    try:
        overrides = dict(parse_field(item) for item in args.set)
        model = build(args.preset, args.input_size, args.latent, args.seed, overrides)
    except (TypeError, ValueError) as exc:
        p.error(str(exc))
    try:
        path = save_checkpoint(args.out, model, untrained={"seed": args.seed})
    except OSError as exc:
        raise SystemExit(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {path}: untrained {args.preset}, input {args.input_size[0]}x{args.input_size[1]}, latent "
          f"{args.latent} laid out {tuple(model.latent_shape)}, seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
