from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
from PIL import Image

from aecnn.checkpoint import load_model
from aecnn.cli import main
from aecnn.inference.reconstruct import expand_inputs, image_metrics, load_image, output_names


def test_reconstruct_writes_outputs_metrics_and_summary(ckpt, frames_dir, frame_paths, tmp_path, capsys, caplog):
    odd = tmp_path / "in" / "odd.png"
    odd.parent.mkdir()
    Image.fromarray(np.full((64, 96), 128, np.uint8)).save(odd)
    out = tmp_path / "out"
    rc = main(["reconstruct", str(ckpt), str(frames_dir), str(odd), "--out", str(out), "--no-progress",
               "--batch-size", "2"])
    assert rc == 0
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith("reconstructed 7 images: mean PSNR") and "SSIM" in summary and "MSE" in summary
    assert "64x96" in caplog.text  # the odd size is reported, once
    with open(out / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["path"] for r in rows[:6]] == [str(p) for p in frame_paths]
    assert list(rows[0]) == ["path", "psnr", "ssim", "mse"]
    for r in rows:
        assert math.isclose(float(r["psnr"]), 10 * math.log10(1 / float(r["mse"])), rel_tol=1e-3)
        assert -1 <= float(r["ssim"]) <= 1
    names = output_names(frame_paths + [odd])
    for name, src in zip(names, frame_paths + [odd]):
        recon = Image.open(out / "recon" / f"{name}.png")
        assert recon.size == Image.open(src).size  # reconstructed at the image's own size
        assert (out / "compare" / f"{name}.png").is_file()
    assert not list(out.rglob(".*"))  # no temporary files left
    mean_psnr = np.mean([float(r["psnr"]) for r in rows])
    assert f"{mean_psnr:.2f}" in summary


def test_reconstruct_glob_and_metrics_match_model(ckpt, frames_dir, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["reconstruct", str(ckpt), str(frames_dir / "seq_a" / "*.png"), "--out", str(out),
                 "--no-figures", "--no-progress"]) == 0
    assert "reconstructed 3 images" in capsys.readouterr().out
    assert not (out / "compare").exists()
    model = load_model(ckpt)
    img = load_image(frames_dir / "seq_a" / "frame_2.png")
    x = torch.from_numpy(img.pixels)[None, None]
    with torch.no_grad():
        m = image_metrics(x, model(x).clamp(0, 1))
    with open(out / "metrics.csv", newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["path"].endswith("frame_2.png"))
    assert float(row["psnr"]) == pytest.approx(float(m["psnr"][0]), abs=1e-3)
    assert float(row["ssim"]) == pytest.approx(float(m["ssim"][0]), abs=1e-5)


def test_expand_inputs_natural_order_and_dedup(frames_dir, frame_paths):
    got = expand_inputs([frames_dir, frames_dir / "seq_a" / "frame_1.png"])
    assert got == frame_paths


def test_load_image_colour_16bit_and_bad_arrays(tmp_path):
    rgba = np.zeros((40, 50, 4), np.uint8)
    rgba[..., 1] = 200
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "c.png")
    img = load_image(tmp_path / "c.png")
    assert img.pixels.shape == (40, 50) and img.bits == 8
    assert img.pixels.max() == pytest.approx(round(0.587 * 200) / 255, abs=1 / 255)
    Image.fromarray(np.full((40, 40), 60000, np.uint16)).save(tmp_path / "d.png")
    img16 = load_image(tmp_path / "d.png")
    assert img16.bits == 16 and img16.pixels.max() == pytest.approx(60000 / 65535)
    np.save(tmp_path / "rgb.npy", np.zeros((40, 40, 3), np.uint8))
    assert load_image(tmp_path / "rgb.npy").pixels.shape == (40, 40)
    np.save(tmp_path / "two.npy", np.zeros((40, 40, 2), np.uint8))
    with pytest.raises(ValueError, match="not one grayscale image"):
        load_image(tmp_path / "two.npy")
    Image.fromarray(np.zeros((20, 64), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(ValueError, match="below the model's minimum"):
        load_image(tmp_path / "small.png")


def test_comparison_figure_layout():
    from aecnn.inference.reconstruct import comparison_figure

    x = np.random.default_rng(0).random((40, 400)).astype(np.float32)
    fig = comparison_figure(x, x * 0.5, "frame: PSNR")
    assert fig._suptitle.get_text() == "frame: PSNR"
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert [ax.get_title() for ax in panels] == ["input", "reconstruction", "|input - reconstruction|"]
    fig.canvas.draw()
    assert len({round(ax.get_position().x0, 2) for ax in panels}) == 1  # a wide image: one column of rows
