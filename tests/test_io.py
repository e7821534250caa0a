"""Atomic writes: permissions."""
from __future__ import annotations


def test_atomic_writes_get_the_usual_permissions_whatever_the_writer(tmp_path):
    # safetensors re-creates its file 0600; model.safetensors used to be the one output others could not read
    import os

    import torch
    from safetensors.torch import save_file

    from aecnn.io import atomic_write

    umask = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "w.safetensors", lambda tmp: save_file({"a": torch.zeros(2)}, tmp))
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
