from __future__ import annotations

import numpy as np
import pytest
import torch

from aecnn.sequence import LatentLSTM, LatentWindows, match_targets, read_targets


def test_read_targets(tmp_path):
    p = tmp_path / "meta.csv"
    p.write_text("sequence,viscosity,volume\nseq_000,1.5,2\nseq_001,,3\nseq_002,2.5e0,1\nseq_000,1.5,2\n")
    assert read_targets(p) == {"seq_000": 1.5, "seq_002": 2.5}
    assert read_targets(p, "volume") == {"seq_000": 2.0, "seq_001": 3.0, "seq_002": 1.0}
    with pytest.raises(ValueError, match="no column 'mu'.*columns: sequence, viscosity, volume"):
        read_targets(p, "mu")
    p.write_text("sequence,viscosity\na,1\na,2\n")
    with pytest.raises(ValueError, match="two viscosity values"):
        read_targets(p)
    p.write_text("sequence,viscosity\na,thick\n")
    with pytest.raises(ValueError, match="line 2: viscosity='thick' is not a number"):
        read_targets(p)
    with pytest.raises(FileNotFoundError):
        read_targets(tmp_path / "none.csv")


def test_match_targets_by_last_path_component(caplog):
    got = match_targets(["crops/seq_000", "crops/seq_001", "other"], {"seq_000": 1.0, "seq_001": 2.0})
    assert got == {"crops/seq_000": 1.0, "crops/seq_001": 2.0}
    assert "other" in caplog.text
    # ambiguous base names are not guessed
    assert match_targets(["a/s", "b/s", "s2"], {"s": 1.0, "s2": 3.0}) == {"s2": 3.0}
    with pytest.raises(ValueError, match="no latent sequence has a target"):
        match_targets(["x"], {"y": 1.0})


def test_latent_windows_counts_and_items():
    seqs = {"a": np.arange(20 * 3, dtype=np.float32).reshape(20, 3), "b": np.zeros((7, 3)), "c": np.ones((9, 3))}
    ds = LatentWindows(seqs, {"a": 1.0, "b": 2.0, "c": 3.0}, window=8, stride=4)
    assert ds.names == ["a", "c"] and ds.too_short == ["b"]
    assert len(ds) == 4 + 1  # a: starts 0, 4, 8, 12; c: start 0
    x, y, k = ds[1]
    assert x.shape == (8, 3) and float(y) == 1.0 and k == 0
    np.testing.assert_array_equal(x.numpy(), seqs["a"][4:12])
    xs, ys, ks = ds.tensors()
    assert xs.shape == (5, 8, 3) and ys.tolist() == [1, 1, 1, 1, 3] and ks.tolist() == [0, 0, 0, 0, 1]
    with pytest.raises(ValueError):
        LatentWindows(seqs, {"a": 1.0}, window=0, stride=1)


@pytest.mark.parametrize("head", ["v1", "last"])
def test_lstm_shapes_and_normalisation(head):
    torch.manual_seed(0)
    m = LatentLSTM(latent_size=5, hidden_size=8, head=head, projection=4 if head == "last" else 0)
    frames = torch.randn(100, 5) * 3 + 2
    m.set_normalisation(frames, torch.tensor([1.0, 3.0]))
    assert torch.allclose(m.in_mean, frames.mean(0)) and float(m.y_mean) == 2.0 and float(m.y_std) == 1.0
    m.eval()
    x = torch.randn(4, 6, 5)
    out = m(x)
    assert out.shape == (4,)
    assert torch.allclose(out, m.forward_standardised(x) * 1.0 + 2.0)
    with pytest.raises(ValueError, match=r"expected latents \(B, T, 5\)"):
        m(torch.randn(4, 6))
    state = {k: v.clone() for k, v in m.state_dict().items()}
    m2 = LatentLSTM.from_config(m.get_config())
    m2.load_state_dict(state)
    assert torch.allclose(m2.eval()(x), out)


def test_v1_head_is_mean_over_time_then_linear():
    """Same computation as the users' V1 client: LSTM outputs averaged over time, then a linear layer."""
    torch.manual_seed(0)
    m = LatentLSTM(latent_size=4, hidden_size=6, head="v1", dropout=0.0).eval()
    x = torch.randn(3, 5, 4)
    seq, _ = m.lstm(x)  # identity normalisation, no projection
    expected = m.out(seq.mean(1)).squeeze(-1)
    assert torch.allclose(m(x), expected, atol=1e-6)
