from __future__ import annotations

import csv
import json
from dataclasses import replace

import numpy as np
import pytest

from aecnn.cli import main
from aecnn.inference.embed import save_embeddings
from aecnn.sequence import FitConfig, fit_sequence_model, load_sequence_model, r2_score


def synthetic_latents(n_seq: int = 20, t: int = 24, dim: int = 12, seed: int = 0):
    """Latents whose level and drift over time are a known function of the sequence's target."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=dim)
    w /= np.linalg.norm(w)
    u = np.roll(w, 3)
    seqs, targets = {}, {}
    for s in range(n_seq):
        y = float(rng.uniform(0.5, 5.0))
        steps = np.arange(t)[:, None]
        seqs[f"seq_{s:03d}"] = (rng.normal(scale=0.3, size=(t, dim)) + y * w + 0.05 * y * steps * u).astype(np.float32)
        targets[f"seq_{s:03d}"] = y
    return seqs, targets


FAST = {"window": 8, "stride": 4, "hidden_size": 32, "epochs": 25, "lr": 5e-3}


def test_fit_predicts_known_function_on_held_out_sequences():
    seqs, targets = synthetic_latents()
    res = fit_sequence_model(seqs, targets, FitConfig(**FAST), progress=False)
    assert res.n_test_sequences == 5 and res.n_train_sequences == 15
    assert res.r2 > 0.9, res.line()
    assert res.mae < 0.5
    held_out = {r["sequence"] for r in res.sequences}
    assert len(held_out) == 5 and res.history[-1] < res.history[0]
    assert r2_score([r["true"] for r in res.sequences], [r["pred"] for r in res.sequences]) == pytest.approx(res.r2)


def test_kfold_and_log_target_cover_every_sequence():
    seqs, targets = synthetic_latents(n_seq=12)
    res = fit_sequence_model(seqs, targets, FitConfig(**{**FAST, "epochs": 15}, folds=3, log_target=True),
                             progress=False)
    assert sorted(r["sequence"] for r in res.sequences) == sorted(seqs)
    assert {r["fold"] for r in res.sequences} == {0, 1, 2}
    assert res.r2 > 0.7, res.line()


def test_fit_sequence_cli_writes_results(tmp_path, capsys):
    seqs, targets = synthetic_latents()
    names = [n for n in seqs for _ in range(len(seqs[n]))]
    frames = [i for n in seqs for i in range(len(seqs[n]))]
    lat = save_embeddings(tmp_path / "lat.h5" if _has_h5py() else tmp_path / "lat.npz",
                          np.concatenate(list(seqs.values())), [f"crops/{n}" for n in names], frames)
    csv_path = tmp_path / "metadata.csv"
    with open(csv_path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sequence", "viscosity", "volume"])
        w.writerows([n, y, 1.0] for n, y in targets.items())
    out = tmp_path / "fit"
    rc = main(["fit-sequence", str(lat), str(csv_path), "--out", str(out), "--window", "8", "--stride", "4",
               "--hidden", "32", "--epochs", "25", "--lr", "5e-3", "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "held-out sequences: R2" in text and "20 sequences with viscosity" in text
    res = json.loads((out / "results.json").read_text())
    assert res["r2"] > 0.9 and res["target"] == "viscosity" and len(res["sequences"]) == 5
    assert (out / "pred_vs_true.png").stat().st_size > 1000
    with open(out / "predictions.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 5
    model = load_sequence_model(out / "sequence_model.pt")
    assert model.config.latent_size == 12 and model.config.head == "v1"


def _has_h5py() -> bool:
    try:
        import h5py  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("case", ["missing-latents", "bad-column", "unwritable", "not-latents"])
def test_fit_sequence_bad_inputs(case, tmp_path, capsys):
    seqs, targets = synthetic_latents(n_seq=4, t=10)
    lat = save_embeddings(tmp_path / "lat.npz", np.concatenate(list(seqs.values())),
                          [n for n in seqs for _ in range(10)], [i for _ in seqs for i in range(10)])
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("sequence,viscosity\n" + "".join(f"{n},{y}\n" for n, y in targets.items()))
    argv = ["fit-sequence", str(lat), str(csv_path), "--epochs", "1", "--window", "4", "--no-progress"]
    if case == "missing-latents":
        argv[1], expect = str(tmp_path / "none.npz"), "latent file not found"
    elif case == "bad-column":
        argv += ["--target", "mu"]
        expect = "no column 'mu'"
    elif case == "unwritable":
        (tmp_path / "f").write_text("x")
        argv += ["--out", str(tmp_path / "f" / "out")]
        expect = "cannot write"
    else:
        (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04junk")
        argv[1], expect = str(tmp_path / "junk.npz"), "not a readable latent file"
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("aecnn fit-sequence: error: ") and expect in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def _signal_below_a_loud_nuisance(n_seq: int = 24, t: int = 16, dim: int = 8):
    """The target sits on one latent value; another value carries 10x larger noise, so the first
    principal component is pure nuisance and K = 1 cannot work while K = 4 can."""
    rng = np.random.default_rng(1)
    seqs, targets = {}, {}
    for s in range(n_seq):
        y = float(rng.uniform(0.5, 5.0))
        z = rng.normal(scale=0.1, size=(t, dim))
        z[:, 0] = rng.normal(scale=10.0, size=t)
        z[:, 5] += y
        seqs[f"seq_{s:03d}"], targets[f"seq_{s:03d}"] = z.astype(np.float32), y
    return seqs, targets


def test_reduce_candidates_choose_k_by_inner_cv_on_training_sequences_only():
    seqs, targets = _signal_below_a_loud_nuisance()
    names = sorted(seqs)
    split = (names[:18], names[18:])
    cfg = FitConfig(**{**FAST, "epochs": 20}, reduce_candidates=(1, 4, 99), reduce_folds=3)
    res = fit_sequence_model(seqs, targets, cfg, progress=False, split=split)
    (choice,) = res.reduce_choice
    assert set(choice["cv_r2"]) == {1, 4}  # 99 > the 8 latent values: skipped
    assert choice["reduce"] == 4 and choice["cv_r2"][4] > choice["cv_r2"][1] + 0.3, choice
    assert res.model.config.reduce == 4 and res.r2 > 0.8, res.line()
    # the choice never reads the held-out sequences: changing their targets changes nothing in it
    moved = {**targets, **{n: targets[n] * 3.0 for n in split[1]}}
    again = fit_sequence_model(seqs, moved, cfg, progress=False, split=split)
    assert again.reduce_choice == res.reduce_choice and again.r2 != res.r2


def test_pls_reduce_keeps_the_signal_that_one_principal_component_misses(tmp_path):
    """One component: PCA's is the loud nuisance, PLS's the target's value (fitted on the training
    sequences only); the CLI's --reduce-method pls saves a model that reloads as PLS."""
    seqs, targets = _signal_below_a_loud_nuisance()
    names = sorted(seqs)
    split = (names[:18], names[18:])
    cfg = FitConfig(**{**FAST, "epochs": 20}, reduce=1)
    pca = fit_sequence_model(seqs, targets, cfg, progress=False, split=split)
    pls = fit_sequence_model(seqs, targets, replace(cfg, reduce_method="pls"), progress=False, split=split)
    assert pls.r2 > 0.8 and pls.r2 > pca.r2 + 0.3, (pca.line(), pls.line())
    assert pls.model.config.reduce_method == "pls"
    lat = save_embeddings(tmp_path / "lat.npz", np.concatenate([seqs[n] for n in names]),
                          [n for n in names for _ in range(16)], [i for _ in names for i in range(16)])
    meta = tmp_path / "meta.csv"
    meta.write_text("sequence,viscosity\n" + "".join(f"{n},{targets[n]}\n" for n in names))
    assert main(["fit-sequence", str(lat), str(meta), "--window", "8", "--epochs", "3", "--no-progress",
                 "--reduce", "1", "--reduce-method", "pls", "--out", str(tmp_path / "o")]) == 0
    model = load_sequence_model(tmp_path / "o" / "sequence_model.pt")
    assert model.config.reduce_method == "pls" and model.pc_components.shape == (8, 1)


def test_reduce_candidates_are_checked():
    with pytest.raises(ValueError, match="reduce_candidates"):
        FitConfig(reduce_candidates=(0, 4))
    with pytest.raises(ValueError, match="reduce_folds"):
        FitConfig(reduce_candidates=(4,), reduce_folds=1)
    seqs, targets = _signal_below_a_loud_nuisance(n_seq=8)
    with pytest.raises(ValueError, match="no candidate K"):
        fit_sequence_model(seqs, targets, FitConfig(**FAST, reduce_candidates=(9, 16)), progress=False)


def _nuisance_files(tmp_path, n_seq: int = 16):
    """A latent file and a metadata CSV of :func:`_signal_below_a_loud_nuisance` (16 frames a sequence)."""
    seqs, targets = _signal_below_a_loud_nuisance(n_seq=n_seq)
    names = sorted(seqs)
    lat = save_embeddings(tmp_path / "lat.npz", np.concatenate([seqs[n] for n in names]),
                          [n for n in names for _ in range(16)], [i for _ in names for i in range(16)])
    meta = tmp_path / "meta.csv"
    meta.write_text("sequence,viscosity\n" + "".join(f"{n},{targets[n]}\n" for n in names))
    return lat, meta


def test_fit_sequence_cli_reduce_auto(tmp_path, capsys):
    lat, meta = _nuisance_files(tmp_path)
    common = ["fit-sequence", str(lat), str(meta), "--window", "8", "--epochs", "5", "--no-progress"]
    assert main([*common, "--reduce", "auto", "--reduce-candidates", "1", "2", "--out", str(tmp_path / "o")]) == 0
    res = json.loads((tmp_path / "o" / "results.json").read_text())
    (choice,) = res["reduce_choice"]
    assert choice["reduce"] in (1, 2) and set(choice["cv_r2"]) == {"1", "2"}
    assert load_sequence_model(tmp_path / "o" / "sequence_model.pt").config.reduce == choice["reduce"]
    assert f"chosen by cross-validation on the training sequences: {choice['reduce']}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:  # argparse refuses it
        main([*common, "--reduce", "some"])
    assert exc.value.code == 2 and "expected a number of components, 'auto' or 'ensemble'" in capsys.readouterr().err
    assert main([*common, "--reduce", "auto", "--reduce-candidates", "64"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--reduce-candidates 64" in err and "(8)" in err and len(err.splitlines()) == 1, err


def test_reduce_ensemble_averages_one_lstm_per_candidate(tmp_path):
    """--reduce ensemble: one member per candidate K on the split's training sequences, the prediction is
    their mean, and the saved model reloads as the same ensemble."""
    import torch

    from aecnn.sequence import (
        LatentLSTM,
        LatentLSTMEnsemble,
        LatentWindows,
        predict_windows,
        save_sequence_model,
    )

    seqs, targets = _signal_below_a_loud_nuisance(n_seq=16)
    names = sorted(seqs)
    split = (names[:12], names[12:])
    cfg = FitConfig(**{**FAST, "epochs": 4}, reduce_candidates=(1, 2, 64), reduce_ensemble=True, reduce_folds=1)
    res = fit_sequence_model(seqs, targets, cfg, progress=False, split=split)
    model = res.model
    assert isinstance(model, LatentLSTMEnsemble) and model.reduce == [1, 2]  # 64 > the 8 latent values: skipped
    assert res.reduce_choice == [{"fold": 0, "reduce": [1, 2], "ensemble": True}]
    test = LatentWindows(seqs, targets, 8, 4, split[1])
    pred = predict_windows(model, test)
    members = np.mean([predict_windows(m, test) for m in model.members], 0)
    np.testing.assert_allclose(pred, members, rtol=1e-6)
    owner = np.array([k for k, _ in test.windows])
    per_seq = [float(pred[owner == i].mean()) for i in range(len(test.names))]
    assert [r["pred"] for r in res.sequences] == pytest.approx(per_seq, rel=1e-6)
    save_sequence_model(tmp_path / "e.pt", model)
    again = load_sequence_model(tmp_path / "e.pt")
    assert isinstance(again, LatentLSTMEnsemble) and again.reduce == [1, 2]
    np.testing.assert_allclose(predict_windows(again, test), pred, rtol=1e-6)
    with pytest.raises(ValueError, match="at least one candidate"):
        FitConfig(reduce_ensemble=True)
    with pytest.raises(ValueError, match="no candidate K"):
        fit_sequence_model(seqs, targets, replace(cfg, reduce_candidates=(9, 16)), progress=False, split=split)
    with pytest.raises(ValueError, match="different latent sizes"):
        LatentLSTMEnsemble([LatentLSTM(latent_size=4), LatentLSTM(latent_size=5)])
    with pytest.raises(ValueError, match="at least one member"):
        LatentLSTMEnsemble([])
    assert torch.is_tensor(model(torch.zeros(2, 8, 8)))


def test_fit_sequence_cli_reduce_ensemble(tmp_path, capsys):
    lat, meta = _nuisance_files(tmp_path)
    assert main(["fit-sequence", str(lat), str(meta), "--window", "8", "--epochs", "3", "--no-progress",
                 "--reduce", "ensemble", "--reduce-candidates", "1", "2", "--out", str(tmp_path / "o")]) == 0
    res = json.loads((tmp_path / "o" / "results.json").read_text())
    assert res["reduce_choice"] == [{"fold": 0, "reduce": [1, 2], "ensemble": True}]
    assert res["config"]["reduce_ensemble"] is True
    assert load_sequence_model(tmp_path / "o" / "sequence_model.pt").reduce == [1, 2]
    assert "predictions averaged over LSTMs on K = 1, 2 principal components" in capsys.readouterr().out


def _sliding_blobs(n_seq: int = 24, t: int = 16, grid=(2, 1, 16), seed: int = 0):
    """(C, h, w) latent grids with a blob whose height is the target and whose column moves by a
    random start and speed, wrapping around the width: what a drop sliding along a strip does to a
    spatial latent."""
    rng = np.random.default_rng(seed)
    c, h, w = grid
    profile = np.array([0.5, 1.0, 0.5])
    seqs, targets = {}, {}
    for s in range(n_seq):
        y = float(rng.uniform(0.5, 5.0))
        start, speed = rng.integers(0, w), rng.integers(-2, 3)
        frames = rng.normal(scale=0.05, size=(t, c, h, w))
        for i in range(t):
            cols = (start + speed * i + np.arange(3)) % w
            frames[i, 0, :, cols] += y * profile[:, None]
            frames[i, 1, :, cols] += 1.0
        seqs[f"seq_{s:03d}"] = frames.reshape(t, -1).astype(np.float32)
        targets[f"seq_{s:03d}"] = y
    return seqs, targets


def test_width_fft_summary_ignores_where_along_the_width():
    import torch

    from aecnn.sequence.model import LatentLSTM, SequenceModelConfig

    cfg = SequenceModelConfig(2 * 3 * 8 + 2, reduce=4, passthrough=2, summary="width-fft", grid=(2, 3, 8))
    assert cfg.n_values == 2 * 3 * 5 and cfg.input_width == 6
    model = LatentLSTM(cfg).eval()
    x = torch.randn(4, 6, 50)
    model.set_normalisation(x.reshape(-1, 50), torch.randn(4))
    grid, extra = x[..., :48].reshape(4, 6, 2, 3, 8), x[..., 48:]
    shifted = torch.cat([grid.roll(3, dims=-1).reshape(4, 6, 48), extra], dim=-1)
    with torch.no_grad():
        assert torch.allclose(model(shifted), model(x), atol=1e-5)  # the drop's column does not matter
        moved = torch.cat([x[..., :48], extra + 1.0], dim=-1)
        assert not torch.allclose(model(moved), model(x), atol=1e-3)  # the pass-through values still do
    with pytest.raises(ValueError, match="grid"):
        SequenceModelConfig(50, passthrough=2, summary="width-fft", grid=(2, 3, 7))
    with pytest.raises(ValueError, match="summary"):
        SequenceModelConfig(50, summary="fft")


def test_width_recentre_follows_the_drop_along_the_width():
    import torch

    from aecnn.sequence.model import LatentLSTM, SequenceModelConfig, width_recentre

    dev = torch.zeros(2, 3, 1, 12)  # (N, C, h, w) deviation from the column means
    dev[0, :, :, 6] = torch.tensor([3.0, 1.0, 2.0])[:, None]  # the drop's column, mid-grid
    dev[0, :, :, 5] = 1.0
    dev[1, :, :, 0] = 4.0  # at the left edge: the window reaches beyond the grid
    out = width_recentre(dev, 5)
    assert out.shape == (2, 3, 1, 5)
    assert torch.equal(out[0, :, 0, 2], torch.tensor([3.0, 1.0, 2.0])) and torch.equal(out[0, :, 0, 1], torch.ones(3))
    assert torch.equal(out[1, :, 0], torch.tensor([[0.0, 0.0, 4.0, 0.0, 0.0]] * 3))  # zeros beyond the edge
    assert torch.equal(width_recentre(dev.roll(3, -1)[:1], 5), out[:1])  # moved along the width: the same values
    assert width_recentre(dev, 4).shape == (2, 3, 1, 4)  # an even window: one column more on the left

    cfg = SequenceModelConfig(2 * 1 * 16 + 2, reduce=3, passthrough=2, summary="width-recentre", grid=(2, 1, 16),
                              summary_window=5)
    assert cfg.n_values == 2 * 1 * 5 and cfg.input_width == 5
    seqs, targets = _sliding_blobs(n_seq=8)
    x = torch.from_numpy(np.stack(list(seqs.values())))  # (8, 16, 32)
    x = torch.cat([x, torch.randn(8, 16, 2)], dim=-1)
    model = LatentLSTM(cfg).eval()
    model.set_normalisation(x.reshape(-1, 34), torch.tensor(list(targets.values())))
    assert torch.allclose(model.col_mean, x[..., :32].reshape(-1, 2, 1, 16).mean(0), atol=1e-6)
    assert "col_mean" in model.state_dict()  # saved with the model: a loaded one takes raw latents
    blob = torch.zeros(1, 4, 2, 1, 16)
    blob[..., 0, 0, 5:8] = torch.tensor([0.5, 2.0, 0.5])
    blob[..., 1, 0, 5:8] = 1.0

    def frames(g: torch.Tensor) -> torch.Tensor:
        g = g + model.col_mean  # a deviation that is only the blob
        return torch.cat([g.reshape(1, 4, 32), torch.ones(1, 4, 2)], dim=-1)

    with torch.no_grad():
        assert torch.allclose(model(frames(blob.roll(4, -1))), model(frames(blob)), atol=1e-6)
        assert not torch.allclose(model(frames(blob * 2)), model(frames(blob)), atol=1e-3)
    with pytest.raises(ValueError, match="summary_window"):
        SequenceModelConfig(34, passthrough=2, summary="width-recentre", grid=(2, 1, 16), summary_window=0)
    with pytest.raises(ValueError, match="grid"):
        SequenceModelConfig(34, passthrough=2, summary="width-recentre", grid=(2, 1, 15))


def test_fit_sequence_cli_width_fft_summary(tmp_path, capsys):
    seqs, targets = _sliding_blobs()
    names = [n for n in seqs for _ in range(len(seqs[n]))]
    frames = [i for n in seqs for i in range(len(seqs[n]))]
    csv_path = tmp_path / "metadata.csv"
    with open(csv_path, "w", newline="") as fh:
        csv.writer(fh).writerows([["sequence", "viscosity"], *([n, y] for n, y in targets.items())])
    stacked = np.concatenate(list(seqs.values()))
    lat = save_embeddings(tmp_path / "lat.npz", stacked, names, frames, meta={"latent_shape": [2, 1, 16]})
    common = ["fit-sequence", str(lat), str(csv_path), "--window", "8", "--stride", "4", "--hidden", "32",
              "--epochs", "30", "--lr", "5e-3", "--folds", "3", "--reduce", "4", "--no-progress"]
    out = tmp_path / "fft"
    assert main([*common, "--latent-summary", "width-fft", "--out", str(out)]) == 0
    assert "latent grid 2x1x16 summarised by |FFT| along its width" in capsys.readouterr().out
    res = json.loads((out / "results.json").read_text())
    assert res["r2"] > 0.9, res["r2"]  # the blob's height, wherever it is
    model = load_sequence_model(out / "sequence_model.pt")
    assert model.config.summary == "width-fft" and model.config.grid == (2, 1, 16)
    # the strips' recipe of the README: FFT summary, PLS components, displacement and a size as it is
    track = tmp_path / "track.csv"
    track.write_text("sequence,frame,drop_x,drop_y,dark_fraction\n" + "".join(
        f"{n},{i},{100 - 3 * i},{50},{0.01 * targets[n]}\n" for n, i in zip(names, frames)))
    out = tmp_path / "fft_pls"
    assert main([*common, "--latent-summary", "width-fft", "--reduce-method", "pls", "--frame-features", str(track),
                 "--frame-columns", "drop_x", "drop_y", "--frame-value-columns", "dark_fraction",
                 "--out", str(out)]) == 0
    model = load_sequence_model(out / "sequence_model.pt")
    assert model.config.reduce_method == "pls" and model.config.passthrough == 3 and model.config.input_width == 7
    assert json.loads((out / "results.json").read_text())["r2"] > 0.9
    capsys.readouterr()
    assert main([*common, "--latent-summary", "width-fft", "--reduce", "20"]) == 2  # 2x1x9 values after the FFT
    assert "--reduce 20: must be between 1 and the summary's values (18)" in capsys.readouterr().err
    flat = save_embeddings(tmp_path / "flat.npz", stacked, names, frames, meta={"latent_shape": [32]})
    assert main(["fit-sequence", str(flat), str(csv_path), "--latent-summary", "width-fft", "--no-progress"]) == 2
    assert "spatial (C, h, w) grid" in capsys.readouterr().err
    # the re-centred summary: the blob's window wherever it is, saved with its column means
    out = tmp_path / "recentre"
    assert main([*common, "--latent-summary", "width-recentre", "--summary-window", "5", "--out", str(out)]) == 0
    assert "latent grid 2x1x16 summarised by 5 columns re-centred on the drop" in capsys.readouterr().out
    assert json.loads((out / "results.json").read_text())["r2"] > 0.9
    model = load_sequence_model(out / "sequence_model.pt")
    assert model.config.summary == "width-recentre" and model.config.summary_window == 5
    assert float(model.col_mean.abs().sum()) > 0  # the training frames' column means, reloaded
    # the strips' recipe of the README: re-centred summary, K by CV, PLS components, the tracked displacement
    out = tmp_path / "recentre_pls"
    recipe = common[:common.index("--folds")]  # one split (faster), K by CV below
    assert main([*recipe, "--no-progress", "--latent-summary", "width-recentre", "--summary-window", "5", "--reduce",
                 "auto", "--reduce-candidates", "2", "4", "--reduce-method", "pls", "--frame-features", str(track),
                 "--frame-columns", "drop_x", "drop_y", "--out", str(out)]) == 0
    assert "PLS components chosen by cross-validation" in capsys.readouterr().out
    model = load_sequence_model(out / "sequence_model.pt")
    assert model.config.reduce in (2, 4) and model.config.passthrough == 2
    assert json.loads((out / "results.json").read_text())["r2"] > 0.9
    assert main([*common, "--latent-summary", "width-recentre", "--summary-window", "5", "--reduce", "11"]) == 2
    assert "--reduce 11: must be between 1 and the summary's values (10)" in capsys.readouterr().err
    assert main([*common, "--latent-summary", "width-recentre", "--summary-window", "0"]) == 2
    assert "--summary-window 0: must be at least 1 column" in capsys.readouterr().err


def test_sequences_all_shorter_than_the_window_say_so():
    seqs, targets = synthetic_latents(n_seq=4, t=6)
    with pytest.raises(ValueError, match="shorter than the window of 8 frames .*longest has 6.*smaller --window"):
        fit_sequence_model(seqs, targets, FitConfig(**FAST), progress=False)


def test_a_split_given_as_a_run_folder_or_with_bare_strings(tmp_path):
    import json

    from aecnn.data.split import load_split

    (tmp_path / "split.json").write_text(json.dumps({"train": ["a", "b"], "val": ["c"]}))
    assert load_split(tmp_path) == (["a", "b"], ["c"])  # the run folder stands for its split.json
    (tmp_path / "sub").mkdir()
    with pytest.raises(FileNotFoundError, match="a folder without split.json"):  # was "[Errno 21] Is a directory"
        load_split(tmp_path / "sub")
    (tmp_path / "s.json").write_text(json.dumps({"train": "seq_000", "val": ["c"]}))
    with pytest.raises(ValueError, match="must be lists of sequence names"):  # was split into characters
        load_split(tmp_path / "s.json")
