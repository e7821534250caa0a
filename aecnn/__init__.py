"""aecnn: grayscale image autoencoders (AutoEncoder CNN V3)."""
from __future__ import annotations

from aecnn.models import (
    BLOCKS,
    PRESETS,
    AutoEncoder_CNNV3,
    AutoEncoderConfig,
    Autoencoder_CNN,
    create_autoencoder,
)

__version__ = "0.1.0"

__all__ = [
    "BLOCKS",
    "PRESETS",
    "AutoEncoder_CNNV3",
    "AutoEncoderConfig",
    "Autoencoder_CNN",
    "create_autoencoder",
    "__version__",
]
