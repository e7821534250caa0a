"""AutoEncoder_CNNV3: shapes, latents, no skips, API, V1 compatibility."""
from __future__ import annotations

import itertools
import warnings

import pytest
import torch

from aecnn import BLOCKS, PRESETS, Autoencoder_CNN, AutoEncoder_CNNV3, create_autoencoder

TINY = {"channel_config": (8, 16, 16), "attention_heads": 2}
SIZES = [(201, 201), (152, 1280), (152, 640), (200, 200), (63, 257), (32, 32)]


def tiny(**kw) -> AutoEncoder_CNNV3:
    torch.manual_seed(0)
    return AutoEncoder_CNNV3(**{**TINY, "latent_size": 64, **kw}).eval()


def test_defaults_build_and_embedding_dim_alone():
    m = AutoEncoder_CNNV3(embedding_dim=1024)
    assert m.latent_size == m.embedding_dim == 1024
    assert m.get_config()["latent_size"] == 1024
    assert AutoEncoder_CNNV3().latent_size == 512


@pytest.mark.parametrize("block,strategy", list(itertools.product(sorted(BLOCKS), ["conv", "spatial"])))
def test_blocks_x_strategies_shapes(block, strategy):
    wide = {"channel_config": (16, 16, 16)} if block == "resnext" else {}  # groups of 8 channels, two at least
    m = tiny(block_config=[block, "resnet", block], latent_strategy=strategy, input_size=(64, 96), **wide)
    x = torch.rand(2, 1, 64, 96)
    with torch.no_grad():
        assert m(x).shape == x.shape
        assert m.encode(x).shape == (2, 64)
        emb = m.Embedding(x)
    assert emb.shape == (2, *m.latent_shape)
    assert emb.numel() == 2 * 64


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("strategy", ["conv", "spatial"])
def test_any_size_round_trips_exactly(size, strategy):
    m = tiny(input_size=size, latent_strategy=strategy)
    with torch.no_grad():
        assert m(torch.rand(1, 1, *size)).shape == (1, 1, *size)


@pytest.mark.parametrize("strategy", ["conv", "spatial"])
def test_other_widths_same_height(strategy):
    m = tiny(input_size=(152, 1280), latent_strategy=strategy)
    for w in (640, 1000, 333):
        with torch.no_grad():
            assert m(torch.rand(1, 1, 152, w)).shape == (1, 1, 152, w)
            assert m.encode(torch.rand(1, 1, 152, w)).shape == (1, 64)


@pytest.mark.parametrize("latent", [128, 512, 1024, 2048, 4096, 8192])
@pytest.mark.parametrize("strategy", ["conv", "spatial"])
@pytest.mark.parametrize("size", [(201, 201), (152, 1280)])
def test_latent_size_is_exact(latent, strategy, size):
    m = tiny(latent_size=latent, latent_strategy=strategy, input_size=size)
    z = m.Embedding(torch.rand(1, 1, *size))
    assert z.numel() == latent
    assert m.encode(torch.rand(1, 1, *size)).shape == (1, latent)


def test_spatial_impossible_latent_names_nearest():
    with pytest.raises(ValueError, match=r"nearest sizes that work: 507, 510"):
        tiny(latent_size=509, latent_strategy="spatial", input_size=(201, 201))
    with pytest.raises(ValueError, match="spatial_channels=7"):
        tiny(latent_size=512, latent_strategy="spatial", spatial_channels=7)


@pytest.mark.parametrize("strategy", ["conv", "spatial"])
def test_decoder_sees_only_the_latent(strategy):
    m = tiny(latent_strategy=strategy, input_size=(64, 80))
    x1, x2 = torch.rand(2, 1, 64, 80), torch.rand(2, 1, 64, 80)
    with torch.no_grad():
        z = m.encode(x1)
        assert torch.equal(m.decode(z, x1.shape[-2:]), m(x1))
        # Feed x2 but force the latent of x1: the output must be x1's reconstruction.
        m.Embedding = lambda x: z.view(z.shape[0], *m.latent_shape)  # type: ignore[method-assign]
        assert torch.equal(m(x2), m.decode(z, (64, 80)))
    assert m.decode_from_latent.__func__ is AutoEncoder_CNNV3.decode


def test_decode_default_size_and_native_latent():
    m = tiny(latent_strategy="spatial", input_size=(96, 64))
    z = m.Embedding(torch.rand(3, 1, 96, 64))
    with torch.no_grad():
        assert m.decode(z).shape == (3, 1, 96, 64)
        assert torch.equal(m.decode(z), m.decode(z.flatten(1)))


def test_bottleneck_keeps_a_layout_grid():
    # not the seed's 4x4 pool: the grid follows the input's aspect
    assert create_autoencoder("small", input_size=(201, 201), latent_strategy="conv").plan.grid == (13, 13)
    assert create_autoencoder("small", input_size=(152, 1280), latent_strategy="conv").plan.grid == (5, 40)
    assert create_autoencoder("small", input_size=(201, 201)).latent_shape == (2, 16, 16)
    assert create_autoencoder("small", input_size=(152, 1280)).latent_shape == (4, 4, 32)
    seed = tiny(bottleneck_grid=(4, 4), bottleneck_channels=16)
    assert seed.plan.grid == (4, 4)


def test_attention_matrix_row_stochastic_and_sdpa_path(monkeypatch):
    m = tiny(input_size=(64, 128))
    x = torch.rand(2, 1, 64, 128)
    a = m.get_attention_matrix(x)
    n = m.plan.grid[0] * m.plan.grid[1]
    assert a.shape == (2, n, n)
    torch.testing.assert_close(a.sum(-1), torch.ones(2, n))
    assert tiny(use_attention=False).get_attention_matrix(torch.rand(1, 1, 64, 64)) is None
    calls = []
    real = torch.nn.functional.scaled_dot_product_attention
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    with torch.no_grad():
        m(x)
    assert calls, "forward must use scaled_dot_product_attention"


@pytest.mark.parametrize("training", [False, True])
def test_attention_map_leaves_no_trace(training):
    m = tiny(input_size=(64, 64), DropOut=False)
    m.train(training)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    sal = m.get_attention_map(torch.rand(2, 1, 64, 64))
    assert sal.shape == (2, 1, 64, 64) and (sal >= 0).all() and sal.sum() > 0
    assert all(p.grad is None for p in m.parameters())
    assert m.training is training
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_config_round_trip():
    m = tiny(latent_strategy="spatial", block_config=["inception", "resnext", "se"], norm="group",
             activation="silu", blocks_per_stage=2, output_activation="sigmoid")
    d = m.get_config()
    assert isinstance(d, dict) and d["block_config"] == ["inception", "resnext", "se"]
    m2 = AutoEncoder_CNNV3.from_config(d)
    assert m2.get_config() == d
    m2.load_state_dict(m.state_dict())
    x = torch.rand(1, 1, 201, 201)
    with torch.no_grad():
        torch.testing.assert_close(m2.eval()(x), m(x))


def test_dropout_v1_semantics():
    m = tiny(DropOut=True)
    assert isinstance(m.dropout, torch.nn.Dropout) and m.dropout.p == 0.45
    x = torch.rand(4, 1, 64, 64)
    m.train()
    z = m.encode(x)
    assert (z == 0).float().mean() > 0.2  # dropout zeros ~45% of the latent
    m.eval()
    assert torch.equal(m.encode(x), m.encode(x))
    m.train()
    m.DropOut = False  # flipped at run time
    assert (m.encode(x) == 0).float().mean() < 0.05


def test_v1_client_flow(tmp_path):
    """The users' LSTM code: build with embedding_dim only, load a plain state_dict, strip
    `_orig_mod.`, call .Embedding on (B*T,1,H,W), view as (B,T,E)."""
    trained = Autoencoder_CNN(embedding_dim=64, channel_config=(8, 16, 16), attention_heads=2)
    state = {"_orig_mod." + k: v for k, v in trained.state_dict().items()}
    torch.save(state, tmp_path / "ae.pt")

    ae = Autoencoder_CNN(embedding_dim=64, channel_config=(8, 16, 16), attention_heads=2)
    sd = torch.load(tmp_path / "ae.pt")
    sd = {k.replace("_orig_mod.", ""): v for k, v in sd.items()}
    ae.load_state_dict(sd)
    ae.eval()
    b, t = 2, 3
    frames = torch.rand(b, t, 1, 201, 201)
    with torch.no_grad():
        e = ae.Embedding(frames.view(b * t, 1, 201, 201)).view(b, t, 64)
        ref = trained.eval().Embedding(frames[1, 2:3])
    torch.testing.assert_close(e[1, 2], ref[0])
    # also loads without stripping (the load hook strips)
    Autoencoder_CNN(embedding_dim=64, channel_config=(8, 16, 16), attention_heads=2).load_state_dict(state)
    assert Autoencoder_CNN().embedding_dim == 100


def test_gradient_checkpointing_same_gradients():
    torch.manual_seed(0)
    a = AutoEncoder_CNNV3(**TINY, latent_size=64, input_size=(64, 64))
    b = AutoEncoder_CNNV3(**TINY, latent_size=64, input_size=(64, 64), gradient_checkpointing=True)
    b.load_state_dict(a.state_dict())
    x = torch.rand(2, 1, 64, 64)
    for m in (a, b):
        m.train()
        (m(x) - x).square().mean().backward()
    for (n, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        torch.testing.assert_close(pa.grad, pb.grad, msg=n)


def test_channels_last_matches():
    m = tiny(input_size=(64, 64))
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        ref = m(x)
        m = m.to(memory_format=torch.channels_last)
        out = m(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-4)


def test_compiled_forward_matches_eager():
    m = tiny(input_size=(64, 64))
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        ref = m(x)
        out = torch.compile(m)(x)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("preset,latent,target", [("tiny", 128, 0.5e6), ("small", 512, 2e6),
                                                  ("medium", 2048, 8e6), ("large", 8192, 32e6)])
def test_presets(preset, latent, target):
    for size in ((201, 201), (152, 1280)):
        for strategy in ("spatial", "conv"):
            with torch.device("meta"):
                m = create_autoencoder(preset, input_size=size, latent_strategy=strategy)
            n = sum(p.numel() for p in m.parameters())
            assert m.latent_size == latent
            assert target / 2 <= n <= target * 2, f"{preset} {size} {strategy}: {n:,} parameters"
    assert set(PRESETS) == {"tiny", "small", "medium", "large"}
    assert all(c.latent_strategy == "spatial" for c in PRESETS.values())  # see the comment in config.py
    assert create_autoencoder("tiny", latent_strategy="conv").config.latent_strategy == "conv"
    assert AutoEncoder_CNNV3().config.latent_strategy == "conv"  # the constructor keeps the flat latent


def test_transposed_input_warns_once():
    m = tiny(input_size=(64, 128))
    with pytest.warns(UserWarning, match="transpose"):
        m(torch.rand(1, 1, 128, 64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(torch.rand(1, 1, 128, 64))
