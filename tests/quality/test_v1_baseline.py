"""The users' V1 rebuilt from the field notes: shapes, sizes and its 201x201-only rule."""
from __future__ import annotations

import pytest
import torch

from aecnn.baselines import AutoencoderV1

CASES = [  # [kwargs, batch, latent shape]
    [{"embedding_dim": 16}, 2, (2, 16)],
    [{"embedding_dim": 100}, 1, (1, 100)],
    [{"embedding_dim": 64, "DropOut": True}, 3, (3, 64)],
    [{"embedding_dim": 32, "sigmoid": False}, 2, (2, 32)],
]


@pytest.mark.parametrize("kwargs, batch, latent_shape", CASES)
def test_shapes(kwargs, batch, latent_shape):
    model = AutoencoderV1(**kwargs).eval()
    x = torch.rand(batch, 1, 201, 201)
    with torch.no_grad():
        z = model.Embedding(x)
        assert z.shape == latent_shape
        assert torch.equal(model.encode(x), z)
        y = model(x)
        assert y.shape == x.shape
        assert model.decode(z).shape == x.shape
    if kwargs.get("sigmoid", True):
        assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0


def test_architecture_matches_field_notes():
    model = AutoencoderV1(embedding_dim=1024)
    convs = [m for m in model.encoder if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (1, 16, (3, 3), (2, 2)), (16, 32, (3, 3), (2, 2)), (32, 64, (3, 3), (2, 2)), (64, 128, (3, 3), (2, 2))]
    assert model.fc_enc.in_features == 128 * 13 * 13
    # the field notes list V1 at latent 1024 with 44.5M parameters
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(44.5e6, rel=0.01)


@pytest.mark.parametrize("shape", [(1, 1, 200, 200), (1, 1, 152, 1280), (1, 1, 208, 208), (1, 3, 201, 201),
                                   (1, 201, 201)])
def test_rejects_other_sizes(shape):
    model = AutoencoderV1(embedding_dim=8)
    with pytest.raises(ValueError, match="201"):
        model(torch.rand(*shape))


def test_bad_latent_rejected():
    with pytest.raises(ValueError, match="embedding_dim"):
        AutoencoderV1(embedding_dim=0)
    model = AutoencoderV1(embedding_dim=8)
    with pytest.raises(ValueError, match="latent"):
        model.decode(torch.zeros(1, 9))


def test_dropout_only_in_training():
    torch.manual_seed(0)
    model = AutoencoderV1(embedding_dim=64, DropOut=True)
    x = torch.rand(2, 1, 201, 201)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.Embedding(x), model.Embedding(x))
    model.train()
    with torch.no_grad():
        z = model.Embedding(x)
    assert (z == 0).float().mean() > 0.2  # p = 0.45
