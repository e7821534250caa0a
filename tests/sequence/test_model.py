"""LatentLSTM's latent reduction (``SequenceModelConfig.reduce`` / ``passthrough``)."""
from __future__ import annotations

import pytest
import torch

from aecnn.sequence import LatentLSTM, SequenceModelConfig


@pytest.mark.parametrize("kwargs", [{"reduce": 7}, {"reduce": 6, "passthrough": 2}, {"passthrough": 6},
                                    {"reduce": -1}])
def test_reduce_config_is_checked(kwargs):
    with pytest.raises(ValueError, match="reduce|passthrough"):
        SequenceModelConfig(latent_size=6, **kwargs)


def test_reduce_finds_the_principal_axes_and_passes_the_rest_through():
    g = torch.Generator().manual_seed(0)
    n = 4000
    # 5 latent values whose variance lies along one known direction, then 2 frame features
    direction = torch.tensor([3.0, 0.0, 4.0, 0.0, 0.0]) / 5
    lat = torch.randn(n, 1, generator=g) * 10 * direction + 0.1 * torch.randn(n, 5, generator=g) + 2.0
    extra = torch.randn(n, 2, generator=g) * torch.tensor([0.01, 100.0])
    frames = torch.cat([lat, extra], 1)
    model = LatentLSTM(latent_size=7, reduce=1, passthrough=2, hidden_size=4)
    model.set_normalisation(frames, torch.randn(10, generator=g))
    comp = model.pc_components[:, 0]
    assert torch.allclose(comp, direction, atol=0.01)  # found, unit length, largest entry positive
    reduced = model._reduce(frames)
    assert reduced.shape == (n, 3)
    assert torch.equal(reduced[:, 1:], extra)  # the frame features are untouched, whatever their scale
    assert reduced[:, 0].mean().abs() < 0.5  # centred on the training mean
    assert model(frames[:12].reshape(2, 6, 7)).shape == (2,)
    with pytest.raises(ValueError, match="expected latents"):
        model(frames[:12, :5].reshape(2, 6, 5))


def test_without_reduce_the_model_is_unchanged():
    model = LatentLSTM(latent_size=6)
    assert model.config.input_width == 6 and not hasattr(model, "pc_components")
    assert model.lstm.input_size == 6


def test_pls_reduce_finds_the_target_direction_under_a_louder_nuisance():
    """reduce_method='pls' keeps the direction that co-varies with the target, where the first principal
    component is a 10x louder nuisance; it needs each frame's target."""
    g = torch.Generator().manual_seed(0)
    n = 3000
    y = torch.rand(n, generator=g) * 4
    lat = 0.05 * torch.randn(n, 5, generator=g)
    lat[:, 0] += 10 * torch.randn(n, generator=g)  # nuisance, largest variance
    lat[:, 3] += y  # the signal
    pca = LatentLSTM(latent_size=5, reduce=1, hidden_size=4)
    pca.set_normalisation(lat, y[:10])
    pls = LatentLSTM(latent_size=5, reduce=1, hidden_size=4, reduce_method="pls")
    pls.set_normalisation(lat, y[:10], y)
    assert pca.pc_components[:, 0].abs().argmax() == 0
    comp = pls.pc_components[:, 0]
    assert comp.abs().argmax() == 3 and comp[3] > 0 and (comp.abs() / comp.abs().max())[[0, 1, 2, 4]].max() < 0.15
    def corr(model):
        return float(torch.corrcoef(torch.stack([model._reduce(lat)[:, 0], y]))[0, 1].abs())

    # the nuisance leaks in a little (its sample covariance with y), but the score follows the target
    assert corr(pls) > 0.75 and corr(pca) < 0.1
    with pytest.raises(ValueError, match="frame_y"):
        pls.set_normalisation(lat, y[:10])
    with pytest.raises(ValueError, match="reduce_method"):
        SequenceModelConfig(latent_size=5, reduce=1, reduce_method="ica")


def test_pls_without_scikit_learn_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn.cross_decomposition", None)
    model = LatentLSTM(latent_size=4, reduce=1, hidden_size=4, reduce_method="pls")
    with pytest.raises(ImportError, match=r"aecnn\[sklearn\]"):
        model.set_normalisation(torch.randn(20, 4), torch.randn(5), torch.randn(20))
