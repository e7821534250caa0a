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


def _spiking_loss(monkeypatch, factors: dict[int, float]) -> None:
    """Multiply the loss value (not its gradients) of the given training steps (1-based)."""
    calls = {"n": 0}
    real_forward = ReconstructionLoss.forward

    def forward(self, recon, target, latent=None):
        total, parts = real_forward(self, recon, target, latent)
        calls["n"] += recon.requires_grad  # training batches only, not validation
        f = factors.get(calls["n"], 1.0) if recon.requires_grad else 1.0
        return total + (f - 1) * total.detach(), parts

    monkeypatch.setattr(ReconstructionLoss, "forward", forward)


def test_a_loss_spike_is_named_when_it_starts_and_in_the_summary(frames_dir, tmp_path, capsys, monkeypatch):
    # 4 steps an epoch (8 frames, batch 2), segments of 3 steps: 4-6 and 16-18 straddle epochs
    monkeypatch.setattr(trainer_mod, "SPIKE_SEGMENT_STEPS", 3)
    _spiking_loss(monkeypatch, {13: 60.0, 14: 60.0, 15: 60.0, 17: 3000.0})
    out = tmp_path / "run"
    assert main(train_args(frames_dir, out, tmp_path, "--epochs", "5", "--batch-size", "2")) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "loss spike at step 15 (epoch 4)" in text and "over steps 13-15" in text
    assert "best.ckpt keeps the best validated weights" in text and text.count("loss spike at step") == 1
    # the summary names where the spike started and its peak (steps 16-18, about 1000x)
    assert "1 loss spike (from step 15; largest" in captured.out and "x at step 18)" in captured.out
    assert (out / "best.ckpt").is_file()


def test_a_spike_on_an_epochs_last_step_is_not_lost_at_the_boundary(frames_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(trainer_mod, "SPIKE_SEGMENT_STEPS", 3)
    _spiking_loss(monkeypatch, {16: 300.0})  # the last step of epoch 4; its segment ends at step 18, epoch 5
    assert main(train_args(frames_dir, tmp_path / "run", tmp_path, "--epochs", "5", "--batch-size", "2")) == 0
    text = "".join(capsys.readouterr())
    assert "loss spike at step 18 (epoch 5)" in text and "over steps 16-18" in text


def test_no_spike_is_reported_for_an_ordinary_run(frames_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(trainer_mod, "SPIKE_SEGMENT_STEPS", 1)
    assert main(train_args(frames_dir, tmp_path / "run", tmp_path, "--epochs", "3", "--batch-size", "2")) == 0
    captured = capsys.readouterr()
    assert "loss spike" not in captured.out + captured.err
