"""Building models by preset name, and the V1 drop-in name."""
from __future__ import annotations

from typing import Any

from aecnn.models.autoencoder import AutoEncoder_CNNV3
from aecnn.models.config import PRESETS, AutoEncoderConfig


def preset_config(preset: str = "small", input_size: tuple[int, int] = (201, 201),
                  **overrides: Any) -> AutoEncoderConfig:
    """The config of ``preset`` at ``input_size`` (H, W) with ``overrides`` applied."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    return PRESETS[preset].replace(input_size=tuple(input_size), **overrides)


def create_autoencoder(preset: str = "small", input_size: tuple[int, int] = (201, 201),
                       **overrides: Any) -> AutoEncoder_CNNV3:
    """Build a preset ('tiny', 'small', 'medium', 'large') for ``input_size`` = (H, W).

    Any config field can be overridden, e.g. ``create_autoencoder('small', latent_strategy='spatial')``.
    """
    return AutoEncoder_CNNV3(config=preset_config(preset, input_size, **overrides))


class Autoencoder_CNN(AutoEncoder_CNNV3):
    """Drop-in for the users' V1 ``Autoencoder_CNN(DropOut=False, embedding_dim=100)``.

    Builds the V3 default architecture with ``latent_size = embedding_dim`` at 201x201; extra
    keywords go to :class:`AutoEncoder_CNNV3`.
    """

    def __init__(self, DropOut: bool = False, embedding_dim: int = 100, **kwargs: Any) -> None:
        if "config" in kwargs and embedding_dim == 100:  # V1's default: the config's latent size stands
            super().__init__(DropOut=DropOut, **kwargs)
        else:
            super().__init__(DropOut=DropOut, embedding_dim=embedding_dim, **kwargs)
