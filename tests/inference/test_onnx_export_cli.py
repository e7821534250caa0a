from __future__ import annotations

import numpy as np
import pytest
import torch

from aecnn.checkpoint import load_model
from aecnn.cli import main

ort = pytest.importorskip("onnxruntime")


def test_export_onnx_checks_and_dynamic_batch(ckpt, tmp_path, capsys):
    out = tmp_path / "onnx"
    assert main(["export-onnx", str(ckpt), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.count("max abs difference vs PyTorch") == 2 and "FAILED" not in text
    assert sorted(p.name for p in out.iterdir()) == ["decoder.onnx", "encoder.onnx", "onnx.json"]  # self-contained
    model = load_model(ckpt)
    enc = ort.InferenceSession(str(out / "encoder.onnx"), providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(out / "decoder.onnx"), providers=["CPUExecutionProvider"])
    x = torch.rand(5, 1, 64, 64)  # a batch size the check did not use
    z = enc.run(None, {"image": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(z, model.encode(x).numpy(), atol=1e-4)
        y = dec.run(None, {"latent": z})[0]
        np.testing.assert_allclose(y, model.decode(torch.from_numpy(z)).numpy(), atol=1e-4)
    assert y.shape == (5, 1, 64, 64)


def test_export_onnx_fails_when_outputs_differ(ckpt, tmp_path, capsys, monkeypatch):
    from aecnn.inference import onnx_export

    def bad_check(path, module, inputs, atol=1e-4):
        return onnx_export.OnnxCheck(0.5, atol, 1.0, [1, 3])

    monkeypatch.setattr(onnx_export, "check_onnx", bad_check)
    rc = main(["export-onnx", str(ckpt), "--out", str(tmp_path / "o"), "--exporter", "torchscript"])
    captured = capsys.readouterr()
    assert rc == 2 and "FAILED" in captured.out
    assert captured.err.startswith("aecnn export-onnx: error: ONNX outputs differ") and "Traceback" not in captured.err


def test_a_failed_or_interrupted_export_leaves_the_earlier_one_as_it_was(ckpt, tmp_path, capsys, monkeypatch):
    import json

    from aecnn.inference import onnx_export

    out = tmp_path / "onnx"
    assert main(["export-onnx", str(ckpt), "--out", str(out), "--exporter", "torchscript"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert json.loads(before["onnx.json"])["ok"] is True

    def unloadable(path, module, inputs, atol=1e-4):  # as onnxruntime on an opset it does not know
        raise RuntimeError(f"onnxruntime cannot load {path.name}: InvalidGraph")

    monkeypatch.setattr(onnx_export, "check_onnx", unloadable)
    assert main(["export-onnx", str(ckpt), "--out", str(out), "--exporter", "torchscript"]) == 2
    assert "onnxruntime cannot load encoder.onnx" in capsys.readouterr().err
    # encoder.onnx and decoder.onnx used to be replaced beside an onnx.json that still said ok
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_unchecked_export_is_not_recorded_as_ok(ckpt, tmp_path, capsys):
    import json

    out = tmp_path / "onnx"
    assert main(["export-onnx", str(ckpt), "--out", str(out), "--exporter", "torchscript", "--no-check"]) == 0
    assert "not checked" in capsys.readouterr().out
    meta = json.loads((out / "onnx.json").read_text())
    assert meta["ok"] is False and meta["checked"] is False and meta["opset"] is not None


def test_ctrl_c_inside_an_exporter_error_is_recognised():
    from aecnn.inference.onnx_export import _interrupted

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:
            raise RuntimeError("torch.export failed at step 1/3") from inner
    except RuntimeError as wrapped:
        assert _interrupted(wrapped)  # was caught and answered with the TorchScript fallback
    assert not _interrupted(RuntimeError("unsupported op"))


def test_a_device_other_than_the_cpu_is_said_to_be_unused(ckpt, tmp_path, capsys):
    out = tmp_path / "onnx"
    assert main(["export-onnx", str(ckpt), "--out", str(out), "--exporter", "torchscript", "--no-check",
                 "--device", "cuda:1"]) == 0
    assert "--device cuda:1 is not used" in capsys.readouterr().err
    assert (out / "onnx.json").exists()
