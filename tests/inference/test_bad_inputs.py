"""Every inference command: bad input -> one line on stderr, exit status 2, no traceback."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def _run(argv, capsys) -> str:
    from aecnn.cli import main

    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc == 2, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"aecnn {argv[0]}: error: ")
    return err


@pytest.fixture
def bad_ckpts(ckpt, tmp_path):
    data = ckpt.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint\n")
    return {"missing": tmp_path / "nope.pt", "truncated": truncated, "not-a-checkpoint": text}


def _commands(ck, frames_dir, tmp_path):
    img = frames_dir / "seq_a" / "frame_1.png"
    return {
        "reconstruct": ["reconstruct", str(ck), str(img), "--out", str(tmp_path / "r"), "--no-progress"],
        "embed": ["embed", str(ck), str(frames_dir), "--out", str(tmp_path / "e.npz"), "--workers", "0", "--no-progress"],
        "visualize": ["visualize", "--checkpoint", str(ck), "--input", str(img), "--output", str(tmp_path / "v.png")],
        "export-onnx": ["export-onnx", str(ck), "--out", str(tmp_path / "x"), "--no-check"],
    }


@pytest.mark.parametrize("kind", ["missing", "truncated", "not-a-checkpoint"])
@pytest.mark.parametrize("cmd", ["reconstruct", "embed", "visualize", "export-onnx"])
def test_bad_checkpoint(cmd, kind, bad_ckpts, frames_dir, tmp_path, capsys):
    ck = bad_ckpts[kind]
    err = _run(_commands(ck, frames_dir, tmp_path)[cmd], capsys)
    assert str(ck) in err
    assert ("not found" in err) if kind == "missing" else ("not a readable checkpoint" in err or "not an aecnn" in err)
    assert not any(p.name.startswith((".", "r", "e.", "v.", "x")) for p in tmp_path.iterdir()
                   if p.name not in ("truncated.pt", "notes.pt"))  # nothing written


@pytest.mark.parametrize("case", ["two-channel", "too-small", "corrupt", "missing"])
@pytest.mark.parametrize("cmd", ["reconstruct", "visualize"])
def test_bad_image(cmd, case, ckpt, tmp_path, capsys):
    if case == "two-channel":
        bad = tmp_path / "img.npy"
        np.save(bad, np.zeros((64, 64, 2), np.uint8))
        expect = "not one grayscale image"
    elif case == "too-small":
        bad = tmp_path / "img.png"
        Image.fromarray(np.zeros((16, 64), np.uint8)).save(bad)
        expect = "below the model's minimum 32x32"
    elif case == "corrupt":
        bad = tmp_path / "img.png"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
        expect = "readable image" if cmd == "reconstruct" else "cannot decode"  # header probe / decode
    else:
        bad = tmp_path / "none.png"
        expect = "no such file" if cmd == "reconstruct" else "not found"
    argv = (["reconstruct", str(ckpt), str(bad), "--out", str(tmp_path / "out"), "--no-progress"] if cmd == "reconstruct"
            else ["visualize", "--checkpoint", str(ckpt), "--input", str(bad), "--output", str(tmp_path / "v.png")])
    err = _run(argv, capsys)
    assert expect in err and str(bad) in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "v.png").exists()


@pytest.mark.parametrize("cmd", ["reconstruct", "embed", "visualize", "export-onnx"])
def test_unwritable_output(cmd, ckpt, frames_dir, tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file where a folder should be")
    argv = _commands(ckpt, frames_dir, tmp_path)[cmd]
    target = blocker / "sub"
    flag = "--output" if cmd == "visualize" else "--out"
    argv[argv.index(flag) + 1] = str(target / "o.png") if cmd == "visualize" else \
        str(target / "e.npz") if cmd == "embed" else str(target)
    err = _run(argv, capsys)
    assert "cannot" in err and str(blocker) in err


def test_embed_bad_extension_and_missing_data(ckpt, tmp_path, capsys):
    err = _run(["embed", str(ckpt), str(tmp_path), "--out", str(tmp_path / "e.csv")], capsys)
    assert "use .npz, .h5 or .pt" in err
    err = _run(["embed", str(ckpt), str(tmp_path / "nodata"), "--out", str(tmp_path / "e.npz")], capsys)
    assert "does not exist" in err


def test_debug_shows_the_exception(ckpt, tmp_path):
    from aecnn.cli import main

    with pytest.raises(FileNotFoundError):
        main(["reconstruct", "--debug", str(ckpt), str(tmp_path / "none.png"), "--out", str(tmp_path / "o")])


def test_reconstruct_skips_a_corrupt_file_among_good_ones_unless_strict(ckpt, frame_paths, tmp_path, capsys, caplog):
    from aecnn.cli import main

    folder = tmp_path / "frames"
    folder.mkdir()
    for p in frame_paths[:2]:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "frame_9.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)  # one bad file used to stop the folder
    assert main(["reconstruct", str(ckpt), str(folder), "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "reconstructed 2 images" in out.out and "skipped 1 unreadable" in out.out
    assert any("skipping" in r.getMessage() and "frame_9.png" in r.getMessage() for r in caplog.records)
    assert len((tmp_path / "r" / "metrics.csv").read_text().splitlines()) == 3
    caplog.clear()
    assert main(["reconstruct", str(ckpt), str(frame_paths[0]), "--out", str(tmp_path / "r"), "--no-progress"]) == 0
    assert any("holds an earlier reconstruction" in r.getMessage() for r in caplog.records)  # was silent
    assert main(["reconstruct", str(ckpt), str(folder), "--out", str(tmp_path / "s"), "--no-progress",
                 "--strict"]) == 2
    assert "frame_9.png" in capsys.readouterr().err and not (tmp_path / "s").exists()
