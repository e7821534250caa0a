"""Exploratory: does averaging the LSTM's predictions over K in {2,4,8} beat choosing K by CV? (aecnn 512 vs PCA)

The one-off script of the ninth session, kept as the record of what ran (CPU, from /work/main with
PYTHONPATH=$PWD, on the latent caches of seq_repeats.py; output kens.log, predictions kens_preds.json);
only its layout was tidied for the linter afterwards. seq_repeats.py --reduce 2 4 8 now prints the same
K-ensemble line from its own fits.
"""
import json
import multiprocessing as mp
import time

import numpy as np
import torch

from aecnn.quality import data as qdata
from aecnn.quality.seqstage import _by_sequence, lstm_predict, r2


def fit(job):
    name, k, seed, tr, ytr, te, yte, nx = job
    torch.set_num_threads(1)
    return name, k, seed, lstm_predict(tr, ytr, te, yte, seed=seed, reduce=k, passthrough=nx)

if __name__ == "__main__":
    train = qdata.make_split(192, 32, (152, 1280), (201, 201), 0)["crop"]
    val = qdata.make_split(64, 32, (152, 1280), (201, 201), 1000)["crop"]
    lat = {}
    for f in ["/tmp/s8/lat_s567_512.npz", "/tmp/s7/lat_s3conv_512.npz", "/tmp/s8/lat_s8_512.npz"]:
        with np.load(f) as z:
            for k in z.files:
                if k.endswith("_train"):
                    lat[k[:-6]] = (z[k], z[k[:-6] + "_val"])
    lat.pop("conv", None)
    print({k: v[0].shape for k, v in lat.items()}, flush=True)
    jobs = []
    for name, (a, b) in lat.items():
        tr = _by_sequence(np.concatenate([a, train.motion], 1), 32); te = _by_sequence(np.concatenate([b, val.motion], 1), 32)
        for k in (2, 4, 8):
            for s in range(10):
                jobs.append((name, k, s, tr, train.viscosity, te, val.viscosity, train.motion.shape[1]))
    out = {}
    t0 = time.time()
    with mp.get_context("spawn").Pool(2) as pool:
        for i, (name, k, s, pred) in enumerate(pool.imap_unordered(fit, jobs)):
            out[f"{name}|{k}|{s}"] = pred.tolist()
            if i % 20 == 0: print(i, len(jobs), f"{time.time()-t0:.0f}s", flush=True)
    with open("/tmp/s9/kens_preds.json", "w") as fh:
        json.dump({"y": val.viscosity.tolist(), "pred": out}, fh)
    y = val.viscosity
    for name in lat:
        per_k = {k: [r2(y, np.exp(out[f"{name}|{k}|{s}"])) for s in range(10)] for k in (2, 4, 8)}
        ens = [r2(y, np.exp(np.mean([out[f"{name}|{k}|{s}"] for k in (2, 4, 8)], 0))) for s in range(10)]
        print(name, {k: round(float(np.mean(v)), 4) for k, v in per_k.items()}, "K-ensemble", round(float(np.mean(ens)), 4), "±", round(float(np.std(ens, ddof=1)), 4))
