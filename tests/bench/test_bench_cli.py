"""`aecnn bench` on the CPU: flags, outputs, and clean errors (fast; no GPU needed)."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest
import torch

from aecnn.cli import main
from aecnn.cli.bench import add_arguments, canonical_command

FAST = ["--device", "cpu", "--repeats", "1", "--warmup", "1", "--min-time", "0.01"]


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(argv)


def test_seed_flag_spellings_parse():
    a = _parse(["--preset", "small", "--input_size", "201", "201", "--batch_size", "16"])
    assert a.preset == ["small"] and a.input_size == [[201, 201]] and a.batch_size == [16]
    b = _parse(["--preset", "tiny", "large", "--input-size", "201", "201", "--input-size", "152", "1280",
                "--batch-size", "8", "auto", "--compile", "--dtype", "fp32", "bf16", "--channels-last",
                "--mode", "train"])
    assert b.preset == ["tiny", "large"] and b.input_size == [[201, 201], [152, 1280]]
    assert b.batch_size == [8, "auto"] and b.compile == "on" and b.dtype == ["fp32", "bf16"]
    assert b.channels_last == "on" and b.mode == "train"
    assert _parse(["--compile", "both"]).compile == "both"


def test_bad_batch_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        _parse(["--batch-size", "0"])
    assert "batch size" in capsys.readouterr().err


def test_cpu_run_writes_json_and_markdown(tmp_path, capsys):
    rc = main(["bench", "--preset", "tiny", "--input-size", "64", "64", "--batch-size", "2", *FAST,
               "--out", str(tmp_path), "--name", "t"])
    assert rc == 0
    res = json.loads((tmp_path / "t.json").read_text())
    assert res["meta"]["torch"] == torch.__version__ and "commit" in res["meta"] and "date" in res["meta"]
    assert res["meta"]["command"].startswith("aecnn bench")
    assert res["ceiling"]["conv_tflops"] > 0 and res["ceiling"]["copy_tb_s"] > 0
    rows = res["rows"]
    assert [r["mode"] for r in rows] == ["train", "infer"]
    for r in rows:
        assert "error" not in r, r
        assert r["preset"] == "tiny" and r["input_size"] == [64, 64] and r["batch"] == 2
        for key in ("img_per_s", "ms_per_step", "gflop_per_img", "tflops", "frac_ceiling", "params"):
            assert r[key] > 0, key
    assert rows[0]["gflop_per_img"] > rows[1]["gflop_per_img"]  # forward+backward > forward
    md = (tmp_path / "t.md").read_text()
    assert "| preset | H×W | batch | mode |" in md and "img/s" in md and "% ceiling" in md
    assert "Inference vs training" in md
    # a CPU's ceilings are fractions of a TFLOP/s: three significant digits, not a rounded "0"
    ceiling = float(md.split("channels_last ", 1)[1].split(" TFLOP/s", 1)[0])
    assert ceiling == pytest.approx(res["ceiling"]["conv_tflops"], rel=5e-3)
    assert "tiny" in capsys.readouterr().out


def test_attention_and_mode_axes(tmp_path):
    rc = main(["bench", "--preset", "tiny", "--input-size", "64", "96", "--batch-size", "2", *FAST,
               "--no-ceiling", "--attention", "both", "--mode", "train", "--out", str(tmp_path)])
    assert rc == 0
    rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert sorted(r["attention"] for r in rows) == [False, True]
    assert all(r["mode"] == "train" and "frac_ceiling" not in r for r in rows)
    assert "Attention on vs off" in (tmp_path / "bench.md").read_text()


def test_max_memory_on_cpu_is_a_clean_error(capsys):
    rc = main(["bench", "--preset", "tiny", "--max-memory", "8GiB", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "needs CUDA" in err and "Traceback" not in err


def test_cuda_device_without_cuda_is_a_clean_error(capsys):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")
    assert main(["bench", "--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def test_canonical_command_reparses():
    argv = ["--preset", "small", "medium", "--input-size", "201", "201", "--input-size", "152", "1280",
            "--batch-size", "auto", "--compile", "both", "--profile", "--channels", "8", "16", "32", "--no-attention"]
    a = _parse(argv)
    cmd = canonical_command(a)
    assert cmd.startswith("aecnn bench ")
    again = _parse(cmd.split()[2:])
    assert vars(again) == vars(a)


def test_bench_imports_no_optional_dependencies():
    code = ("import sys, aecnn.cli.bench, aecnn.bench, aecnn.bench.memory, aecnn.bench.loader, aecnn.bench.ddp, "
            "aecnn.bench.report, aecnn.bench.breakdown; "
            "bad = [m for m in ('pytorch_msssim', 'h5py', 'tensorboard') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bench_and_memory_cap(tmp_path):
    assert main(["bench", "--preset", "tiny", "--input-size", "64", "64", "--batch-size", "4", "--device", "cuda",
                 "--repeats", "2", "--compile", "off", "--profile", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert all(r["peak_gib"] > 0 and r["frac_ceiling"] > 0 for r in rows)
    assert main(["bench", "--preset", "tiny", "--input-size", "64", "64", "--max-memory", "2GiB",
                 "--search-limit", "64", "--out", str(tmp_path), "--name", "mem"]) == 0
    mem = json.loads((tmp_path / "mem.json").read_text())["memory"]
    assert mem[0]["max_batch"] >= 1 and mem[0]["target_ok"] is True


def test_a_run_where_every_row_failed_exits_non_zero(capsys):
    # used to print "error: ..." in every row and exit 0
    rc = main(["bench", *FAST, "--no-ceiling", "--preset", "tiny", "--input-size", "64", "64", "--batch-size", "2",
               "--mode", "infer", "--latent-size", "7"])
    assert rc == 2 and "every benchmark row failed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parse(["--repeats", "0"])
    assert "--repeats: must be at least 1" in capsys.readouterr().err


def test_auto_batch_on_the_cpu_is_refused(capsys):
    # it used to pick the H200's 4096 and run for minutes without a line
    assert main(["bench", *FAST, "--no-ceiling", "--preset", "tiny", "--input-size", "64", "64",
                 "--batch-size", "auto"]) == 2
    assert "on the CPU give sizes" in capsys.readouterr().err
