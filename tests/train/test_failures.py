"""Bad data and diverging runs stop with one clear message: NaN names the step and keeps the last
good checkpoint; a corrupt frame is skipped and counted (or, --strict, an error); an empty
folder is an error before any model is built."""
from __future__ import annotations

import pytest
import torch
from train_helpers import TINY

from aecnn.cli import main
from aecnn.train import trainer as trainer_mod
from aecnn.train.losses import ReconstructionLoss


def train_args(data, out, tmp_path, *extra):
    return ["train", "--data", str(data), "--out", str(out), *TINY, "--cache-dir", str(tmp_path / "cache"),
            "--no-tensorboard", "--recon-every", "0", *extra]


def test_nan_loss_stops_naming_the_step_and_keeps_last_good(frames_dir, tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert main(train_args(frames_dir, out, tmp_path, "--epochs", "1", "--batch-size", "2")) == 0
    good = (out / "last.ckpt").read_bytes()
    best = (out / "model_state_dict.pt").read_bytes()
    capsys.readouterr()
    calls = {"n": 0}
    real_forward = ReconstructionLoss.forward

    def nan_on_second_batch(self, recon, target, latent=None):
        total, parts = real_forward(self, recon, target, latent)
        calls["n"] += 1
        return (total * float("nan") if calls["n"] == 2 else total), parts

    monkeypatch.setattr(ReconstructionLoss, "forward", nan_on_second_batch)
    code = main(train_args(frames_dir, out, tmp_path, "--epochs", "3", "--batch-size", "2", "--resume", str(out)))
    err = capsys.readouterr().err
    assert code != 0
    # epoch 1 had 4 steps (8 frames, batch 2); the resumed run's 2nd batch is step 6
    assert "loss became nan at step 6 (epoch 2, batch 2)" in err
    assert "last good checkpoint" in err and "Traceback" not in err
    assert (out / "last.ckpt").read_bytes() == good and (out / "model_state_dict.pt").read_bytes() == best
    assert torch.load(out / "last.ckpt", weights_only=True)["epoch"] == 1


def test_corrupt_frame_is_skipped_and_counted(frames_dir, tmp_path, capsys):
    bad = frames_dir / "exp_1" / "frame_9.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    assert main(train_args(frames_dir, tmp_path / "run", tmp_path, "--epochs", "1")) == 0
    out = capsys.readouterr().out
    assert "1 unreadable file(s) skipped" in out and str(bad) in out
    assert "12 frames in 3 sequences" in out


def test_corrupt_frame_with_strict_is_an_error(frames_dir, tmp_path, capsys):
    bad = frames_dir / "exp_1" / "frame_9.png"
    bad.write_bytes(b"not an image at all")
    code = main(train_args(frames_dir, tmp_path / "run", tmp_path, "--epochs", "1", "--strict"))
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["empty", "no_images", "missing"])
def test_bad_data_folder_fails_before_the_model_is_built(tmp_path, capsys, monkeypatch, kind):
    data = tmp_path / "data"
    if kind != "missing":
        data.mkdir()
    if kind == "no_images":
        (data / "notes.txt").write_text("no frames here")

    def no_model(*a, **k):
        raise AssertionError("the model was built before the data was checked")

    monkeypatch.setattr(trainer_mod, "AutoEncoder_CNNV3", no_model)
    code = main(train_args(data, tmp_path / "run", tmp_path, "--epochs", "1"))
    err = capsys.readouterr().err
    assert code == 2 and str(data) in err and "Traceback" not in err
    assert {"empty": "empty", "no_images": "no images", "missing": "does not exist"}[kind] in err
    assert not (tmp_path / "run" / "last.ckpt").exists()


def test_no_data_given(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "run"), *TINY]) == 2
    assert "--data DIR" in capsys.readouterr().err


def test_a_loss_spike_is_named_when_it_starts_and_in_the_summary(frames_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(trainer_mod, "SPIKE_SEGMENT_STEPS", 1)  # one step a segment: 4 segments an epoch
    calls = {"n": 0}
    real_forward = ReconstructionLoss.forward

    def spike_at_step_9(self, recon, target, latent=None):  # the value only: the gradients stay the same
        total, parts = real_forward(self, recon, target, latent)
        calls["n"] += recon.requires_grad  # training batches only, not validation
        return (total + 99 * total.detach() if recon.requires_grad and calls["n"] == 9 else total), parts

    monkeypatch.setattr(ReconstructionLoss, "forward", spike_at_step_9)
    out = tmp_path / "run"
    assert main(train_args(frames_dir, out, tmp_path, "--epochs", "3", "--batch-size", "2")) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "loss spike at step 9 (epoch 3)" in text and "best.ckpt keeps the best validated weights" in text
    assert "1 loss spike (steps 9; largest" in captured.out
    assert (out / "best.ckpt").is_file()


def test_no_spike_is_reported_for_an_ordinary_run(frames_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(trainer_mod, "SPIKE_SEGMENT_STEPS", 1)
    assert main(train_args(frames_dir, tmp_path / "run", tmp_path, "--epochs", "3", "--batch-size", "2")) == 0
    captured = capsys.readouterr()
    assert "loss spike" not in captured.out + captured.err
