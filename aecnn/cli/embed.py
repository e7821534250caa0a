"""``aecnn embed CKPT DATA --out FILE``: latents of every frame, in sequence and frame order.

FILE's extension picks the format: ``.npz``, ``.h5`` (needs h5py) or ``.pt``. Frames are shaped
like in training: ``--input-size H W`` or ``--height H`` with ``--resize-mode``; without them the
geometry recorded in the checkpoint by the trainer is used, else the model's ``input_size``.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from aecnn.cli.common import add_checkpoint_arguments, at_least, load_model_from_args

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from aecnn.data.dataset import RESIZE_MODES

    add_checkpoint_arguments(p)
    p.add_argument("data", metavar="DATA", help="folder of frames (one sub-folder per sequence) or a stack file")
    p.add_argument("--out", "-o", required=True, help="output file: .npz, .h5 or .pt")
    g = p.add_argument_group("frames (as in training)")
    size = g.add_mutually_exclusive_group()
    size.add_argument("--input-size", "--input_size", nargs=2, type=int, metavar=("H", "W"),
                      help="bring every frame to H x W (PyTorch order: a 1280-wide strip is 152 1280)")
    size.add_argument("--height", type=int, help="bring every frame to this height, keep its width")
    g.add_argument("--resize-mode", choices=RESIZE_MODES, default=None, help="how frames are shaped (default resize)")
    g.add_argument("--cache", "--cache-dir", nargs="?", const="auto", default=None, metavar="DIR",
                   help="use (or build) the training frame cache: no value = default location, or a base folder")
    g.add_argument("--workers", type=at_least(0), default=2, help="frame-decoding worker processes (default 2)")
    g.add_argument("--strict", action="store_true", help="stop at the first unreadable frame instead of skipping it")
    p.add_argument("--batch-size", type=at_least(1), default=64, help="frames per forward pass (default 64)")
    p.add_argument("--dtype", choices=("float32", "float16"), default="float32", help="latent dtype on disk")
    p.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _find_geometry(obj: Any, depth: int = 0) -> dict | None:
    """A Geometry dict stored anywhere shallow in a checkpoint (``geometry`` key)."""
    if not isinstance(obj, dict) or depth > 3:
        return None
    g = obj.get("geometry")
    if isinstance(g, dict) and ("input_size" in g or "height" in g):
        return g
    for key, value in obj.items():
        if key in ("model", "optimizer", "scheduler", "scaler", "ema"):
            continue
        found = _find_geometry(value, depth + 1)
        if found is not None:
            return found
    return None


def checkpoint_geometry(path: str) -> dict | None:
    """The data geometry the trainer recorded in ``path``, if any (memory-mapped load: cheap)."""
    import torch

    if Path(path).suffix == ".safetensors":
        return None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001  (already loaded once by load_model; a plain file has no geometry)
        return None
    return _find_geometry(obj)


def resolve_geometry(args: argparse.Namespace, model: Any) -> Any:
    """Geometry from the flags, else from the checkpoint, else the model's input_size."""
    from aecnn.data.dataset import Geometry

    if args.input_size or args.height:
        return Geometry(tuple(args.input_size) if args.input_size else None, args.height,
                        args.resize_mode or "resize")
    stored = checkpoint_geometry(args.checkpoint)
    if stored is not None:
        geo = Geometry.from_dict(stored)
        if args.resize_mode:
            geo = Geometry(geo.input_size, geo.height, args.resize_mode)
        logger.info("using the training geometry stored in the checkpoint: %s", geo.tag)
        return geo
    return Geometry(tuple(model.config.input_size), None, args.resize_mode or "resize")


def _warn_if_distorted(frames: Any, geometry: Any) -> None:
    """Frames far from the model's shape (strips into a crop model) give latents of squashed images."""
    if not len(frames):
        return
    _seq, _idx, path, stack_index = frames.meta(0)
    why = geometry.file_distortion(path) if stack_index < 0 else None
    if why:
        logger.warning("%s: the latents describe distorted frames; embed with a model trained on frames "
                       "like these (first frame: %s)", why.split(";")[0], path)


def run(args: argparse.Namespace) -> int:
    from aecnn.inference.embed import check_format, embed_frames, open_frames
    from aecnn.inference.reconstruct import check_writable_dir

    check_format(args.out)
    check_writable_dir(Path(args.out).expanduser().parent)
    if not Path(args.data).exists():
        raise FileNotFoundError(f"data folder {args.data} does not exist")
    model = load_model_from_args(args)
    geometry = resolve_geometry(args, model)
    frames, info = open_frames(args.data, geometry, cache=args.cache, strict=args.strict,
                               progress=not args.no_progress)
    _warn_if_distorted(frames, geometry)
    meta = {"checkpoint": str(Path(args.checkpoint).resolve()), "data": info}
    summary = embed_frames(model, frames, args.out, batch_size=args.batch_size, workers=args.workers,
                           dtype=args.dtype, amp=not args.no_amp, strict=args.strict,
                           progress=not args.no_progress, meta=meta)
    print(summary.line())
    return 0
