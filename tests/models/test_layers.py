"""The decoder's nearest-neighbour upsampling: same values and gradients as ``nn.Upsample``."""
import pytest
import torch
import torch.nn.functional as F

from aecnn.models.layers import NearestUpsample, broadcast_upsample


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("scale", [2, 3])
def test_broadcast_upsample_matches_interpolate(channels_last: bool, scale: int) -> None:
    x = torch.randn(2, 5, 7, 9)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = broadcast_upsample(xa, scale), F.interpolate(xb, scale_factor=scale, mode="nearest")
    assert ya.shape == (2, 5, 7 * scale, 9 * scale)
    assert torch.equal(ya, yb)
    assert ya.is_contiguous(memory_format=torch.channels_last) == channels_last
    g = torch.randn_like(yb)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(xa.grad, xb.grad)


def test_nearest_upsample_module() -> None:
    up = NearestUpsample(2)
    x = torch.randn(1, 3, 4, 4)
    assert torch.equal(up(x), F.interpolate(x, scale_factor=2, mode="nearest"))
    assert NearestUpsample(1)(x) is x
    with pytest.raises(ValueError, match="positive integer"):
        NearestUpsample(1.5)
