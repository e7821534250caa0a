"""``aecnn train``: train an autoencoder on a folder of frames (or on synthetic droplets).

Options come from, in rising priority: the defaults, the resumed run's config (``--resume``),
a YAML file (``--config``; keys are the option names) and the flags typed here. The resolved
config is written to ``RUN_DIR/config.yaml``. Several GPUs: ``torchrun --nproc_per_node N -m
aecnn train ...`` (``--batch-size`` is per process).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from aecnn.cli.aliases import add_positional_alias
from aecnn.cli.common import add_model_arguments, add_size_argument, model_overrides

# exactness of a resumed run depends on these; changing them on --resume gets a warning
_RESUME_SENSITIVE = ("data", "synthetic", "synthetic_kind", "synthetic_sequences", "synthetic_frames", "input_size",
                     "height", "resize_mode", "val_fraction", "seed", "batch_size", "grad_accum", "loss",
                     "ib_weight", "lr", "schedule", "warmup_epochs", "ema", "amp")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from aecnn.data.dataset import RESIZE_MODES
    from aecnn.train.config import AMP_MODES, SCHEDULES, SYNTH_KINDS

    flag = {"default": None}
    d = p.add_argument_group("data")
    d.add_argument("--data", help="folder of frames: one sub-folder per sequence (PNG, JPEG, BMP, TIFF, .npy/.npz)")
    add_positional_alias(d, "data", "--data", "DATA", "folder of frames")
    d.add_argument("--synthetic", action="store_true", help="train on synthetic droplet videos made in memory", **flag)
    d.add_argument("--synthetic-kind", choices=SYNTH_KINDS, help="201x201 crops (default) or 1280-wide, 152-high strips")
    d.add_argument("--synthetic-sequences", type=int, help="synthetic sequences (default 16)")
    d.add_argument("--synthetic-frames", type=int, help="frames per synthetic sequence (default 32)")
    add_size_argument(p, default=None)
    d.add_argument("--height", type=int, help="fixed height, width kept; batches hold one width each")
    d.add_argument("--resize-mode", choices=RESIZE_MODES, help="how frames reach the size (default resize)")
    d.add_argument("--val-fraction", type=float, help="fraction of sequences held out (default 0.2)")
    d.add_argument("--seed", type=int, help="seed of the split, the weights and the data order (default 0)")
    d.add_argument("--strict", action="store_true", help="stop at the first unreadable file (default: skip it)",
                   **flag)
    d.add_argument("--cache-dir", help="where decoded frames are cached (default ~/.cache/aecnn/frames)")
    d.add_argument("--workers", type=int, help="DataLoader workers (default 0 on CPU, up to 8 on CUDA)")
    add_model_arguments(p)
    p.set_defaults(preset=None)  # None = not typed, so YAML and --resume can set it (default: small)
    o = p.add_argument_group("optimisation")
    o.add_argument("--epochs", type=int, help="total epochs (default 20; on --resume, the new total)")
    o.add_argument("--batch-size", help="per process, or 'auto' (largest that fits on CUDA; default 32)")
    o.add_argument("--lr", type=float, help="peak learning rate (default 1e-3)")
    o.add_argument("--weight-decay", type=float, help="AdamW weight decay (default 1e-4)")
    o.add_argument("--schedule", choices=SCHEDULES, help="after warm-up (default cosine)")
    o.add_argument("--warmup-epochs", type=float, help="linear warm-up length (default 1)")
    o.add_argument("--min-lr-ratio", type=float, help="cosine floor / lr (default 0.01)")
    o.add_argument("--plateau-patience", type=int, help="plateau: epochs before the LR is cut (default 2)")
    o.add_argument("--plateau-factor", type=float, help="plateau: LR multiplier (default 0.5)")
    o.add_argument("--early-stop", type=int, metavar="PATIENCE", help="stop after this many epochs without improvement")
    o.add_argument("--ema", type=float, metavar="DECAY", help="keep EMA weights (e.g. 0.999), used for val/best")
    o.add_argument("--loss", help="mse, l1, ssim, msssim or a mix like mse:0.8,ssim:0.2 (default mse)")
    o.add_argument("--ib-weight", type=float, help="information-bottleneck weight on 0.5*mean(latent^2)")
    o.add_argument("--grad-accum", type=int, help="micro-batches per optimizer step (default 1)")
    o.add_argument("--clip-grad", type=float, metavar="NORM", help="clip the gradient norm")
    h = p.add_argument_group("hardware")
    h.add_argument("--device", help="auto (default), cpu, cuda, cuda:1")
    h.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    h.add_argument("--amp", choices=AMP_MODES, help="auto (default): bf16 on GPUs that have it, fp16 else, "
                                                    "fp32 on CPU")
    h.add_argument("--compile", action="store_true", help="torch.compile the model", **flag)
    h.add_argument("--channels-last", action="store_true", help="channels_last memory format", **flag)
    h.add_argument("--max-memory", help="cap GPU memory, e.g. 8GiB (rehearse a smaller card)")
    r = p.add_argument_group("run folder")
    r.add_argument("--out", help="run folder (default runs/train; with --resume RUN_DIR: RUN_DIR)")
    r.add_argument("--config", help="YAML file of options (flags win)")
    r.add_argument("--resume", metavar="RUN_DIR", help="continue a run exactly (its last.ckpt)")
    r.add_argument("--overwrite", action="store_true", help="start afresh in a run folder that holds a run", **flag)
    r.add_argument("--save-every", type=int, metavar="N", help="also keep epoch_XXX.ckpt every N epochs")
    r.add_argument("--recon-every", type=int, metavar="N", help="keep recon_epoch_XXX.png every N epochs (default 5)")
    r.add_argument("--save-val-latents", action="store_true", help="write val_latents.npz at the end", **flag)
    r.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar", **flag)
    r.add_argument("--no-tensorboard", dest="tensorboard", action="store_false", help="no TensorBoard events",
                   **flag)


def typed_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options the user typed, as TrainConfig keys (model options under ``model``)."""
    from dataclasses import fields

    from aecnn.train.config import TrainConfig

    names = {f.name for f in fields(TrainConfig)} - {"model"}
    out = {k: v for k, v in vars(args).items() if k in names and v is not None}
    model = model_overrides(args)
    if model:
        out["model"] = model
    return out


def resolve_config(args: argparse.Namespace, warn: Any = print) -> Any:
    """defaults < resumed run's config < ``--config`` YAML < typed flags."""
    from aecnn.train.checkpointing import find_checkpoint, load_training_checkpoint
    from aecnn.train.config import load_yaml, merge_config

    flags = typed_options(args)
    base: dict[str, Any] = {}
    if flags.get("resume"):
        ckpt_path = find_checkpoint(flags["resume"])
        base = dict(load_training_checkpoint(ckpt_path).get("train_config") or {})
        for k in ("resume", "overwrite"):
            base.pop(k, None)
        flags.setdefault("out", str(ckpt_path.parent))
    yaml_layer = load_yaml(args.config) if getattr(args, "config", None) else {}
    cfg = merge_config(base, yaml_layer, flags)
    if base:
        now = cfg.to_dict()
        changed = [k for k in _RESUME_SENSITIVE if k in base and base[k] != now[k]]
        if changed:
            warn(f"note: resuming with changed {', '.join(changed)}: the continuation will not match an "
                 "uninterrupted run")
    return cfg


def run(args: argparse.Namespace) -> int:
    from aecnn.train import train

    main = int(os.environ.get("RANK", "0")) == 0
    cfg = resolve_config(args, warn=print if main else (lambda _m: None))
    result = train(cfg, report=lambda m: print(m, flush=True))
    if main:
        _summary(Path(cfg.out), result)
    return stopped_status(result.stopped)


def stopped_status(stopped: str | None) -> int:
    """Exit status of a training: 0 when it ran to its end (or stopped early on its own), else the
    shell's 128 + signal number (130 for Ctrl-C, 143 for SIGTERM), so ``aecnn train ... && next``
    does not go on with an unfinished model. The checkpoint is saved either way."""
    import signal

    if stopped in (None, "early_stop"):
        return 0
    sig = getattr(signal, str(stopped), signal.SIGINT)
    return 128 + int(sig)


def _summary(run_dir: Path, result: Any) -> None:
    from aecnn.text import plural

    last = result.last or {}
    if result.stopped not in (None, "early_stop"):
        return  # the trainer already said where the checkpoint is and how to resume
    print(f"done: {plural(result.epochs_done, 'epoch')}, {plural(result.step, 'step')}"
          + (f" (early stop at epoch {result.epochs_done})" if result.stopped == "early_stop" else ""))
    if last and last.get("val_psnr") == last.get("val_psnr"):  # not NaN: there was a validation set
        print(f"  final val PSNR {last.get('val_psnr', float('nan')):.2f} dB, SSIM "
              f"{last.get('val_ssim', float('nan')):.4f}; best epoch {result.best.get('epoch')}")
    spikes = getattr(result, "spikes", [])
    if spikes:
        peak = max(spikes, key=lambda s: s.ratio)
        print(f"  {plural(len(spikes), 'loss spike')} (from step{'s' if len(spikes) > 1 else ''} "
              f"{', '.join(str(s.start) for s in spikes)}; largest {peak.ratio:.0f}x at step {peak.at}): "
              "a repeat with another --seed may end higher")
    print(f"  run folder: {run_dir}  (last.ckpt, best.ckpt, model_state_dict.pt, model.safetensors, metrics.csv, "
          "loss_curve.png, reconstructions.png, attention.png, config.yaml)")
