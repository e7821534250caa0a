"""--height with width buckets, mixed-precision choices, and CPU fall-backs of the CUDA-only options."""
from __future__ import annotations

import pytest
import torch
from train_helpers import TINY, write_frames

from aecnn.cli import main
from aecnn.train.hardware import find_batch_size
from aecnn.train.optim import amp_dtype, make_scaler


def test_height_keeps_widths_in_buckets(tmp_path, capsys):
    data = tmp_path / "frames"
    write_frames(data, n_seq=2, n_frames=4, size=(32, 40))
    write_frames(data / "wide", n_seq=2, n_frames=4, size=(32, 56))  # sequences wide/exp_0, wide/exp_1
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--height", "32", *TINY,
                 "--cache-dir", str(tmp_path / "cache"), "--batch-size", "3", "--val-fraction", "0.25",
                 "--no-tensorboard", "--recon-every", "0"]) == 0
    text = capsys.readouterr().out
    assert "16 frames in 4 sequences" in text
    ckpt = torch.load(out / "last.ckpt", weights_only=True)
    assert ckpt["geometry"]["height"] == 32 and ckpt["geometry"]["input_size"] is None
    assert ckpt["model_config"]["input_size"][0] == 32


def test_mixed_sizes_without_geometry_is_a_clear_error(tmp_path, capsys):
    data = tmp_path / "frames"
    write_frames(data / "a", n_seq=1, size=(32, 40))
    write_frames(data / "b", n_seq=1, size=(48, 40))
    code = main(["train", "--data", str(data), "--out", str(tmp_path / "run"), *TINY,
                 "--cache-dir", str(tmp_path / "cache")])
    assert code == 2 and "--input-size H W" in capsys.readouterr().err


def test_amp_choices_on_cpu():
    cpu = torch.device("cpu")
    assert amp_dtype("auto", cpu) is None and amp_dtype("fp32", cpu) is None
    assert amp_dtype("bf16", cpu) is torch.bfloat16
    with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
        amp_dtype("fp16", cpu)
    assert not make_scaler(cpu, None).is_enabled()


def test_bf16_autocast_trains_on_cpu(tmp_path, capsys):
    from train_helpers import SYNTH

    out = tmp_path / "run"
    assert main(["train", *SYNTH, "--out", str(out), "--epochs", "1", *TINY, "--amp", "bf16",
                 "--no-tensorboard", "--recon-every", "0", "--channels-last", "--grad-accum", "2"]) == 0
    assert "amp bfloat16" in capsys.readouterr().out
    assert all(v.dtype == torch.float32 for v in torch.load(out / "model_state_dict.pt").values()
               if v.is_floating_point())  # weights stay fp32


def test_batch_size_auto_falls_back_on_cpu():
    notes = []
    assert find_batch_size(torch.nn.Identity(), (32, 32), torch.device("cpu"), None, False, 100, notes.append) == 16
    assert find_batch_size(torch.nn.Identity(), (32, 32), torch.device("cpu"), None, False, 5, notes.append) == 5
    assert "probing needs a CUDA device" in notes[0]


def test_early_stop_when_validation_stops_improving(tmp_path, capsys):
    """With a learning rate too small to move float32 weights, epoch 2 cannot improve on epoch 1."""
    from train_helpers import SYNTH

    out = tmp_path / "run"
    assert main(["train", *SYNTH, "--out", str(out), "--epochs", "5", *TINY, "--norm", "group", "--lr", "1e-30",
                 "--schedule", "none", "--early-stop", "1", "--no-tensorboard", "--recon-every", "0"]) == 0
    text = capsys.readouterr().out
    assert "early stop: no improvement for 1 epochs" in text and "early stop at epoch 2" in text
    assert torch.load(out / "last.ckpt", weights_only=True)["epoch"] == 2
