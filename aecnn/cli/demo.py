"""``aecnn demo``: train the tiny preset on synthetic droplet videos, on CPU, in about 3 minutes.

It renders the synthetic default in memory (201x201 crops centred on the drop, 24
sequences of 32 frames, each sequence with its hidden viscosity), brings the crops to
96x96 (bilinear, antialiased) so two CPU cores get through enough epochs, trains, and
leaves a run folder with checkpoints, ``metrics.csv``, ``reconstructions.png``,
``loss_curve.png``, ``attention.png`` and ``val_latents.npz`` (latents of the validation
frames with their sequence names, frame indices and the hidden viscosity per sequence).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from aecnn.cli.common import at_least

DEMO = {"synthetic": True, "synthetic_kind": "crop", "synthetic_sequences": 24, "synthetic_frames": 32,
        "input_size": (96, 96), "resize_mode": "resize", "preset": "tiny", "batch_size": 16, "lr": 3e-3,
        "schedule": "cosine", "warmup_epochs": 0.5, "val_fraction": 0.2, "recon_every": 4,
        "save_val_latents": True, "overwrite": True, "device": "cpu"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="runs/demo", help="run folder (default runs/demo; an earlier demo run there is "
                   "replaced, any other run only with --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace a run there that is not a demo run")
    p.add_argument("--epochs", type=at_least(1), default=10, help="epochs (default 10, about 3 minutes on 2 cores)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--threads", type=int, help="CPU threads (default: the cores not busy with other work)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def auto_threads() -> tuple[int, str]:
    """torch's thread count, less the cores other processes keep busy (1-minute load average).

    On a 2-core machine shared with other jobs, two OpenMP threads spend their time waiting
    for each other: measured 4.6 img/s with 2 threads against 34 img/s with 1 (load ~5).
    """
    import os

    import torch

    n = torch.get_num_threads()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return n, "load unknown"
    free = max(1, int((os.cpu_count() or n) - load + 0.5))
    return min(n, free), f"load average {load:.1f} on {os.cpu_count()} cores"


def _other_run(out: Path) -> bool:
    """True when ``out`` holds a training run that an earlier ``aecnn demo`` did not make."""
    import yaml

    if not (out / "last.ckpt").is_file() and not (out / "best.ckpt").is_file():
        return False
    try:
        cfg = yaml.safe_load((out / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return True
    return not all(cfg.get(k) == (list(v) if isinstance(v, tuple) else v) for k, v in DEMO.items()
                   if k in ("synthetic", "synthetic_kind", "synthetic_sequences", "input_size", "preset"))


def run(args: argparse.Namespace) -> int:
    from aecnn.cli.errors import CLIError
    from aecnn.train import TrainConfig, train

    if not args.overwrite and _other_run(Path(args.out)):
        raise CLIError(f"{args.out} holds a training run that is not a demo run: pick another --out, or pass "
                       "--overwrite to replace it")

    threads, why = (args.threads, "--threads") if args.threads else auto_threads()
    cfg = TrainConfig(**{**DEMO, "out": args.out, "epochs": args.epochs, "seed": args.seed, "device": args.device,
                         "progress": args.progress, "threads": threads})
    print(f"aecnn demo: tiny preset on synthetic droplet crops ({cfg.synthetic_sequences} sequences x "
          f"{cfg.synthetic_frames} frames, 201x201 -> {cfg.input_size[0]}x{cfg.input_size[1]}), "
          f"{cfg.epochs} epochs on {cfg.device}" + (f" with {threads} thread(s) ({why})" if cfg.device == "cpu" else ""),
          flush=True)
    t0 = time.perf_counter()
    result = train(cfg, report=lambda m: print(m, flush=True))
    out = Path(cfg.out)
    last = result.last
    if result.stopped not in (None, "early_stop"):  # the trainer said where the checkpoint is and how to resume
        from aecnn.cli.train import stopped_status

        return stopped_status(result.stopped)
    print(f"\ndemo finished in {time.perf_counter() - t0:.0f} s: final validation PSNR {last['val_psnr']:.2f} dB, "
          f"SSIM {last['val_ssim']:.4f} (best epoch {result.best.get('epoch')})")
    print(f"run folder {out}/:")
    for name, what in (("best.ckpt", "checkpoint (aecnn.checkpoint.load_model)"),
                       ("model_state_dict.pt", "plain state_dict for torch.load"),
                       ("metrics.csv", "per-epoch loss, PSNR, SSIM, lr, images/s"),
                       ("reconstructions.png", "validation frames and their reconstructions"),
                       ("loss_curve.png", "loss and PSNR/SSIM per epoch"),
                       ("attention.png", "input, reconstruction, attention matrix, saliency"),
                       ("val_latents.npz", "latents of the validation frames + hidden viscosity")):
        mark = "" if (out / name).exists() else "  (missing)"
        print(f"  {name:<22} {what}{mark}")
    print(f"continue training with: aecnn train --resume {out} --epochs {cfg.epochs + 10}")
    return 0
