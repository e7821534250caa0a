"""Turning a ``--device`` string into a ``torch.device``, one way for every command."""
from __future__ import annotations

import torch


def resolve_device(name: str | torch.device | None = "auto", local_rank: int | None = None) -> torch.device:
    """``'auto'``/None -> CUDA if available else CPU; anything else as given, validated.

    Args:
        name: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        local_rank: with it, a CUDA device without an index becomes ``cuda:local_rank`` (DDP).

    Raises:
        ValueError: an unknown device string, or CUDA asked for on a machine without it.
    """
    if name is None or str(name) == "auto":
        dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            dev = torch.device(name)
        except RuntimeError as exc:
            raise ValueError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"--device {name}: CUDA is not available here (torch {torch.__version__}); "
                             "use --device cpu")
    if dev.type == "cuda" and dev.index is None and local_rank is not None:
        dev = torch.device("cuda", local_rank)
    return dev
