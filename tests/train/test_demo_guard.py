"""`aecnn demo` replaces an earlier demo run, never another training run without --overwrite."""
from __future__ import annotations

import yaml

from aecnn.cli import main
from aecnn.cli.demo import DEMO, _other_run


def _run_folder(path, **cfg):
    path.mkdir()
    (path / "last.ckpt").write_bytes(b"x")
    (path / "config.yaml").write_text(yaml.safe_dump(cfg))
    return path


def test_another_run_is_refused_and_left_alone(tmp_path, capsys):
    run = _run_folder(tmp_path / "mine", data="frames", preset="small", input_size=[201, 201])
    assert main(["demo", "--out", str(run), "--epochs", "1"]) == 2
    assert "holds a training run that is not a demo run" in capsys.readouterr().err
    assert (run / "last.ckpt").read_bytes() == b"x"


def test_an_earlier_demo_run_or_an_empty_folder_may_be_replaced(tmp_path):
    demo = {k: list(v) if isinstance(v, tuple) else v for k, v in DEMO.items()}
    assert not _other_run(_run_folder(tmp_path / "demo", **demo))
    assert not _other_run(tmp_path / "nothing_here")
    assert _other_run(_run_folder(tmp_path / "other", **{**demo, "preset": "small"}))
