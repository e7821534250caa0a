"""Checkpoints that rebuild themselves, written atomically.

A checkpoint is a dict saved with :func:`torch.save` that loads with
``torch.load(weights_only=True)``::

    {"format": "aecnn-checkpoint", "version": "0.1.0", "model_config": {...},
     "model": state_dict, ...anything the trainer adds (optimizer, scheduler, rng, epoch...)}

Plain ``state_dict`` files (what the users' V1 code saves) and ``.safetensors`` files (with the
config JSON in their metadata) load too. Keys from a ``torch.compile``d module (``_orig_mod.``)
are stripped; we never write them.
"""
from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aecnn.io import atomic_write
from aecnn.models import AutoEncoder_CNNV3, AutoEncoderConfig, create_autoencoder

FORMAT = "aecnn-checkpoint"
logger = logging.getLogger(__name__)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module under ``torch.compile`` (``_orig_mod``) and DDP (``module``) wrappers."""
    while True:
        if hasattr(model, "_orig_mod"):
            model = model._orig_mod
        elif isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        else:
            return model


def clean_state_dict(state: dict[str, Any]) -> dict[str, Any]:
    """Drop ``_orig_mod.`` and leading ``module.`` from keys."""
    out = {}
    for k, v in state.items():
        k = k.replace("_orig_mod.", "")
        out[k.removeprefix("module.")] = v
    return out


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """:func:`torch.save` ``obj`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def make_checkpoint(model: nn.Module, **extra: Any) -> dict[str, Any]:
    """Checkpoint dict for ``model`` (unwrapped) plus ``extra`` entries."""
    from aecnn import __version__

    base = unwrap(model)
    return {"format": FORMAT, "version": __version__, "model_config": base.get_config(),
            "model": clean_state_dict(base.state_dict()), **extra}


def save_checkpoint(path: str | os.PathLike, model: nn.Module, **extra: Any) -> Path:
    """Write a self-describing checkpoint atomically."""
    return atomic_save(make_checkpoint(model, **extra), path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint or plain state_dict file with ``weights_only=True``.

    Returns:
        The checkpoint dict; a plain state_dict comes back as ``{"model": state_dict}``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is truncated, corrupt or not a checkpoint.
    """
    path = Path(path)
    if path.is_dir():  # a run folder: its best checkpoint, as `aecnn train --resume` takes the folder too
        found = next((path / n for n in ("best.ckpt", "last.ckpt") if (path / n).is_file()), None)
        if found is None:
            raise FileNotFoundError(f"{path} is a folder without best.ckpt or last.ckpt: pass a checkpoint file")
        path = found
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        return _load_safetensors(path, map_location)
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 -- torch raises several types for truncated/garbage files
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
        if found:  # a readable pickle of objects, not of tensors
            raise ValueError(f"{path} holds pickled Python objects ({found.group(1)}: a whole model saved with "
                             "torch.save(model)?), "
                             "which aecnn does not unpickle, as that can run any code; save model.state_dict() "
                             "instead and load it with the preset / latent size it was built with") from None
        if path.stat().st_size == 0:
            raise ValueError(f"{path} is empty (0 bytes): not a checkpoint") from None
        # torch's own first line can advise weights_only=False (unsafe unpickling): not passed on
        detail = "" if "Weights only load failed" in str(exc) else (
            f": {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        raise ValueError(f"{path} is not a readable checkpoint (truncated or corrupt?){detail}") from None
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        if not isinstance(obj.get("model"), dict):
            raise ValueError(f"{path} is an aecnn checkpoint without its 'model' weights (damaged or "
                             "written by something else)")
        obj["model"] = clean_state_dict(obj["model"])
        return obj
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return {"model": clean_state_dict(obj)}
    raise ValueError(f"{path} is not an aecnn checkpoint or a state_dict (found {type(obj).__name__})")


def _load_safetensors(path: Path, map_location: Any) -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file, safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
        state = load_file(str(path), device=str(map_location))
    except (SafetensorError, OSError) as exc:
        raise ValueError(f"{path} is not a readable safetensors file: {exc}") from None
    out: dict[str, Any] = {"model": clean_state_dict(state)}
    if "model_config" in meta:
        out.update(format=FORMAT, model_config=json.loads(meta["model_config"]), version=meta.get("version"))
        for k, v in meta.items():  # entries save_safetensors(**extra) wrote, JSON-encoded
            if k not in out:
                try:
                    out[k] = json.loads(v)
                except ValueError:
                    out[k] = v
    return out


def save_safetensors(path: str | os.PathLike, model: nn.Module, **extra: Any) -> Path:
    """Weights as safetensors with the model config (and ``extra`` entries, as JSON) in the metadata
    (diffusers-style)."""
    from safetensors.torch import save_file

    from aecnn import __version__

    base = unwrap(model)
    state = {k: v.detach().contiguous() for k, v in clean_state_dict(base.state_dict()).items()}
    meta = {"model_config": json.dumps(base.get_config()), "version": __version__,
            **{k: json.dumps(v) for k, v in extra.items()}}
    return atomic_write(path, lambda tmp: save_file(state, tmp, metadata=meta))


def state_dict_mismatch(expected: dict[str, torch.Tensor], found: dict[str, Any], show: int = 3) -> str:
    """One line on how ``found`` differs from ``expected``: keys missing, unexpected, and of another shape."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    shapes = [f"{k} {tuple(found[k].shape)} in the file, {tuple(v.shape)} in the model"
              for k, v in expected.items() if k in found and tuple(getattr(found[k], "shape", ())) != tuple(v.shape)]
    parts = []
    for what, items in (("missing", missing), ("unexpected", unexpected), ("of another shape", shapes)):
        if items:
            more = f" and {len(items) - show} more" if len(items) > show else ""
            parts.append(f"{len(items)} {what} ({'; '.join(items[:show])}{more})")
    return ", ".join(parts) or "the weights differ in a way the key / shape check does not show"


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu", *,
               preset: str | None = None, latent_size: int | None = None,
               input_size: tuple[int, int] | None = None, eval_mode: bool = True) -> AutoEncoder_CNNV3:
    """Rebuild the model stored in ``path`` (no architecture flags needed for aecnn checkpoints).

    Plain state_dict files carry no config: pass ``preset`` and/or ``latent_size`` (and
    ``input_size`` if it was not 201x201); without a preset the V3 defaults are used.

    Raises:
        FileNotFoundError, ValueError: missing file, unreadable file, or weights that do not
            fit the architecture (the message says which flags to pass).
    """
    return model_from_checkpoint(load_checkpoint(path, map_location), path, map_location, preset=preset,
                                 latent_size=latent_size, input_size=input_size, eval_mode=eval_mode)


def model_from_checkpoint(ckpt: dict[str, Any], path: str | os.PathLike, map_location: str | torch.device = "cpu",
                          *, preset: str | None = None, latent_size: int | None = None,
                          input_size: tuple[int, int] | None = None, eval_mode: bool = True) -> AutoEncoder_CNNV3:
    """:func:`load_model` for a checkpoint dict already read by :func:`load_checkpoint` from ``path``."""
    if "model_config" in ckpt:
        given = [n for n, v in (("preset", preset), ("latent_size", latent_size), ("input_size", input_size))
                 if v is not None]
        if given:
            logger.warning("%s carries its own architecture; ignoring %s (meant for plain state_dict files)",
                           path, ", ".join(given))
        model = AutoEncoder_CNNV3.from_config(ckpt["model_config"])
    else:
        overrides: dict[str, Any] = {}
        if latent_size is not None:
            overrides["latent_size"] = latent_size
        if input_size is not None:
            overrides["input_size"] = tuple(input_size)
        model = (create_autoencoder(preset, **overrides) if preset
                 else AutoEncoder_CNNV3(config=AutoEncoderConfig(**overrides)))
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError:
        hint = "" if "model_config" in ckpt else (
            " (a plain state_dict: give the preset, latent size and input size it was trained with: "
            "--preset / --latent-size / --model-input-size, or load_model(preset=, latent_size=, input_size=))")
        raise ValueError(f"weights in {path} do not fit the model{hint}: "
                         f"{state_dict_mismatch(model.state_dict(), ckpt['model'])}") from None
    model.to(map_location)
    return model.eval() if eval_mode else model
