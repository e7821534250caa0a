"""Reference models that aecnn is measured against (not part of the model package's API)."""
from __future__ import annotations

from aecnn.baselines.v1 import V1_SIZE, AutoencoderV1

__all__ = ["V1_SIZE", "AutoencoderV1"]
