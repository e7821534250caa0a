"""Bad input and bad configuration get clear ValueErrors."""
from __future__ import annotations

import pytest
import torch

from aecnn import AutoEncoder_CNNV3, create_autoencoder

TINY = {"channel_config": (8, 16, 16), "attention_heads": 2, "latent_size": 64, "input_size": (64, 64)}


@pytest.fixture(scope="module")
def model():
    return AutoEncoder_CNNV3(**TINY).eval()


@pytest.mark.parametrize("x,match", [
    (torch.rand(1, 3, 64, 64), "expected 1 channel"),
    (torch.rand(1, 64, 64), "4-D"),
    (torch.rand(1, 1, 1, 64, 64), "4-D"),
    (torch.rand(1, 1, 31, 64), "below the minimum 32x32"),
    (torch.rand(1, 1, 64, 16), "below the minimum"),
    (torch.full((1, 1, 64, 64), float("nan")), "NaN or Inf"),
    (torch.full((1, 1, 64, 64), float("inf")), "NaN or Inf"),
    (torch.randint(0, 255, (1, 1, 64, 64), dtype=torch.uint8), "floating-point"),
])
@pytest.mark.parametrize("method", ["forward", "encode", "Embedding", "get_attention_matrix", "get_attention_map"])
def test_bad_input(model, x, match, method):
    with pytest.raises(ValueError, match=match):
        getattr(model, method)(x)


def test_bad_latent_to_decode(model):
    with pytest.raises(ValueError, match=r"expected \(B, 64\)"):
        model.decode(torch.rand(2, 63))
    with pytest.raises(ValueError, match="output_size"):
        model.decode(torch.rand(2, 64), (16, 64))


@pytest.mark.parametrize("kw,match", [
    ({"block_config": ["resnet", "se"]}, "equal length"),
    ({"stride_config": [2, 2]}, "equal length"),
    ({"latent_size": 0}, "positive integer"),
    ({"latent_size": -5}, "positive integer"),
    ({"latent_strategy": "vae"}, "unknown latent_strategy 'vae'; valid: conv, spatial"),
    ({"block_config": ["resnet", "dense", "se"]}, "unknown block type 'dense'; valid: inception, resnet, resnext, se"),
    ({"norm": "layer"}, "unknown norm"),
    ({"activation": "tanh"}, "unknown activation"),
    ({"input_size": (16, 64)}, "input_size"),
    ({"attention_heads": 3}, "attention_heads"),
    # values that used to reach torch and fail deep inside it (or, for embedding_dim, be truncated)
    ({"attention_heads": 0}, "attention_heads must be a positive integer, got 0"),
    ({"attention_heads": -4}, "attention_heads must be a positive integer"),
    ({"blocks_per_stage": 1.5}, "blocks_per_stage must be an integer >= 0, got 1.5"),
    ({"channel_config": (8.0, 16, 16)}, r"every value of channel_config must be an integer"),
    ({"stride_config": (2.0, 2, 2)}, r"every value of stride_config must be an integer"),
    ({"latent_size": True}, "latent_size must be a positive integer, got True"),
    ({"embedding_dim": 12.5}, "embedding_dim must be a positive integer or None, got 12.5"),
    ({"embedding_dim": "64"}, "embedding_dim must be a positive integer"),
    ({"input_size": (64.0, 64)}, "input_size must be"),
    ({"bottleneck_channels": 0}, "bottleneck_channels must be a positive integer, got 0"),
    ({"bottleneck_grid": (0, 4)}, r"every value of bottleneck_grid must be a positive integer"),
    ({"bottleneck_grid": (4, 4, 4)}, r"bottleneck_grid must be \(gh, gw\)"),
    ({"max_grid_positions": 1}, "max_grid_positions must be an integer >= 4"),
    ({"block_config": ["resnext", "se", "se"]}, "multiple of 8 channels >= 16, got 8"),
])
def test_bad_config(kw, match):
    with pytest.raises(ValueError, match=match):
        AutoEncoder_CNNV3(**{**TINY, **kw})


def test_unknown_preset():
    with pytest.raises(ValueError, match="valid: tiny, small, medium, large"):
        create_autoencoder("huge")


def test_options_of_the_other_latent_strategy_are_refused():
    with pytest.raises(ValueError, match="bottleneck_grid=.*latent_strategy='conv'"):
        create_autoencoder("small", input_size=(201, 201), bottleneck_grid=(4, 4))  # presets are spatial
    with pytest.raises(ValueError, match="spatial_channels=4 only applies"):
        create_autoencoder("small", input_size=(201, 201), latent_strategy="conv", spatial_channels=4)
    seed = create_autoencoder("small", input_size=(201, 201), latent_strategy="conv", bottleneck_grid=(4, 4))
    assert seed.plan.grid == (4, 4)


def test_spatial_channels_must_be_positive():  # 0 once reached the layout search and divided by zero
    for bad in (0, -2):
        with pytest.raises(ValueError, match="spatial_channels must be a positive integer"):
            create_autoencoder("small", input_size=(201, 201), spatial_channels=bad)
