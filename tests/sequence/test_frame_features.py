"""Per-frame features appended to the latents (``aecnn.sequence.features``, ``fit-sequence
--frame-features``): reading the table, the change/value modes, bad input, and that a speed held
only in the crop origins reaches the sequence model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from aecnn.cli import main
from aecnn.inference.embed import load_embeddings, save_embeddings
from aecnn.sequence.features import append_features, frame_features, read_frame_table


def _write_frames_csv(path, rows, header="sequence,frame,crop_x0,crop_y0"):
    path.write_text(header + "\n" + "".join(",".join(str(v) for v in r) + "\n" for r in rows))
    return path


def test_read_table_and_modes(tmp_path):
    f = _write_frames_csv(tmp_path / "frames.csv", [("a", 0, 100, 5), ("a", 1, 97, 5), ("a", 2, 93, 6),
                                                    ("a", 3, 88, 6), ("b", 0, 10, 0)])
    table = read_frame_table(f, ["crop_x0", "crop_y0"])
    assert table[("a", 2)].tolist() == [93.0, 6.0]
    # frames listed out of order are matched by number; the first frame repeats the second's change
    change = frame_features({"a": np.array([0, 1, 2, 3]), "b": np.array([0])}, table)
    assert change["a"][:, 0].tolist() == [-3, -3, -4, -5] and change["a"][:, 1].tolist() == [0, 0, 1, 0]
    assert change["b"].tolist() == [[0, 0]]  # one frame: no change to measure
    value = frame_features({"a": np.array([3, 0])}, table, mode="value")
    assert value["a"].tolist() == [[88, 6], [100, 5]]
    mixed = frame_features({"a": np.array([0, 1, 2, 3])}, table, keep_last=1)  # change of x, y as it is
    assert mixed["a"][:, 0].tolist() == [-3, -3, -4, -5] and mixed["a"][:, 1].tolist() == [5, 5, 6, 6]
    both = append_features({"a": np.zeros((2, 3))}, value)
    assert both["a"].shape == (2, 5) and both["a"].dtype == np.float32


@pytest.mark.parametrize("case,expect", [
    ("missing-column", "no column(s) crop_y0"),
    ("not-a-number", "line 3"),
    ("repeated", "appears twice"),
])
def test_bad_tables_say_where(case, expect, tmp_path):
    rows = [("a", 0, 1, 2), ("a", 1, "x" if case == "not-a-number" else 3, 4)]
    if case == "repeated":
        rows.append(("a", 1, 3, 4))
    header = "sequence,frame,crop_x0" if case == "missing-column" else "sequence,frame,crop_x0,crop_y0"
    if case == "missing-column":
        rows = [r[:3] for r in rows]
    f = _write_frames_csv(tmp_path / "frames.csv", rows, header)
    with pytest.raises(ValueError, match="frames.csv") as info:
        read_frame_table(f, ["crop_x0", "crop_y0"])
    assert expect in str(info.value)


def test_frames_missing_from_the_table_are_named():
    with pytest.raises(ValueError, match="2 frame.*first: a frame 1, a frame 2"):
        frame_features({"a": np.array([0, 1, 2])}, {("a", 0): np.zeros(2)})
    with pytest.raises(ValueError, match="unknown mode"):
        frame_features({}, {}, mode="speed")


def _speed_only_in_origins(tmp_path, n_seq=32, t=16):
    """Latents of pure noise; the target sets how fast the crop origin moves."""
    rng = np.random.default_rng(0)
    names = [f"seq_{s:03d}" for s in range(n_seq)]
    y = {n: float(rng.uniform(0.5, 5.0)) for n in names}
    lat = save_embeddings(tmp_path / "lat.npz", rng.normal(size=(n_seq * t, 8)).astype(np.float32),
                          [n for n in names for _ in range(t)], [i for _ in names for i in range(t)])
    rows = [(n, i, round(1000 - 4 * y[n] * i + rng.normal(scale=0.3), 2), 7) for n in names for i in range(t)]
    frames = _write_frames_csv(tmp_path / "frames.csv", rows[::-1])  # any row order
    targets = tmp_path / "meta.csv"
    targets.write_text("sequence,viscosity\n" + "".join(f"{n},{v}\n" for n, v in y.items()))
    return lat, frames, targets


def test_fit_sequence_reads_speed_from_crop_origins(tmp_path, capsys):
    lat, frames, targets = _speed_only_in_origins(tmp_path)
    common = [str(lat), str(targets), "--window", "8", "--stride", "4", "--hidden", "32", "--epochs", "40",
              "--lr", "5e-3", "--val-fraction", "0.25", "--no-progress"]
    assert main(["fit-sequence", *common, "--out", str(tmp_path / "plain")]) == 0
    assert main(["fit-sequence", *common, "--frame-features", str(frames), "--out", str(tmp_path / "with")]) == 0
    plain = json.loads((tmp_path / "plain" / "results.json").read_text())
    with_f = json.loads((tmp_path / "with" / "results.json").read_text())
    assert plain["r2"] < 0.3  # the latents hold nothing about the target
    assert with_f["r2"] > 0.8, with_f["r2"]
    assert with_f["frame_features"] == {"file": str(frames), "columns": ["crop_x0", "crop_y0"], "mode": "change",
                                        "value_columns": []}
    assert "+ 2 frame feature(s) (change of crop_x0, crop_y0)" in capsys.readouterr().out
    assert load_embeddings(lat).latent_size == 8  # the latent file itself is not changed


def test_frame_value_columns_keep_a_level_that_the_change_would_lose(tmp_path, capsys):
    """--frame-value-columns appends columns as they are beside the --frame-mode ones: a size that is
    constant within each sequence and sets the target has no change, only a level."""
    rng = np.random.default_rng(0)
    n_seq, t = 32, 16
    names = [f"seq_{s:03d}" for s in range(n_seq)]
    y = {n: float(rng.uniform(0.5, 5.0)) for n in names}
    lat = save_embeddings(tmp_path / "lat.npz", rng.normal(size=(n_seq * t, 8)).astype(np.float32),
                          [n for n in names for _ in range(t)], [i for _ in names for i in range(t)])
    rows = [(n, i, 500, 7, round(0.01 * y[n] + rng.normal(scale=0.0005), 5)) for n in names for i in range(t)]
    frames = _write_frames_csv(tmp_path / "frames.csv", rows, header="sequence,frame,drop_x,drop_y,dark_fraction")
    targets = tmp_path / "meta.csv"
    targets.write_text("sequence,viscosity\n" + "".join(f"{n},{v}\n" for n, v in y.items()))
    common = ["fit-sequence", str(lat), str(targets), "--window", "8", "--hidden", "32", "--epochs", "40",
              "--lr", "5e-3", "--no-progress", "--frame-features", str(frames), "--frame-columns", "drop_x", "drop_y",
              "--reduce", "1"]
    assert main([*common, "--out", str(tmp_path / "change")]) == 0
    assert main([*common, "--frame-value-columns", "dark_fraction", "--out", str(tmp_path / "level")]) == 0
    change = json.loads((tmp_path / "change" / "results.json").read_text())
    level = json.loads((tmp_path / "level" / "results.json").read_text())
    assert change["r2"] < 0.3 and level["r2"] > 0.8, (change["r2"], level["r2"])
    assert level["frame_features"]["value_columns"] == ["dark_fraction"] and level["config"]["passthrough"] == 3
    assert "+ 1 as they are (dark_fraction)" in capsys.readouterr().out
    assert main(["fit-sequence", str(lat), str(targets), "--frame-value-columns", "dark_fraction"]) == 2
    assert "--frame-value-columns needs --frame-features" in capsys.readouterr().err


def test_fit_sequence_bad_frame_table_is_one_line(tmp_path, capsys):
    lat, frames, targets = _speed_only_in_origins(tmp_path, n_seq=4, t=6)
    rc = main(["fit-sequence", str(lat), str(targets), "--frame-features", str(frames), "--frame-columns", "x_px",
               "--epochs", "1", "--window", "4", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "no column(s) x_px" in err and len(err.splitlines()) == 1


def test_reduce_keeps_the_frame_features_beside_the_components(tmp_path, capsys):
    """--reduce projects only the latents: the speed held in the crop origins survives a reduction
    to one component of pure-noise latents, and the saved model applies the same projection."""
    from aecnn.sequence import load_sequence_model
    from aecnn.sequence.dataset import LatentWindows
    from aecnn.sequence.fit import predict_windows

    lat, frames, targets = _speed_only_in_origins(tmp_path)
    out = tmp_path / "reduced"
    assert main(["fit-sequence", str(lat), str(targets), "--window", "8", "--stride", "4", "--hidden", "32",
                 "--epochs", "40", "--lr", "5e-3", "--no-progress", "--frame-features", str(frames),
                 "--reduce", "1", "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["config"]["reduce"] == 1 and res["config"]["passthrough"] == 2
    assert res["r2"] > 0.8, res["r2"]
    assert "reduced to 1 principal components" in capsys.readouterr().out
    model = load_sequence_model(out / "sequence_model.pt")
    assert model.config.input_width == 3 and model.pc_components.shape == (8, 1)
    # the reloaded model reproduces the held-out predictions of the fit
    emb = load_embeddings(lat)
    seqs = append_features(emb.by_sequence(), frame_features(emb.frame_indices_by_sequence(),
                                                              read_frame_table(frames, ["crop_x0", "crop_y0"])))
    held = [r["sequence"] for r in res["sequences"]]
    y = {r["sequence"]: r["true"] for r in res["sequences"]}
    ds = LatentWindows(seqs, y, 8, 4, held)
    pred = predict_windows(model, ds)
    k = np.array([i for i, _ in ds.windows])
    for r in res["sequences"]:
        assert abs(pred[k == ds.names.index(r["sequence"])].mean() - r["pred"]) < 1e-4


def test_reduce_out_of_range_is_refused(tmp_path, capsys):
    lat, _frames, targets = _speed_only_in_origins(tmp_path, n_seq=4, t=6)
    rc = main(["fit-sequence", str(lat), str(targets), "--reduce", "9", "--epochs", "1", "--window", "4",
               "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "--reduce 9" in err and "(8)" in err


def test_fit_sequence_says_when_nothing_is_kept_and_writes_strict_json(tmp_path, capsys):
    lat, _frames, targets = _speed_only_in_origins(tmp_path, n_seq=6, t=10)
    common = [str(lat), str(targets), "--window", "8", "--hidden", "8", "--epochs", "2", "--no-progress"]
    assert main(["fit-sequence", *common]) == 0
    assert "nothing saved (no --out DIR)" in capsys.readouterr().out
    # one held-out sequence: R² is undefined (NaN), which used to be written as a bare NaN
    assert main(["fit-sequence", *common, "--val-fraction", "0.1", "--out", str(tmp_path / "o")]) == 0
    text = (tmp_path / "o" / "results.json").read_text()
    assert "NaN" not in text and json.loads(text)["r2"] is None
