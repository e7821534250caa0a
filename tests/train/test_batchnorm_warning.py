"""A run too short for BatchNorm's running statistics says so (eval mode normalises with them)."""
from __future__ import annotations

import logging
import shlex

import pytest
import torch
from torch import nn
from train_helpers import TINY

from aecnn.batchnorm import MAX_SHARE, stale_batchnorm
from aecnn.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")


def _bn_model(tracked: tuple[int, ...], momentum: float | None = 0.1) -> nn.Module:
    layers = [nn.BatchNorm2d(4, momentum=momentum) for _ in tracked]
    for layer, n in zip(layers, tracked):
        layer.num_batches_tracked.fill_(n)
    return nn.Sequential(nn.Conv2d(1, 4, 3), *layers)


def test_stale_batchnorm_reports_the_least_updated_layer():
    n, share = stale_batchnorm(_bn_model((500, 3, 40)))
    assert n == 3 and share == pytest.approx(0.9 ** 3)
    assert stale_batchnorm(_bn_model((500, 200))) is None  # 0.9 ** 200: settled
    assert stale_batchnorm(_bn_model((0, 0))) is None  # untrained, or a state_dict without the counter: unknown
    assert 0.9 ** 65 > MAX_SHARE > 0.9 ** 66  # the threshold sits at about 66 batches
    assert stale_batchnorm(_bn_model((3,), momentum=None)) is None  # a cumulative average has no starting value left
    assert stale_batchnorm(nn.Sequential(nn.Conv2d(1, 4, 3), nn.GroupNorm(2, 4))) is None


def test_a_short_run_warns_and_a_group_norm_run_does_not(frames_dir, tmp_path, caplog):
    common = ["train", "--data", str(frames_dir), "--epochs", "1", *TINY, "--cache-dir", str(tmp_path / "cache")]
    with caplog.at_level(logging.WARNING, logger="aecnn"):
        assert main([*common, "--out", str(tmp_path / "bn")]) == 0
    warned = [r.getMessage() for r in caplog.records if "BatchNorm's running statistics" in r.getMessage()]
    assert len(warned) == 1 and "--norm group" in warned[0] and "no validation set" not in warned[0]
    ckpt = torch.load(tmp_path / "bn" / "best.ckpt", weights_only=True)
    n = min(int(v) for k, v in ckpt["model"].items() if k.endswith("num_batches_tracked"))
    assert f"rest on {n} training batch" in warned[0]
    # the warning ends with the command for this run, and that command runs
    cmd = warned[0].split("; for this run: aecnn ", 1)[1].rstrip(".")
    assert cmd.startswith(f"recalibrate-bn {tmp_path / 'bn' / 'best.ckpt'} {frames_dir} --out ")
    assert main([*shlex.split(cmd), "--device", "cpu", "--no-progress"]) == 0
    assert (tmp_path / "bn" / "best_recalibrated.ckpt").is_file()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="aecnn"):
        assert main([*common, "--out", str(tmp_path / "noval"), "--val-fraction", "0"]) == 0
    assert [r for r in caplog.records if "(there was no validation set to show it); for this run: " in r.getMessage()]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="aecnn"):
        assert main([*common, "--out", str(tmp_path / "gn"), "--norm", "group"]) == 0
    assert not [r for r in caplog.records if "BatchNorm" in r.getMessage()]


def test_reconstruct_and_embed_warn_on_a_checkpoint_with_stale_statistics(frames_dir, tmp_path, caplog, capsys):
    from aecnn.checkpoint import load_model, save_checkpoint
    from aecnn.models import create_autoencoder

    model = create_autoencoder("tiny", input_size=(32, 40), channel_config=(8, 16, 16))
    fresh = save_checkpoint(tmp_path / "fresh.pt", model)  # never trained: no counter to judge by
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.num_batches_tracked.fill_(5)
    short = save_checkpoint(tmp_path / "short.pt", model)
    assert stale_batchnorm(load_model(short))[0] == 5
    for ckpt, expect in ((short, 1), (fresh, 0)):
        for cmd in (["reconstruct", str(ckpt), str(frames_dir), "--out", str(tmp_path / f"r_{ckpt.stem}")],
                    ["embed", str(ckpt), str(frames_dir), "--out", str(tmp_path / f"{ckpt.stem}.npz")]):
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="aecnn"):
                assert main([*cmd, "--device", "cpu", "--no-progress"]) == 0
            warned = [r.getMessage() for r in caplog.records if "BatchNorm's running statistics" in r.getMessage()]
            assert len(warned) == expect, (cmd, warned)
            if expect:
                assert warned[0].startswith(f"{ckpt}: BatchNorm's running statistics rest on 5 training batches")
    capsys.readouterr()
