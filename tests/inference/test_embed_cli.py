from __future__ import annotations

import numpy as np
import pytest
import torch

from aecnn.checkpoint import load_model
from aecnn.cli import main
from aecnn.inference.embed import LatentWriter, load_embeddings, save_embeddings
from aecnn.inference.reconstruct import load_image


def _expected_latents(ckpt, paths) -> np.ndarray:
    model = load_model(ckpt)
    x = torch.stack([torch.from_numpy(load_image(p).pixels)[None] for p in paths])
    with torch.no_grad():
        return model.encode(x).numpy()


@pytest.mark.parametrize("ext", [".npz", ".h5", ".pt"])
def test_embed_formats_order_index_and_streaming(ext, ckpt, frames_dir, frame_paths, tmp_path, capsys):
    if ext == ".h5":
        pytest.importorskip("h5py")
    out = tmp_path / f"lat{ext}"
    # batch size 4 < 6 frames: several batches are streamed to disk
    rc = main(["embed", str(ckpt), str(frames_dir), "--out", str(out), "--batch-size", "4", "--workers", "0",
               "--no-progress"])
    assert rc == 0
    assert "wrote 6 latents of size 128 from 2 sequences" in capsys.readouterr().out
    emb = load_embeddings(out)
    assert emb.latents.shape == (6, 128) and emb.latents.dtype == np.float32
    assert emb.sequence.tolist() == ["seq_a"] * 3 + ["seq_b"] * 3
    assert emb.frame_index.tolist() == [0, 1, 2, 0, 1, 2]
    assert emb.path.tolist() == [str(p) for p in frame_paths]  # frame_10 after frame_2
    assert emb.stack_index.tolist() == [-1] * 6
    np.testing.assert_allclose(emb.latents, _expected_latents(ckpt, frame_paths), atol=1e-5)
    assert emb.meta["latent_shape"] == [128] and emb.meta["model_config"]["latent_size"] == 128
    assert emb.meta["data"]["geometry"]["input_size"] == [64, 64]
    assert list(emb.by_sequence()) == ["seq_a", "seq_b"]
    assert not list(tmp_path.glob(".*"))  # spool / temp files removed


def test_embed_with_workers_cache_float16_and_geometry(ckpt, frames_dir, frame_paths, tmp_path):
    out = tmp_path / "lat.npz"
    rc = main(["embed", str(ckpt), str(frames_dir), "--out", str(out), "--batch-size", "4", "--workers", "1",
               "--cache", str(tmp_path / "cache"), "--dtype", "float16", "--input-size", "64", "64", "--no-progress"])
    assert rc == 0
    emb = load_embeddings(out)
    assert emb.latents.dtype == np.float16
    assert emb.path.tolist() == [str(p) for p in frame_paths]
    np.testing.assert_allclose(emb.latents.astype(np.float32), _expected_latents(ckpt, frame_paths), atol=2e-2)
    assert "cache_dir" in emb.meta["data"]


def test_embed_skips_unreadable_frame_and_strict_fails(ckpt, frames_dir, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(frames_dir, data)
    (data / "seq_b" / "frame_5.png").write_bytes(b"not a png")
    out = tmp_path / "lat.npz"
    assert main(["embed", str(ckpt), str(data), "--out", str(out), "--workers", "0", "--no-progress"]) == 0
    assert "1 unreadable frame skipped" in capsys.readouterr().out
    emb = load_embeddings(out)
    assert len(emb) == 6 and emb.frame_index.tolist() == [0, 1, 2, 0, 1, 3]  # gap kept visible
    assert main(["embed", str(ckpt), str(data), "--out", str(tmp_path / "s.npz"), "--workers", "0",
                 "--strict", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "frame_5.png" in err and "Traceback" not in err
    assert not (tmp_path / "s.npz").exists()


def test_writer_abort_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), LatentWriter(tmp_path / "x.npz", 4) as w:
        w.write(np.zeros((2, 4)), ["a", "a"], [0, 1])
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_save_and_load_embeddings_roundtrip(tmp_path):
    lat = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    p = save_embeddings(tmp_path / "e.pt", lat, ["s1"] * 2 + ["s2"] * 3, [1, 0, 0, 1, 2], meta={"kind": "test"})
    emb = load_embeddings(p)
    np.testing.assert_array_equal(emb.latents, lat)
    seqs = emb.by_sequence()
    np.testing.assert_array_equal(seqs["s1"], lat[[1, 0]])  # sorted by frame index
    assert emb.meta["kind"] == "test" and emb.meta["n_frames"] == 5
    with pytest.raises(ValueError, match="unknown latent file format"):
        save_embeddings(tmp_path / "e.txt", lat, ["a"] * 5, range(5))


def test_embed_height_only_keeps_order_across_widths(ckpt, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    widths = [64, 96, 96, 64, 128]
    (tmp_path / "d" / "s").mkdir(parents=True)
    for t, w in enumerate(widths):
        Image.fromarray((rng.random((40, w)) * 255).astype(np.uint8)).save(tmp_path / "d" / "s" / f"f{t}.png")
    out = tmp_path / "lat.pt"
    assert main(["embed", str(ckpt), str(tmp_path / "d"), "--out", str(out), "--height", "48", "--batch-size", "3",
                 "--workers", "0", "--no-progress"]) == 0
    emb = load_embeddings(out)
    assert emb.frame_index.tolist() == [0, 1, 2, 3, 4]
    model = load_model(ckpt)
    for t, w in enumerate(widths):
        img = torch.from_numpy(load_image(tmp_path / "d" / "s" / f"f{t}.png").pixels)[None, None]
        x = torch.nn.functional.interpolate(img, size=(48, w), mode="bilinear", align_corners=False, antialias=True)
        with torch.no_grad():
            np.testing.assert_allclose(emb.latents[t], model.encode(x)[0].numpy(), atol=2e-2)
