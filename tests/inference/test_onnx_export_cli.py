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
