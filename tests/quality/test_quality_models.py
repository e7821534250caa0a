"""Each method of the quality benchmark builds the architecture its name promises, whatever the
presets' default latent strategy is (a run once compared three copies of the spatial model)."""
import pytest
import torch

from aecnn.quality.plan import build_model


@pytest.mark.parametrize("size", [(201, 201), (152, 1280)])
def test_methods_build_distinct_bottlenecks(size: tuple[int, int]) -> None:
    seed = build_model("seed", "small", size, 512)
    conv = build_model("aecnn-conv", "small", size, 512)
    spatial = build_model("aecnn-spatial", "small", size, 512)
    assert seed.config.latent_strategy == "conv" and seed.plan.grid == (4, 4)
    assert seed.config.bottleneck_channels == seed.config.channel_config[-1]
    assert conv.config.latent_strategy == "conv" and conv.config.bottleneck_grid is None
    assert conv.plan.grid != (4, 4) and conv.latent_shape == (512,)
    assert spatial.config.latent_strategy == "spatial" and len(spatial.latent_shape) == 3
    n = [sum(p.numel() for p in m.parameters()) for m in (seed, conv, spatial)]
    assert len(set(n)) == 3, f"parameter counts {n} should differ between the three bottlenecks"
    x = torch.rand(1, 1, *size)
    for m in (seed, conv, spatial):
        assert m.eval().encode(x).shape == (1, 512)


def test_v1_only_takes_crops() -> None:
    with pytest.raises(ValueError, match="201x201"):
        build_model("v1", "small", (152, 1280), 512)
