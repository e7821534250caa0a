"""--resume continues exactly: 2 epochs + 2 more == 4 straight; an interrupted epoch resumes mid-way."""
from __future__ import annotations

import pytest
import torch

from aecnn.checkpoint import load_checkpoint
from aecnn.train import TrainConfig, train
from aecnn.train import trainer as trainer_mod

BASE = {"synthetic": True, "synthetic_sequences": 4, "synthetic_frames": 6, "input_size": (32, 32),
        "preset": "tiny", "model": {"channel_config": [8, 16, 16], "DropOut": True}, "batch_size": 4,
        "device": "cpu", "progress": False, "tensorboard": False, "recon_every": 0, "ema": 0.9, "clip_grad": 1.0,
        "loss": "mse:0.8,ssim:0.2", "ib_weight": 0.01}


def assert_same_weights(a_path, b_path):
    a, b = load_checkpoint(a_path), load_checkpoint(b_path)
    for key in ("model", "train_model"):  # EMA weights and raw weights
        assert a[key].keys() == b[key].keys()
        for k in a[key]:
            assert torch.allclose(a[key][k].float(), b[key][k].float(), atol=1e-6, rtol=1e-5), (key, k)
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert all(torch.allclose(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"], atol=1e-9) for i in sa)
    assert a["step"] == b["step"] and a["epoch"] == b["epoch"]
    for ra, rb in zip(a["history"], b["history"]):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-5)
        assert ra["val_psnr"] == pytest.approx(rb["val_psnr"], rel=1e-5)


def test_two_plus_two_equals_four(tmp_path):
    """Extending a run with a larger --epochs (a cosine schedule would be re-planned over the new
    length, so plateau here; its state is restored too)."""
    base = {**BASE, "schedule": "plateau", "plateau_patience": 0}
    straight, split = tmp_path / "straight", tmp_path / "split"
    train(TrainConfig(out=str(straight), epochs=4, **base))
    train(TrainConfig(out=str(split), epochs=2, **base))
    result = train(TrainConfig(out=str(split), epochs=4, resume=str(split), **base))
    assert result.epochs_done == 4
    assert_same_weights(straight / "last.ckpt", split / "last.ckpt")
    before = (split / "config.yaml").read_text()
    with pytest.raises(ValueError, match=r"has done 4 epoch\(s\).*more than 4"):  # used to train nothing, silently
        train(TrainConfig(out=str(split), epochs=3, resume=str(split), **base))
    assert (split / "config.yaml").read_text() == before


def test_interrupted_mid_epoch_resumes_exactly(tmp_path, monkeypatch):
    """A stop request in the middle of epoch 2 (as Ctrl-C/SIGTERM would) with a cosine schedule:
    resuming with the same --epochs matches the uninterrupted run."""
    base = {**BASE, "schedule": "cosine", "grad_accum": 2, "batch_size": 2}
    straight, cut = tmp_path / "straight", tmp_path / "cut"
    train(TrainConfig(out=str(straight), epochs=3, **base))

    original = trainer_mod.Trainer._optimizer_step

    def stop_after_step_7(self):  # the flag is read before the next step, as a signal's would be
        lr = original(self)
        if self.step == 6:  # 18 train frames: 9 batches of 2, 5 steps per epoch; step 7 ends 4 batches into epoch 2
            self.flags.stop_reason = "TEST"
        return lr

    monkeypatch.setattr(trainer_mod.Trainer, "_optimizer_step", stop_after_step_7)
    result = train(TrainConfig(out=str(cut), epochs=3, **base))
    assert result.stopped == "TEST" and result.epochs_done == 1 and result.step == 7
    ckpt = torch.load(cut / "last.ckpt", weights_only=True)
    assert ckpt["batches_done"] == 4 and ckpt["partial"]["images"] == 8
    monkeypatch.setattr(trainer_mod.Trainer, "_optimizer_step", original)
    train(TrainConfig(out=str(cut), epochs=3, resume=str(cut), **base))
    assert_same_weights(straight / "last.ckpt", cut / "last.ckpt")


def test_resume_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no last.ckpt"):
        train(TrainConfig(out=str(tmp_path), epochs=1, resume=str(tmp_path), **BASE))
    run = tmp_path / "run"
    train(TrainConfig(out=str(run), epochs=1, **BASE))
    other = {**BASE, "model": {"channel_config": [8, 16, 32]}}
    with pytest.raises(ValueError, match="model differs"):
        train(TrainConfig(out=str(run), epochs=2, resume=str(run), **other))
