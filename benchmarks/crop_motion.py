"""Does appending where each crop was cut lift the sequence stage's R² on crops? (CPU, the users' pipeline)

Crops centred on the drop hide its speed (``benchmarks/r2_ceiling.py``: perfect shape features reach
R² 0.89 on this generator, shape + the crop's displacement 0.98). This runs the documented pipeline on
the same latents, without and with ``--frame-features``, on all latent values and (``--reduce K``) on
their first K principal components:

    aecnn synth --kinds crop  ->  PCA latents (aecnn.sequence.pca_embed, fitted on the training
    sequences)  ->  aecnn fit-sequence --split [--frame-features frames.csv] [--reduce K]

PCA latents need no GPU; any latent file from ``aecnn embed`` goes through the same commands
(``--latents FILE --data DIR``; the autoencoder must not have seen the last quarter of the sequences,
which are held out).

    PYTHONPATH=$PWD python3 benchmarks/crop_motion.py --work /tmp/crop_motion [--out result.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from aecnn.cli import main as aecnn_main
from aecnn.data.dataset import save_split
from aecnn.data.geometry import Geometry
from aecnn.sequence.pca import pca_embed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", required=True, help="folder for the synthetic data, latents and fits")
    p.add_argument("--sequences", type=int, default=256, help="synthetic sequences (a quarter held out)")
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--latent", type=int, default=512, help="PCA components")
    p.add_argument("--epochs", type=int, default=60, help="LSTM epochs (fit-sequence's default)")
    p.add_argument("--latents", default=None, help="use this latent file instead of PCA (needs --data)")
    p.add_argument("--data", default=None, help="the synthetic folder the latent file was made from")
    p.add_argument("--reduce", type=int, nargs="*", default=[16],
                   help="also fit on the first K principal components of the latents (fit-sequence --reduce K), "
                        "without and with the displacement; default 16, none: no reduced fits")
    p.add_argument("--out", default=None, help="write the R² values as JSON here")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    data = Path(a.data) if a.data else work / "syn"
    if a.latents is None and not (data / "frames.csv").is_file():
        assert aecnn_main(["synth", "--out", str(data), "--sequences", str(a.sequences), "--frames", str(a.frames),
                           "--kinds", "crop", "--no-progress"]) == 0
    names = sorted(d.name for d in (data / "crops").iterdir() if d.is_dir())
    n_val = max(1, len(names) // 4)
    split = work / "split.json"
    save_split(split, names[:-n_val], names[-n_val:])
    latents = Path(a.latents) if a.latents else work / f"pca{a.latent}.npz"
    if a.latents is None and not latents.is_file():
        pca_embed(data / "crops", latents, a.latent, Geometry(input_size=(201, 201)), fit_sequences=names[:-n_val],
                  progress=False)
    rows = {}
    disp = ["--frame-features", str(data / "frames.csv")]
    fits = [("latents", "plain", []), ("latents + crop displacement", "frames", disp)]
    for k in a.reduce:
        fits += [(f"{k} components", f"reduce{k}", ["--reduce", str(k)]),
                 (f"{k} components + crop displacement", f"reduce{k}_frames", ["--reduce", str(k), *disp])]
    tag = latents.stem
    for label, name, extra in fits:
        out = work / f"fit_{tag}_{name}"
        rc = aecnn_main(["fit-sequence", str(latents), str(data / "metadata.csv"), "--split", str(split),
                         "--log-target", "--epochs", str(a.epochs), "--no-progress", "--out", str(out), *extra])
        assert rc == 0, f"fit-sequence failed ({label})"
        res = json.loads((out / "results.json").read_text())
        rows[label] = {"r2": res["r2"], "mae": res["mae"], "n_test_sequences": res["n_test_sequences"]}
    for label, r in rows.items():
        print(f"{label:36s} R2 {r['r2']:.3f}  MAE {r['mae']:.3f}  ({r['n_test_sequences']} held-out sequences)")
    print(f"({time.perf_counter() - t0:.0f} s)")
    if a.out:
        import torch

        from aecnn.bench.report import environment

        env = {**environment(torch.device("cpu"), command=sys.argv), "seconds": round(time.perf_counter() - t0, 1)}
        Path(a.out).write_text(json.dumps({"argv": sys.argv, "env": env, "latents": str(latents), "results": rows},
                                          indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
