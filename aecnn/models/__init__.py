"""The model package: layers -> blocks -> bottleneck -> autoencoder. Imports nothing from
training, data or CLI code."""
from __future__ import annotations

from aecnn.models.autoencoder import AutoEncoder_CNNV3
from aecnn.models.blocks import BLOCKS, make_block, register_block
from aecnn.models.config import PRESETS, AutoEncoderConfig
from aecnn.models.factory import Autoencoder_CNN, create_autoencoder, preset_config

__all__ = [
           "BLOCKS",
           "PRESETS",
           "AutoEncoderConfig",
           "AutoEncoder_CNNV3",
           "Autoencoder_CNN",
           "create_autoencoder",
           "make_block",
           "preset_config",
           "register_block",
]
