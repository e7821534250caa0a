from __future__ import annotations

from aecnn.cli import main


def test_info_prints_params_flops_latent(capsys):
    assert main(["info", "--preset", "tiny", "--input-size", "64", "96"]) == 0
    out = capsys.readouterr().out
    assert "parameters:" in out and "GFLOP per image:" in out and "128 values" in out and "native shape (B, " in out


def test_info_bad_latent_one_line_error(capsys):
    assert main(["info", "--preset", "tiny", "--latent-size", "509", "--latent-strategy", "spatial"]) == 2
    err = capsys.readouterr().err
    assert "nearest sizes that work" in err and "Traceback" not in err
