"""What the model must not do behind the user's back: statistics, modes, dtypes, dropped keywords."""
from __future__ import annotations

import copy
import warnings

import pytest
import torch

from aecnn import AutoEncoder_CNNV3, create_autoencoder
from aecnn.models import PRESETS
from aecnn.models.factory import Autoencoder_CNN

SIZE = (64, 96)


def _tiny(**kw) -> AutoEncoder_CNNV3:
    torch.manual_seed(0)
    return create_autoencoder("tiny", input_size=SIZE, **kw)


def _buffers(m):
    return {k: v.clone() for k, v in m.named_buffers()}


def _same_buffers(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_gradient_checkpointing_updates_batch_norm_statistics_once():
    # Eager recompute used to run every checkpointed stage's batch norms twice per step: running
    # statistics drifted and eval outputs differed from the same training without checkpointing.
    plain = _tiny()
    ckpt = copy.deepcopy(plain)
    ckpt.gradient_checkpointing = True
    xs = [torch.rand(2, 1, *SIZE, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    for m in (plain, ckpt):
        m.train()
        for x in xs:
            m.zero_grad()
            m(x).square().mean().backward()
    assert _same_buffers(_buffers(plain), _buffers(ckpt))
    assert {int(v) for k, v in ckpt.named_buffers() if k.endswith("num_batches_tracked")} == {3}
    grads = [(p.grad, q.grad) for p, q in zip(plain.parameters(), ckpt.parameters())]
    assert all(torch.allclose(g, h, atol=1e-6) for g, h in grads)
    plain.eval()
    ckpt.eval()
    assert torch.equal(plain(xs[0]), ckpt(xs[0]))


@pytest.mark.parametrize("method", ["get_attention_matrix", "get_attention_map"])
def test_interpretation_in_training_mode_keeps_running_statistics_and_mode(method):
    m = _tiny().train()
    before = _buffers(m)
    out = getattr(m, method)(torch.rand(2, 1, *SIZE))
    assert out is not None and torch.isfinite(out).all()
    assert _same_buffers(before, _buffers(m)) and m.training
    assert all(p.grad is None for p in m.parameters())


def test_compute_attention_runs_in_eval_mode_and_restores_the_mode():
    from aecnn.inference.visualize import compute_attention

    m = _tiny().train()
    before = _buffers(m)
    res = compute_attention(m, torch.rand(1, 1, *SIZE))
    assert m.training and _same_buffers(before, _buffers(m))
    m.eval()
    assert torch.allclose(torch.from_numpy(res.recon), m(torch.from_numpy(res.image)[None, None]).clamp(0, 1)[0, 0],
                          atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_other_float_dtypes_are_cast_to_the_parameters(dtype):
    m = _tiny().eval()
    x = torch.rand(2, 1, *SIZE)
    want = m(x.to(dtype).float())
    got = m(x.to(dtype))  # was: "expected scalar type Double but found Float" from inside conv2d
    assert got.dtype == torch.float32 and torch.allclose(got, want, atol=1e-6)
    z = m.encode(x)
    assert torch.allclose(m.decode(z.double(), SIZE), m.decode(z, SIZE), atol=1e-5)


def test_keywords_beside_config_override_it():
    m = AutoEncoder_CNNV3(latent_size=64, DropOut=True, config=PRESETS["tiny"].replace(input_size=SIZE))
    assert (m.latent_size, m.DropOut, m.config.channel_config) == (64, True, PRESETS["tiny"].channel_config)
    assert AutoEncoder_CNNV3(config=PRESETS["tiny"], norm="group").config.norm == "group"
    assert AutoEncoder_CNNV3(config=PRESETS["tiny"]).config == PRESETS["tiny"]
    v1 = Autoencoder_CNN(DropOut=True, embedding_dim=32, config=PRESETS["tiny"])
    assert (v1.latent_size, v1.DropOut) == (32, True)
    assert Autoencoder_CNN(config=PRESETS["tiny"]).latent_size == PRESETS["tiny"].latent_size
    # a config carrying embedding_dim: an explicit latent_size still wins
    assert AutoEncoder_CNNV3(latent_size=64, config=PRESETS["tiny"].replace(embedding_dim=32)).latent_size == 64


def test_transpose_warning_names_the_callers_line():
    m = _tiny()
    for call in (m, m.encode):
        m._warned_transpose = False
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            call(torch.rand(1, 1, SIZE[1], SIZE[0]))
        assert [w.filename for w in rec] == [__file__]


def test_saliency_under_inference_mode_says_why():
    m = _tiny().eval()
    with torch.inference_mode(), pytest.raises(RuntimeError, match="inference_mode"):
        m.get_attention_map(torch.rand(1, 1, *SIZE))


def test_decode_refuses_a_bare_int_size():
    m = _tiny().eval()
    with pytest.raises(ValueError, match="output_size must be"):
        m.decode(torch.rand(1, m.latent_size), 64)
