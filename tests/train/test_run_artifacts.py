"""A one-epoch run on a folder of PNGs leaves every artifact; checkpoints load with weights_only."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
import yaml
from train_helpers import TINY

from aecnn.checkpoint import load_model
from aecnn.cli import main
from aecnn.models import AutoEncoder_CNNV3
from aecnn.train.runlog import METRIC_COLUMNS

# torch.utils.tensorboard imports torch.jit.script_method, deprecated in torch 2.13
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")

CKPT_KEYS = {"format", "version", "model_config", "model", "optimizer", "scheduler", "scaler", "rng", "epoch",
             "step", "train_config", "history", "best", "geometry"}


def test_one_epoch_writes_every_artifact(frames_dir, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--data", str(frames_dir), "--out", str(out), "--epochs", "1", *TINY,
                 "--cache-dir", str(tmp_path / "cache"), "--batch-size", "auto", "--max-memory", "1GiB",
                 "--save-every", "1", "--recon-every", "1", "--save-val-latents", "--ema", "0.9"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    # --batch-size auto and --max-memory fall back cleanly on CPU, and say so
    assert "--batch-size auto: probing needs a CUDA device; using batch size 8" in printed
    assert "--max-memory 1GiB: caps CUDA memory only; ignored on cpu" in printed
    for name in ("config.yaml", "split.json", "data.json", "metrics.csv", "loss_curve.png", "reconstructions.png",
                 "recon_epoch_001.png", "attention.png", "val_latents.npz", "last.ckpt", "best.ckpt",
                 "epoch_001.ckpt", "model_state_dict.pt", "model.safetensors"):
        assert (out / name).is_file(), name
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert not list(out.glob(".*.tmp"))  # no temporary files left behind

    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["epochs"] == 1 and cfg["model"]["channel_config"] == [8, 16, 16] and cfg["data"] == str(frames_dir)

    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert tuple(rows[0]) == METRIC_COLUMNS and len(rows) == 1
    assert rows[0]["epoch"] == "1" and float(rows[0]["val_psnr"]) > 0 and 0 < float(rows[0]["val_ssim"]) <= 1

    ckpt = torch.load(out / "last.ckpt", weights_only=True)
    assert CKPT_KEYS <= set(ckpt) and ckpt["epoch"] == 1 and ckpt["step"] == 1
    assert "train_model" in ckpt and ckpt["ema_n_averaged"] == 1  # EMA on: model = EMA weights
    assert ckpt["train_config"]["ema"] == 0.9
    for name in ("best.ckpt", "epoch_001.ckpt"):
        assert CKPT_KEYS <= set(torch.load(out / name, weights_only=True))

    state = torch.load(out / "model_state_dict.pt", weights_only=True)  # the V1 LSTM code's way
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert not any("_orig_mod." in k or k.startswith("module.") for k in state)
    model = AutoEncoder_CNNV3.from_config(ckpt["model_config"])
    model.load_state_dict(state)
    x = torch.rand(2, 1, 32, 40)
    rebuilt = load_model(out / "best.ckpt")
    assert torch.allclose(rebuilt(x), model.eval()(x), atol=1e-6)
    assert torch.allclose(load_model(out / "model.safetensors")(x), model(x), atol=1e-6)

    lat = np.load(out / "val_latents.npz")
    assert lat["latents"].shape == (4, 128) and list(lat["frame_idx"]) == [0, 1, 2, 3]
    from aecnn.inference.latent_file import load_embeddings  # what fit-sequence reads

    emb = load_embeddings(out / "val_latents.npz")
    assert emb.latents.shape == (4, 128) and list(emb.frame_index) == [0, 1, 2, 3]
    assert emb.meta["latent_shape"] == [8, 4, 4]  # the test model: 128 values, 8 channels over 4x4
    assert len(set(lat["sequence"])) == 1 and lat["sequence_names"].shape == lat["viscosity"].shape == (1,)


def test_existing_run_is_not_overwritten(frames_dir, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--data", str(frames_dir), "--out", str(out), "--epochs", "1", *TINY,
            "--cache-dir", str(tmp_path / "cache"), "--no-tensorboard", "--recon-every", "0"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


@pytest.mark.slow
def test_compiled_run_saves_plain_keys(tmp_path):
    """--compile (first compile takes tens of seconds on CPU): files still have no _orig_mod. keys."""
    from train_helpers import SYNTH

    out = tmp_path / "run"
    assert main(["train", *SYNTH, "--out", str(out), "--epochs", "1", *TINY, "--compile",
                 "--no-tensorboard"]) == 0
    for name in ("last.ckpt", "model_state_dict.pt"):
        obj = torch.load(out / name, weights_only=True)
        keys = obj.get("model", obj)
        assert not any("_orig_mod." in k for k in keys)
