"""How high can the sequence stage's R^2 go on the quality benchmark's data? (CPU, ~1-2 min)

The quality benchmark scores latents by the R^2 with which the sequence stage (LSTM and ridge,
``aecnn.quality.seqstage``) predicts each held-out sequence's hidden viscosity. This script
gives the same two regressors, on the same sequences (192 training / 64 held-out, generator seeds
0 and 1000, 32 frames), *perfect* latents instead: the generator's own per-frame ground truth
(``aecnn.data.synth`` frame columns), i.e. what an ideal encoder could at best extract:

* ``shape``: advancing and receding contact angles, contact length, height, elongation (the
  generator's frame columns) and the drop's area in the crop (its size): what a crop shows (crops are centred on the drop, so its position and speed are not in the frame);
* ``shape + crop origin``: the same plus where each crop was cut from the frame (the crop's
  top-left corner, integer pixels), which a crop pipeline can keep next to each latent;
* ``shape + crop displacement``: the shape plus the origin's change from the previous frame
  (what ``aecnn fit-sequence --frame-features`` appends by default);
* ``shape + motion``: the shape plus the drop's position and speed: what a strip shows.

The viscosity sets the speed only together with two other hidden factors (the drop volume, seen
as its size, and an unexplained "tilt" factor of +-14 %, ``aecnn.data.synth.params``), so even
perfect features leave some variance unexplained; this measures how much.

    PYTHONPATH=$PWD python3 benchmarks/r2_ceiling.py [--out benchmarks/quality_results/r2_ceiling.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from aecnn.data.synth import SynthConfig, render_sequence
from aecnn.quality.seqstage import sequence_scores
from aecnn.sequence.features import frame_change

SHAPE_COLUMNS = ("adv_angle_deg", "rec_angle_deg", "contact_length_px", "height_px", "elongation")
SHAPE = (*SHAPE_COLUMNS, "area_px")  # area: dark pixels of the crop above the baseline, computed here
MOTION = ("x_px", "velocity_px")
ORIGIN = ("crop_x0", "crop_y0")


def drop_area(crops: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Dark pixels (< 128) per crop ``(T, H, W)`` above row ``baseline[t]`` of each crop (the
    baseline's row in the crop: the drop is drawn only above it)."""
    rows = np.arange(crops.shape[1])[None, :, None]
    return ((crops < 128) & (rows < baseline[:, None, None])).sum(axis=(1, 2))


def ground_truth(n_sequences: int, frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame columns ``(S*T, len(SHAPE + MOTION + ORIGIN))`` and viscosities ``(S,)``."""
    cfg = SynthConfig(n_sequences=n_sequences, frames_per_sequence=frames, seed=seed)
    cols, visc = [], []
    for i in range(n_sequences):
        seq = render_sequence(cfg, i, kinds=("crop",))  # the columns do not depend on the kind
        baseline = seq.params.baseline_row - np.asarray(seq.frames["crop_y0"])
        area = drop_area(seq.crops, baseline).astype(np.float64)  # the drop's size, which a crop shows
        cols.append(np.stack([seq.frames[k] for k in SHAPE_COLUMNS] + [area]
                             + [seq.frames[k] for k in MOTION + ORIGIN], axis=1))
        visc.append(seq.viscosity)
    return np.concatenate(cols).astype(np.float32), np.array(visc)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help="write the scores as JSON here")
    p.add_argument("--train-sequences", type=int, default=192)
    p.add_argument("--val-sequences", type=int, default=64)
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--lstm-epochs", type=int, default=None, help="default: the benchmark's (60)")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    x_tr, y_tr = ground_truth(a.train_sequences, a.frames, 0)
    x_va, y_va = ground_truth(a.val_sequences, a.frames, 1000)
    n_s, n_m = len(SHAPE), len(MOTION)
    origin = [n_s + n_m, n_s + n_m + 1]

    def with_change(x: np.ndarray) -> np.ndarray:  # shape + frame-to-frame change of the crop origin
        seqs = x.reshape(-1, a.frames, x.shape[1])
        change = np.stack([frame_change(s[:, origin]) for s in seqs]).reshape(-1, len(origin))
        return np.concatenate([x[:, :n_s], change], axis=1)

    sets = {"shape (crop-visible)": (x_tr[:, :n_s], x_va[:, :n_s]),
            "shape + crop origin": (x_tr[:, [*range(n_s), *origin]], x_va[:, [*range(n_s), *origin]]),
            "shape + crop displacement": (with_change(x_tr), with_change(x_va)),
            "shape + motion (strip-visible)": (x_tr[:, :n_s + n_m], x_va[:, :n_s + n_m])}
    rows = {}
    for name, (tr, va) in sets.items():
        s = sequence_scores(tr, y_tr, va, y_va, a.frames, a.lstm_epochs)
        rows[name] = {k: round(float(v), 4) for k, v in s.items()}
        print(f"{name:32s} R2 LSTM {s['r2_lstm']:.3f}   R2 ridge {s['r2_ridge']:.3f}")
    print(f"({time.perf_counter() - t0:.0f} s)")
    if a.out:
        import torch

        from aecnn.bench.report import environment

        with open(a.out, "w") as f:
            json.dump({"argv": sys.argv, "env": environment(torch.device("cpu"), command=sys.argv), "scores": rows},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
