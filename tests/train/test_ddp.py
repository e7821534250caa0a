"""Two processes on gloo (torchrun) train exactly like one process with the same global batch
(batch 2 x 2 ranks == batch 2 x 2 accumulation steps); only rank 0 writes; a DDP run resumes."""
from __future__ import annotations

import csv
import subprocess

import pytest
import torch
import torch.distributed as dist
from train_helpers import PYTHON, subprocess_env

from aecnn.checkpoint import load_checkpoint
from aecnn.cli import main

pytestmark = pytest.mark.skipif(not dist.is_available(),
                                reason="torch.distributed not available")

# GroupNorm: with BatchNorm the weights still match, but each rank keeps its own running statistics
ARGS = ["--synthetic", "--synthetic-sequences", "4", "--synthetic-frames", "8", "--input-size", "32", "32",
        "--preset", "tiny", "--channels", "8", "16", "16", "--norm", "group", "--device", "cpu", "--no-progress",
        "--no-tensorboard", "--recon-every", "0", "--batch-size", "2", "--schedule", "cosine", "--ema", "0.9",
        "--threads", "1"]


def torchrun(*args: str) -> str:
    cmd = [PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "aecnn", "train",
           *ARGS, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_two_processes_match_one_and_resume(tmp_path):
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    out = torchrun("--out", str(ddp), "--epochs", "1")
    assert out.count("epoch 1/1") == 1  # only rank 0 reports
    assert "2 process(es) on cpu" in out
    out = torchrun("--out", str(ddp), "--epochs", "2", "--resume", str(ddp))
    assert "resumed from" in out and out.count("epoch 2/2") == 1
    assert main(["train", *ARGS, "--out", str(single), "--epochs", "2", "--grad-accum", "2"]) == 0

    a, b = load_checkpoint(ddp / "last.ckpt"), load_checkpoint(single / "last.ckpt")
    assert a["step"] == b["step"] == 12  # 24 train frames, global batch 4, 2 epochs
    for key in ("model", "train_model"):
        for k in a[key]:
            assert torch.allclose(a[key][k].float(), b[key][k].float(), atol=1e-5, rtol=1e-4), (key, k)
    rows_a = list(csv.DictReader((ddp / "metrics.csv").open()))
    rows_b = list(csv.DictReader((single / "metrics.csv").open()))
    assert [r["epoch"] for r in rows_a] == ["1", "2"]  # one writer, no duplicated rows
    for ra, rb in zip(rows_a, rows_b):
        for col in ("train_loss", "val_loss", "val_psnr", "val_ssim", "lr"):
            assert float(ra[col]) == pytest.approx(float(rb[col]), rel=1e-4), col
    assert not list(ddp.glob(".*.tmp"))
