"""synth -> train -> embed -> fit-sequence on CPU, with the PCA baseline of the same latent size.

Marked slow (several minutes on 2 CPU cores). The README's numbers come from the same chain
run at a larger size (more sequences, 201x201, the small preset) on one GPU; see the README.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from aecnn.cli import main


@pytest.mark.slow
def test_pipeline_predicts_viscosity_of_unseen_sequences(tmp_path, monkeypatch, capsys):
    from aecnn.data.dataset import Geometry
    from aecnn.sequence import pca_embed

    monkeypatch.setenv("AECNN_CACHE_DIR", str(tmp_path / "cache"))
    syn, run = tmp_path / "syn", tmp_path / "run"
    assert main(["synth", "--out", str(syn), "--sequences", "20", "--frames", "24", "--kinds", "crop",
                 "--no-progress"]) == 0
    assert main(["train", "--data", str(syn / "crops"), "--preset", "tiny", "--input-size", "96", "96",
                 "--epochs", "4", "--batch-size", "16", "--val-fraction", "0.25", "--out", str(run),
                 "--device", "cpu", "--no-progress", "--no-tensorboard"]) == 0
    assert main(["embed", str(run / "best.ckpt"), str(syn / "crops"), "--out", str(tmp_path / "ae.npz"),
                 "--workers", "0", "--no-progress"]) == 0  # geometry (96x96 resize) read from the checkpoint
    split = json.loads((run / "split.json").read_text())
    pca_embed(syn / "crops", tmp_path / "pca.npz", 128, Geometry(input_size=(96, 96)),
              fit_sequences=split["train"], progress=False)
    results = {}
    for name in ("ae", "pca"):
        for how, extra in (("split", ["--split", str(run / "split.json")]), ("cv", ["--folds", "5"])):
            out = tmp_path / f"fit_{name}_{how}"
            assert main(["fit-sequence", str(tmp_path / f"{name}.npz"), str(syn / "metadata.csv"), "--out", str(out),
                         "--no-progress", *extra]) == 0
            results[f"{name}_{how}"] = json.loads((out / "results.json").read_text())
    capsys.readouterr()
    held_out = {r["sequence"] for r in results["ae_split"]["sequences"]}
    assert held_out == set(split["val"])  # unseen by the autoencoder and by the LSTM
    for name, r in results.items():
        print(f"{name}: R2 {r['r2']:.3f}, MAE {r['mae']:.3f} ({r['n_test_sequences']} held-out sequences)")
        assert np.isfinite(r["r2"])
    assert results["ae_cv"]["r2"] > 0.5
    assert results["ae_cv"]["r2"] > results["pca_cv"]["r2"]
