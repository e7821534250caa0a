from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from aecnn.checkpoint import load_model
from aecnn.cli import main
from aecnn.inference.visualize import compute_attention, visualize_attention
from aecnn.models import create_autoencoder


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.get_images() and ax.get_title() and "self-attention" not in ax.get_title()]


@pytest.mark.parametrize("name", ["conv", "spatial"])
def test_visualize_attention_both_strategies(name, model_files, tmp_path):
    model = load_model(model_files[name])
    x = torch.rand(1, 1, 64, 64)
    fig = visualize_attention(model, x, save_path=tmp_path / "a.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("input") for t in titles) and any(t.startswith("reconstruction") for t in titles)
    assert any("self-attention (64x64" in t for t in titles)  # N x N matrix over the 8x8 grid
    assert any(t.startswith("saliency") for t in titles) and any(t.startswith("attention from query") for t in titles)
    assert (tmp_path / "a.png").stat().st_size > 1000
    res = compute_attention(model, x)
    assert res.matrix.shape == (64, 64) and np.allclose(res.matrix.sum(1), 1, atol=1e-4)
    assert res.query_map.shape == model.plan.grid and res.saliency.shape == (64, 64)


def test_visualize_wide_strip_is_laid_out_in_rows(model_files):
    model = load_model(model_files["strip"])  # 48x256, spatial latent
    fig = visualize_attention(model, torch.rand(48, 256), query=(1, 3))
    fig.canvas.draw()
    panels = _image_axes(fig)
    assert len(panels) == 4  # input, reconstruction, saliency, query attention
    boxes = [ax.get_position() for ax in panels]
    assert len({round(b.x0, 2) for b in boxes}) == 1  # one column
    assert len({round(b.y0, 2) for b in boxes}) == 4  # stacked in rows
    assert all(b.width > 3 * b.height * 0.9 for b in boxes) or all(b.width > 0.4 for b in boxes)
    assert "(1, 3)" in [ax.get_title() for ax in panels][-1]


def test_visualize_without_attention_and_options():
    model = create_autoencoder("tiny", input_size=(64, 64), channel_config=(8, 16, 16), use_attention=False).eval()
    fig = visualize_attention(model, np.random.rand(64, 64))
    titles = [ax.get_title() for ax in fig.axes]
    assert not any("attention" in t for t in titles) and any(t.startswith("saliency") for t in titles)
    model2 = create_autoencoder("tiny", input_size=(64, 64), channel_config=(8, 16, 16)).eval()
    fig = visualize_attention(model2, torch.rand(2, 1, 64, 64), show_matrix=False, show_heatmap=False, query=5)
    titles = [ax.get_title() for ax in fig.axes]
    assert not any("self-attention" in t or t.startswith("saliency") for t in titles)
    with pytest.raises(ValueError, match="outside the 8x8"):
        visualize_attention(model2, torch.rand(64, 64), query=(8, 0))


def test_visualize_cli_accepts_seed_flags(ckpt, tmp_path, capsys):
    img = tmp_path / "frame.png"
    Image.fromarray((np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)).save(img)
    out = tmp_path / "figs" / "attention.png"
    assert main(["visualize", "--checkpoint", str(ckpt), "--input", str(img), "--output", str(out)]) == 0
    assert out.is_file() and "bottleneck grid 8x8" in capsys.readouterr().out
    # seed-style underscore flags with a resize
    assert main(["visualize", "--checkpoint", str(ckpt), "--input", str(img), "--output", str(out),
                 "--input_size", "64", "64", "--query", "3", "3", "--device", "cpu"]) == 0


def test_visualize_output_folder_bare_name_and_unknown_format(ckpt, tmp_path, capsys):
    img = tmp_path / "frame.png"
    Image.fromarray((np.random.default_rng(1).random((64, 64)) * 255).astype(np.uint8)).save(img)
    folder = tmp_path / "figs"
    folder.mkdir()
    assert main(["visualize", str(ckpt), "-i", str(img), "-o", str(folder)]) == 0  # a folder: attention.png inside
    assert (folder / "attention.png").is_file()
    assert main(["visualize", str(ckpt), "-i", str(img), "-o", str(tmp_path / "att")]) == 0  # no extension: .png
    assert (tmp_path / "att.png").is_file() and not (tmp_path / "att").exists()
    assert Image.open(tmp_path / "att.png").format == "PNG"
    capsys.readouterr()
    assert main(["visualize", str(ckpt), "-i", str(img), "-o", str(tmp_path / "att.pngx")]) == 2
    err = capsys.readouterr().err
    assert "cannot write '.pngx' figures" in err and ".svg" in err and "Traceback" not in err
    assert not (tmp_path / "att.pngx").exists()
