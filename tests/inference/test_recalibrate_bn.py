"""``aecnn recalibrate-bn``: BatchNorm statistics recomputed from frames (aecnn.batchnorm.recalibrate)."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from aecnn.batchnorm import RECALIBRATED, recalibrate, stale_batchnorm
from aecnn.checkpoint import load_checkpoint, load_model, save_checkpoint
from aecnn.cli import main
from aecnn.inference.reconstruct import expand_inputs, load_image
from aecnn.models import create_autoencoder


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.Dropout(0.5), nn.Conv2d(3, 2, 1), nn.BatchNorm2d(2))


def test_recalibrate_sets_the_exact_average_of_the_batches_statistics():
    net = _net()
    conv_w = net[0].weight.detach().clone()
    a, b = torch.rand(4, 1, 9, 9), 3 * torch.rand(4, 1, 9, 9) + 1
    assert recalibrate(net, [a, b]) == (2, 8)
    assert not net.training and all(not m.training for m in net.modules())
    assert torch.equal(net[0].weight, conv_w)  # weights untouched
    feats = [net[0](x) for x in (a, b)]
    mean = torch.stack([f.mean((0, 2, 3)) for f in feats]).mean(0)
    var = torch.stack([f.var((0, 2, 3), unbiased=True) for f in feats]).mean(0)
    torch.testing.assert_close(net[1].running_mean, mean)
    torch.testing.assert_close(net[1].running_var, var)
    assert net[1].momentum == 0.1  # restored: later training keeps torch's default
    # dropout stayed off during the pass: the second layer's statistics are those of the eval-mode features
    with torch.no_grad():
        second = [net[3](net[1].eval()(f)) for f in feats]
    torch.testing.assert_close(net[4].running_mean, torch.stack([s.mean((0, 2, 3)) for s in second]).mean(0))


def test_recalibrate_refuses_no_batches_and_keeps_the_old_statistics():
    net = _net()
    net[1].running_mean.fill_(0.25)
    with pytest.raises(ValueError, match="no images"):
        recalibrate(net, [])
    assert torch.all(net[1].running_mean == 0.25) and net[1].momentum == 0.1
    with pytest.raises(ValueError, match="no BatchNorm layer"):
        recalibrate(nn.Sequential(nn.Conv2d(1, 2, 3), nn.GroupNorm(1, 2)), [torch.rand(1, 1, 5, 5)])


def _stale_checkpoint(path):
    torch.manual_seed(0)
    model = create_autoencoder("tiny", input_size=(64, 64), channel_config=(8, 16, 16))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.num_batches_tracked.fill_(5)
    return save_checkpoint(path, model)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_the_command_writes_a_checkpoint_that_reconstructs_as_train_mode_does(frames_dir, tmp_path, caplog, capsys,
                                                                              suffix):
    src = _stale_checkpoint(tmp_path / "short.pt")
    before = src.read_bytes()
    out = tmp_path / f"recal{suffix}"
    with caplog.at_level(logging.WARNING, logger="aecnn"):
        assert main(["recalibrate-bn", str(src), str(frames_dir), "--out", str(out), "--batch-size", "6",
                     "--device", "cpu", "--no-progress"]) == 0
    assert "BatchNorm's running statistics" not in caplog.text  # the stale input is why it runs
    assert f"recomputed over 6 frames (1 batch): wrote {out}" in capsys.readouterr().out
    assert src.read_bytes() == before  # the input checkpoint is left as it was
    ckpt = load_checkpoint(out)
    assert ckpt[RECALIBRATED]["images"] == 6 and ckpt[RECALIBRATED]["source"] == str(src)
    # one batch of all six frames: eval mode with the new statistics == train-mode BatchNorm on that batch
    x = torch.stack([torch.from_numpy(load_image(p).pixels)[None] for p in expand_inputs([frames_dir])])
    new, old = load_model(out), load_model(src)
    for m in old.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.train()
    with torch.no_grad():  # not equal: train mode divides by the biased variance, running_var keeps the unbiased
        target = old(x)
        gap_new = (new(x) - target).abs().max().item()
        gap_stale = (load_model(src)(x) - target).abs().max().item()
    assert gap_new < 0.02 and gap_new < gap_stale / 10, (gap_new, gap_stale)
    assert stale_batchnorm(new) is not None  # the counter alone still looks short, hence the checkpoint key:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="aecnn"):
        assert main(["reconstruct", str(out), str(frames_dir), "--out", str(tmp_path / "r"), "--device", "cpu",
                     "--no-progress", "--no-figures"]) == 0
    assert "BatchNorm" not in caplog.text


def test_the_command_never_overwrites_and_skips_unreadable_frames(frames_dir, tmp_path, capsys):
    src = _stale_checkpoint(tmp_path / "short.pt")
    taken = tmp_path / "taken.pt"
    taken.write_bytes(b"keep me")
    assert main(["recalibrate-bn", str(src), str(frames_dir), "--out", str(taken), "--device", "cpu"]) == 2
    assert "exists" in capsys.readouterr().err and taken.read_bytes() == b"keep me"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"not a png")
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(bad / "ok.png")
    assert main(["recalibrate-bn", str(src), str(bad), "--out", str(tmp_path / "a.pt"), "--device", "cpu",
                 "--no-progress"]) == 0
    assert "over 1 frame (1 batch); 1 unreadable frame skipped" in capsys.readouterr().out
    assert main(["recalibrate-bn", str(src), str(bad), "--out", str(tmp_path / "b.pt"), "--device", "cpu",
                 "--no-progress", "--strict"]) == 2
    assert "broken.png" in capsys.readouterr().err and not (tmp_path / "b.pt").exists()
