"""The benchmark's pieces on the CPU: timing, batch rule, byte sizes, report, loader."""
from __future__ import annotations

import torch

from aecnn.bench import fill_batch, measure
from aecnn.bench.memory import parse_bytes, target_batch
from aecnn.bench.report import comparisons, merge, to_markdown


def test_measure_on_cpu_reports_median_of_repeats():
    calls = []
    t = measure(lambda i: calls.append(i), torch.device("cpu"), warmup=2, repeats=3, iters=4)
    assert len(t.per_call_s) == 3 and t.iters == 4 and t.median_s >= 0
    assert calls == list(range(2 + 3 * 4))  # the index counts every call, warm-up first


def test_fill_batch_rule():
    assert fill_batch("medium", (201, 201)) == 256
    assert fill_batch("large", (201, 201)) == 128
    assert fill_batch("small", (201, 201)) == 512
    assert fill_batch("tiny", (201, 201)) == 1024
    assert [fill_batch(p, (152, 1280)) for p in ("tiny", "small", "medium", "large")] == [256, 128, 64, 32]


def test_parse_bytes_and_targets():
    assert parse_bytes("8GiB") == 8 * 2**30 and parse_bytes("8GB") == 8 * 10**9 and parse_bytes("512MiB") == 2**29
    for bad in ("8 parsecs", "-1GiB", "0"):
        try:
            parse_bytes(bad)
        except ValueError as exc:
            assert "memory size" in str(exc)
        else:
            raise AssertionError(bad)
    assert target_batch("large", (201, 201)) == 8 and target_batch("large", (152, 1280)) == 4


def _row(**kw):
    base = {"preset": "small", "input_size": [201, 201], "batch": 8, "mode": "train", "dtype": "bf16",
            "channels_last": True, "compiled": False, "attention": True, "overrides": {}, "img_per_s": 100.0,
            "ms_per_step": 80.0, "gflop_per_img": 14.0, "tflops": 1.4, "params": 2.6e6}
    return {**base, **kw}


def test_comparisons_and_merge():
    rows = [_row(), _row(compiled=True, img_per_s=150.0), _row(attention=False, img_per_s=104.0),
            _row(mode="infer", img_per_s=320.0, gflop_per_img=4.7)]
    c = comparisons(rows)
    assert abs(c["compile"][0]["speedup"] - 1.5) < 1e-9
    assert abs(c["attention"][0]["cost"] - (1 - 100 / 104)) < 1e-9
    ivt = [x for x in c["infer_vs_train"] if x["row"]["attention"]]
    assert abs(ivt[0]["ratio"] - 320 / 150) < 1e-9  # best inference over best training
    m = merge([{"meta": {"command": "a"}, "rows": rows[:2], "ceiling": {"conv_tflops": 300.0}},
               {"meta": {"command": "b"}, "rows": rows[2:], "memory": []}])
    assert len(m["rows"]) == 4 and m["ceiling"]["conv_tflops"] == 300.0 and m["meta"]["command"] == "a; b"
    md = to_markdown(m)
    assert "torch.compile vs eager" in md and "1.50" in md


def test_loader_on_a_png_folder(tmp_path):
    from aecnn.bench.loader import bench_loader
    from aecnn.data.synth import SynthConfig, write_dataset

    root = write_dataset(tmp_path / "synth", SynthConfig(n_sequences=2, frames_per_sequence=4), kinds=("crop",),
                         progress=False)
    rows = bench_loader(root / "crops", (64, 64), batch_size=4, workers=[0], device=torch.device("cpu"),
                        epochs=1, cache_dir=tmp_path / "cache", min_images=8)
    assert rows[0]["frames"] == 8 and rows[0]["images"] >= 8 and rows[0]["img_per_s"] > 0
    assert rows[0]["input_size"] == [64, 64]


def test_ceilings_print_three_significant_digits_without_an_exponent():
    from aecnn.bench.report import to_markdown

    md = to_markdown({"meta": {}, "ceiling": {"conv_tflops": 1234.5, "conv_train_tflops": 41.23,
                                              "copy_tb_s": 4.218, "matmul_tflops": 0.2137}})
    assert "channels_last 1234 TFLOP/s forward, 41.2 forward+backward; device copy 4.22 TB/s" in md
    assert "bf16 matmul 0.214 TFLOP/s" in md
