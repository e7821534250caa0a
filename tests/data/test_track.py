"""The drop tracker (``aecnn.data.track``) and ``aecnn track``: positions of a drop moved by a known
amount, skipped and refused frames, and the CSV feeding ``fit-sequence --frame-features``."""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from PIL import Image

from aecnn.cli import main
from aecnn.data.track import drop_centre
from aecnn.sequence.features import frame_features, read_frame_table


def _frame(x0: int, h: int = 60, w: int = 200) -> np.ndarray:
    f = np.full((h, w), 250, np.uint8)
    f[-2] = 0  # a dark baseline across the whole width: left out
    f[30:50, x0:x0 + 20] = 10  # the drop: centroid (x0 + 9.5, 39.5)
    return f


def test_drop_centre_finds_the_drop_and_ignores_the_baseline():
    x, y, dark = drop_centre(_frame(40) / 255.0)
    assert (x, y) == pytest.approx((49.5, 39.5))
    assert dark == pytest.approx(400 / (60 * 200))
    assert drop_centre(_frame(40), threshold=128)[:2] == pytest.approx((49.5, 39.5))  # uint8 units
    x, y, dark = drop_centre(np.ones((10, 10)))
    assert math.isnan(x) and math.isnan(y) and dark == 0.0
    with pytest.raises(ValueError, match="2-D"):
        drop_centre(np.ones((2, 10, 10)))


def _video(root, name, starts):
    d = root / name
    d.mkdir(parents=True)
    for i, x0 in enumerate(starts):
        Image.fromarray(_frame(x0)).save(d / f"frame_{i:03d}.png")
    return d


def test_track_cli_writes_positions_that_fit_sequence_reads(tmp_path, capsys):
    data = tmp_path / "data"
    _video(data, "seq_a", [100, 94, 88, 82])  # moving left 6 px per frame
    _video(data, "seq_b", [20, 23, 26, 29])
    (data / "seq_b" / "frame_004.png").write_bytes(b"not a png")  # corrupt: reported, left out
    out = tmp_path / "res" / "track.csv"
    assert main(["track", str(data), "--out", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "frame_004.png" in captured.err and "8 frames in 2 sequence(s)" in captured.out
    rows = list(csv.DictReader(out.open()))
    assert [r["sequence"] for r in rows] == ["seq_a"] * 4 + ["seq_b"] * 4
    assert [float(r["drop_x"]) for r in rows[:4]] == pytest.approx([109.5, 103.5, 97.5, 91.5])
    table = read_frame_table(out, ["drop_x", "drop_y"])
    feats = frame_features({"seq_a": np.arange(4), "seq_b": np.arange(4)}, table)
    assert feats["seq_a"][:, 0] == pytest.approx([-6, -6, -6, -6])
    assert feats["seq_b"][:, 0] == pytest.approx([3, 3, 3, 3])


def test_track_cli_refuses_bad_input_and_keeps_an_older_file(tmp_path, capsys):
    data = tmp_path / "data"
    _video(data, "seq_a", [50, 52])
    (data / "seq_a" / "frame_002.png").write_bytes(b"\x89PNG truncated")
    out = tmp_path / "track.csv"
    out.write_text("older results\n")
    assert main(["track", str(data), "--out", str(out), "--strict", "--no-progress"]) == 2
    assert "frame_002.png" in capsys.readouterr().err
    assert out.read_text() == "older results\n"  # nothing lost
    assert main(["track", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["track", str(data), "--out", str(out), "--threshold", "128"]) == 2
    assert "--threshold" in capsys.readouterr().err
    assert out.read_text() == "older results\n"
    assert main(["track", str(data), "--out", str(tmp_path), "--no-progress"]) == 2  # a folder: said before tracking
    assert "is a folder: give a CSV file name" in capsys.readouterr().err
    assert main(["track", str(data), "--out", str(tmp_path / "t2.csv"), "--no-progress"]) == 0
    bad = data / "seq_a" / "frame_002.png"
    assert f"skipping {bad}: {bad}:" not in capsys.readouterr().err  # the path used to be named twice in a row


def test_frames_without_a_drop_are_marked_and_refused_by_fit_sequence_reader(tmp_path, capsys):
    data = tmp_path / "data"
    d = _video(data, "seq_a", [50])
    Image.fromarray(np.full((60, 200), 250, np.uint8)).save(d / "frame_001.png")  # the drop has left
    out = tmp_path / "track.csv"
    assert main(["track", str(data), "--out", str(out), "--no-progress"]) == 0
    assert "1 frame(s) without a dark pixel" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"line 3: drop_x, drop_y must be finite"):
        read_frame_table(out, ["drop_x", "drop_y"])
