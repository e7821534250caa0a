"""Steering a running training with signals, the way the users already do.

* SIGINT (Ctrl-C) / SIGTERM (``kill``, SLURM, torchrun): finish the current step, save a
  checkpoint and exit cleanly. A second Ctrl-C aborts at once (no save).
* SIGUSR1: divide the learning rate by 5 (``kill -USR1 PID``), any number of times.
* SIGUSR2: write a checkpoint at the end of the current step, then go on.

Handlers only set flags; the training loop reads them between steps. Handlers can only be
installed from the main thread; elsewhere (e.g. in a notebook worker thread) they are
skipped with a log line.
"""
from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)

LR_DIVISOR = 5.0


class SignalFlags:
    """Flags set by signal handlers; a context manager that installs and restores them."""

    def __init__(self) -> None:
        self.stop_reason: str | None = None
        self.lr_drops = 0
        self.save_now = False
        self._old: dict[int, Any] = {}

    # handlers --------------------------------------------------------------
    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stop_reason is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # second Ctrl-C: abort now
        self.stop_reason = name
        logger.warning("%s received: saving a checkpoint after this step, then stopping "
                       "(Ctrl-C again to abort without saving)", name)

    def _on_usr1(self, signum: int, frame: FrameType | None) -> None:
        self.lr_drops += 1

    def _on_usr2(self, signum: int, frame: FrameType | None) -> None:
        self.save_now = True

    # installation ----------------------------------------------------------
    def __enter__(self) -> SignalFlags:  # noqa: PYI034
        if threading.current_thread() is not threading.main_thread():
            logger.info("not in the main thread: signal handlers not installed")
            return self
        table = {signal.SIGINT: self._on_stop, signal.SIGTERM: self._on_stop}
        for name, fn in (("SIGUSR1", self._on_usr1), ("SIGUSR2", self._on_usr2)):
            if hasattr(signal, name):  # not on Windows
                table[getattr(signal, name)] = fn
        for sig, fn in table.items():
            self._old[sig] = signal.signal(sig, fn)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()

    def take_lr_drops(self) -> int:
        """Pending SIGUSR1 count, reset to 0."""
        n, self.lr_drops = self.lr_drops, 0
        return n

    def take_save_now(self) -> bool:
        """Pending SIGUSR2, reset."""
        s, self.save_now = self.save_now, False
        return s
