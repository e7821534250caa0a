"""SIGTERM saves a checkpoint and exits with status 143 (128 + SIGTERM); SIGUSR1 divides the learning rate by 5;
a checkpoint write interrupted mid-way leaves the previous file intact."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest
import torch
from train_helpers import PYTHON, SYNTH, TINY, subprocess_env

from aecnn.checkpoint import load_checkpoint, save_checkpoint
from aecnn.models import create_autoencoder
from aecnn.train.optim import LRSchedule
from aecnn.train.signals import SignalFlags

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")


def _wait_for(proc: subprocess.Popen, lines: list[str], text: str, timeout: float = 90) -> None:
    """Read the child's output into ``lines`` until a line contains ``text``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        if text in line:
            return
    proc.kill()
    raise AssertionError(f"never saw {text!r}; output:\n{''.join(lines)}")


def test_sigusr1_lowers_lr_and_sigterm_saves_and_exits(tmp_path):
    out = tmp_path / "run"
    cmd = [PYTHON, "-m", "aecnn", "train", *SYNTH, *TINY, "--out", str(out), "--epochs", "100000",
           "--schedule", "none", "--warmup-epochs", "0", "--lr", "0.001", "--batch-size", "2", "--no-tensorboard",
           "--recon-every", "0", "--threads", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=subprocess_env())
    watchdog = threading.Timer(150, proc.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        _wait_for(proc, lines, "epoch 1/")  # one epoch done: last.ckpt exists
        os.kill(proc.pid, signal.SIGUSR1)
        _wait_for(proc, lines, "SIGUSR1: learning rate divided by 5")
        os.kill(proc.pid, signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    finally:
        watchdog.cancel()
    text = "".join(lines) + rest
    assert proc.returncode == 128 + signal.SIGTERM, text  # saved, but not finished: `train && next` stops
    assert "stopped by SIGTERM" in text and f"aecnn train --resume {out}" in text
    ckpt = torch.load(out / "last.ckpt", weights_only=True)  # complete and loadable
    assert ckpt["scheduler"]["user_scale"] == pytest.approx(0.2)
    assert ckpt["step"] >= 6  # 3 steps per epoch, at least one step after SIGUSR1
    assert not list(out.glob(".*.tmp"))


def test_signal_flags_in_process():
    with SignalFlags() as flags:
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR2)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
        assert flags.take_lr_drops() == 2 and flags.take_lr_drops() == 0
        assert flags.take_save_now() and flags.stop_reason == "SIGTERM"
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C aborts at once
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))
    sched = LRSchedule("none", 1e-3, 0, 100)
    sched.divide(5.0)
    assert sched.lr(10) == pytest.approx(2e-4)


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    """torch.save dies half-way through (as a kill would): the old file is untouched and loads."""
    path = tmp_path / "last.ckpt"
    model = create_autoencoder("tiny", input_size=(32, 32), channel_config=(8, 16, 16))
    save_checkpoint(path, model, epoch=1)
    before = path.read_bytes()
    real_save = torch.save

    def dying_save(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, epoch=2)
    monkeypatch.setattr(torch, "save", real_save)
    assert path.read_bytes() == before
    assert load_checkpoint(path)["epoch"] == 1
    assert list(tmp_path.iterdir()) == [path]  # the temporary file is gone


def test_sigkill_during_saves_never_leaves_a_broken_file(tmp_path):
    """A process rewriting a 40 MB checkpoint in a loop is SIGKILLed: the file still loads."""
    path = tmp_path / "last.ckpt"
    code = ("import sys, torch\n"
            "from aecnn.checkpoint import save_checkpoint\n"
            "from aecnn.models import create_autoencoder\n"
            "m = create_autoencoder('tiny', input_size=(32, 32), channel_config=(8, 16, 16))\n"
            "i = 0\n"
            "while True:\n"
            "    save_checkpoint(sys.argv[1], m, epoch=i, blob=torch.full((10_000_000,), float(i)))\n"
            "    i += 1\n"
            "    print(i, flush=True)\n")
    proc = subprocess.Popen([PYTHON, "-c", code, str(path)], stdout=subprocess.PIPE, text=True, env=subprocess_env())
    try:
        assert proc.stdout.readline().strip() == "1"  # one complete file exists
        time.sleep(0.3)  # now most likely in the middle of the next write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    ckpt = load_checkpoint(path)
    assert ckpt["blob"][0].item() == ckpt["epoch"]
