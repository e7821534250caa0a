"""aecnn: grayscale image autoencoders (AutoEncoder CNN V3)."""
from __future__ import annotations

from aecnn.models import (
    BLOCKS,
    PRESETS,
    Autoencoder_CNN,
    AutoEncoder_CNNV3,
    AutoEncoderConfig,
    create_autoencoder,
)

__version__ = "0.1.0"

__all__ = [
    "BLOCKS",
    "PRESETS",
    "AutoEncoderConfig",
    "AutoEncoder_CNNV3",
    "Autoencoder_CNN",
    "__version__",
    "create_autoencoder",
]
