"""Data loading: reading, indexing, geometry, cache, datasets, sampler, split."""
from __future__ import annotations

import json
import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from aecnn.data import (
    ArrayFrameDataset,
    FrameCache,
    FrameDataset,
    Geometry,
    WidthBucketBatchSampler,
    apply_geometry,
    imageio,
    index_frames,
    load_split,
    make_datasets,
    read_frame,
    read_image,
    save_split,
    split_sequences,
)

RNG = np.random.default_rng(0)


def png8(path: Path, h: int = 40, w: int = 48, value: int | None = None) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = RNG.integers(0, 256, (h, w), dtype=np.uint8) if value is None else np.full((h, w), value, np.uint8)
    Image.fromarray(arr).save(path)
    return arr


def make_tree(root: Path) -> None:
    for i in (0, 1, 2, 10):
        png8(root / "expA" / f"frame_{i}.png")
    for i in range(3):
        png8(root / "expB" / "sub" / f"img{i}.png")
    for i in range(2):
        png8(root / "expC" / f"f{i}.png")


def build(index, tmp_path: Path, geometry: Geometry | None = None, **kw) -> FrameCache:
    geometry = geometry or Geometry(input_size=(40, 48), resize_mode="pad_crop")
    return FrameCache.open_or_build(index, tmp_path / "cache", geometry, progress=False, workers=2, **kw)


# ----------------------------------------------------------------------------- index


def test_natural_order_and_grouping(tmp_path):
    make_tree(tmp_path / "d")
    png8(tmp_path / "d" / "top.png")
    (tmp_path / "d" / "notes.txt").write_text("x")
    (tmp_path / "d" / "expA" / "._frame_3.png").write_bytes(b"macos resource fork")
    idx = index_frames(tmp_path / "d")
    assert idx.sequences == ["d", "expA", "expB/sub", "expC"]
    names = [f.path.name for f in idx.frames_of("expA")]
    assert names == ["frame_0.png", "frame_1.png", "frame_2.png", "frame_10.png"]
    assert [f.frame_idx for f in idx.frames_of("expA")] == [0, 1, 2, 3]
    assert len(idx) == 4 + 3 + 2 + 1 and idx.skipped == []
    assert all(f.stack_index is None for f in idx.frames)


def test_empty_missing_and_no_image_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        index_frames(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty.*png"):
        index_frames(tmp_path / "empty")
    (tmp_path / "txt").mkdir()
    (tmp_path / "txt" / "a.csv").write_text("1,2")
    with pytest.raises(ValueError, match=r"no images found under .*txt.*\.csv \(1\).*accepted extensions: .png"):
        index_frames(tmp_path / "txt")
    with pytest.raises(FileNotFoundError):  # raised before any cache work
        make_datasets(tmp_path / "nope", Geometry(height=32), cache_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists()


# ----------------------------------------------------------------------------- reading


def test_precision_8_and_16_bit(tmp_path):
    a8 = png8(tmp_path / "a.png")
    assert np.array_equal(read_image(tmp_path / "a.png"), a8)
    a16 = np.full((33, 35), 1000, np.uint16)
    a16[0, 0] = 65535
    Image.fromarray(a16).save(tmp_path / "b.png")
    with Image.open(tmp_path / "b.png") as im:
        assert im.mode == "I;16"
    tifffile.imwrite(tmp_path / "c.tif", a16)
    tifffile.imwrite(tmp_path / "d.tiff", a8)
    for name, ref in (("b.png", a16), ("c.tif", a16), ("d.tiff", a8)):
        got = read_image(tmp_path / name)
        assert got.dtype == ref.dtype and np.array_equal(got, ref), name
    # through the cache and dataset: 1000/65535 exactly, 8-bit exact in a uint16 cache
    idx = index_frames(tmp_path)
    cache = build(idx, tmp_path, Geometry(input_size=(40, 48), resize_mode="pad"))
    assert cache.dtype == np.uint16
    ds = FrameDataset(cache)
    by_name = {ds.meta(i).path.name: ds[i] for i in range(len(ds))}
    assert by_name["c.tif"].dtype == torch.float32 and by_name["c.tif"].shape == (1, 40, 48)
    assert by_name["c.tif"][0, 10, 10].item() == np.float32(1000) / np.float32(65535)
    assert by_name["b.png"][0, 10, 10].item() == np.float32(1000) / np.float32(65535)
    assert np.array_equal(np.rint(by_name["a.png"][0].numpy() * 255).astype(np.uint8), a8)


def test_rgb_to_gray(tmp_path):
    rgb = np.zeros((34, 36, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    rgb[0] = 77  # a gray row stays exactly gray
    Image.fromarray(rgb).save(tmp_path / "c.png")
    Image.fromarray(rgb).convert("RGBA").save(tmp_path / "d.png")
    Image.fromarray(rgb).save(tmp_path / "e.jpg", quality=100)
    Image.fromarray(rgb).save(tmp_path / "f.bmp")
    expect = round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)
    for name in ("c.png", "d.png", "f.bmp"):
        g = read_image(tmp_path / name)
        assert g.shape == (34, 36) and g.dtype == np.uint8
        assert g[5, 5] == expect and (g[0] == 77).all()
    assert abs(int(read_image(tmp_path / "e.jpg")[5, 5]) - expect) <= 2
    rgb16 = rgb.astype(np.uint16) * 257
    tifffile.imwrite(tmp_path / "g.tif", rgb16, photometric="rgb")
    g = read_image(tmp_path / "g.tif")
    assert g.dtype == np.uint16 and g[5, 5] == round((0.299 * 200 + 0.587 * 100 + 0.114 * 50) * 257)
    assert (g[0] == 77 * 257).all()


def test_stacks(tmp_path):
    root = tmp_path / "d"
    (root / "exp").mkdir(parents=True)
    s3 = RNG.integers(0, 65536, (5, 33, 40), dtype=np.uint16)
    np.save(root / "exp" / "run.npy", s3)
    s2 = RNG.random((33, 40)).astype(np.float32)
    np.save(root / "single.npy", s2)
    a, b = RNG.integers(0, 256, (2, 33, 40), dtype=np.uint8), RNG.integers(0, 256, (33, 40), dtype=np.uint8)
    np.savez_compressed(root / "pair.npz", first=a, second=b)
    idx = index_frames(root)
    assert idx.sequences == ["exp/run.npy", "pair.npz", "single.npy"]
    assert [f.stack_index for f in idx.frames_of("exp/run.npy")] == [0, 1, 2, 3, 4]
    assert len(idx.frames_of("pair.npz")) == 3 and len(idx.frames_of("single.npy")) == 1
    assert np.array_equal(read_frame(root / "exp" / "run.npy", 3), s3[3])
    assert np.array_equal(read_frame(root / "pair.npz", 2), b)
    cache = build(idx, tmp_path, Geometry(input_size=(33, 40), resize_mode="pad"))
    ds = FrameDataset(cache)
    got = {(ds.meta(i).seq, ds.meta(i).stack_index): ds[i][0].numpy() for i in range(len(ds))}
    assert np.array_equal(got[("exp/run.npy", 3)], s3[3].astype(np.float32) / np.float32(65535))
    assert np.abs(got[("single.npy", 0)] - s2).max() <= 0.5 / 65535 + 1e-7  # float → uint16
    assert np.array_equal(np.rint(got[("pair.npz", 1)] * 255), a[1])
    assert np.array_equal(np.rint(got[("pair.npz", 2)] * 255), b)
    np.save(root / "bad.npy", np.zeros((2, 3, 4, 5), np.uint8))
    idx = index_frames(root)
    assert [p.name for p, _ in idx.skipped] == ["bad.npy"]
    with pytest.raises(ValueError, match="bad.npy"):
        index_frames(root, strict=True)


# ----------------------------------------------------------------------------- corrupt files


def test_corrupt_files_skipped_or_strict(tmp_path):
    root = tmp_path / "d"
    make_tree(root)
    (root / "expA" / "frame_5.png").write_bytes(b"not a png at all")
    good = (root / "expC" / "f0.png").read_bytes()
    (root / "expC" / "f1.png").write_bytes(good[: len(good) // 2])  # valid header, truncated data
    idx = index_frames(root)
    cache = build(idx, tmp_path)
    assert len(cache) == len(idx) - 2
    assert sorted(p.name for p, _ in cache.skipped) == ["f1.png", "frame_5.png"]
    ds = FrameDataset(cache)
    assert all(ds[i].shape == (1, 40, 48) for i in range(len(ds)))
    assert "f1.png" not in {ds.meta(i).path.name for i in range(len(ds))}
    # reused cache reports the same skipped files; strict refuses it
    assert len(build(idx, tmp_path).skipped) == 2
    with pytest.raises(ValueError, match=r"frame_5.png|f1.png"):
        build(idx, tmp_path, strict=True)
    strict = {"geometry": Geometry(input_size=(40, 48)), "progress": False, "workers": 1, "strict": True}
    with pytest.raises(ValueError, match="frame_5.png"):  # found when reading headers
        FrameCache.build(idx, tmp_path / "strict1", **strict)
    (root / "expA" / "frame_5.png").unlink()
    idx = index_frames(root)
    with pytest.raises(ValueError, match="f1.png"):  # found when decoding
        FrameCache.build(idx, tmp_path / "strict2", **strict)
    assert not (tmp_path / "strict2" / "manifest.json").exists()
    _, _, summary = make_datasets(root, Geometry(height=40), tmp_path / "c2", val_fraction=0.3, progress=False)
    assert summary.n_skipped == 1 and summary.skipped[0][0].name == "f1.png"
    assert summary.n_frames == len(idx) - 1


# ----------------------------------------------------------------------------- geometry


def test_geometry_validation():
    for kw, msg in (({}, "exactly one"), ({"input_size": (64, 64), "height": 64}, "exactly one"),
                    ({"height": 16}, "at least 32"), ({"input_size": (64, 8)}, "at least 32"),
                    ({"height": 64, "resize_mode": "stretch"}, "resize_mode"),
                    ({"input_size": (64,)}, r"\(H, W\)"), ({"height": 64.0}, "integer")):
        with pytest.raises(ValueError, match=msg):
            Geometry(**kw)
    g = Geometry(input_size=[64, 96], resize_mode="pad")
    assert g.input_size == (64, 96) and Geometry.from_dict(json.loads(json.dumps(g.to_dict()))) == g


@pytest.mark.parametrize("mode", ["resize", "pad", "crop", "pad_crop"])
def test_resize_modes_shapes(mode):
    img = RNG.integers(0, 65536, (50, 70), dtype=np.uint16)
    fixed = Geometry(input_size=(40, 90), resize_mode=mode)  # height shrinks, width grows
    if mode in ("pad", "crop"):
        with pytest.raises(ValueError, match=mode):
            apply_geometry(img, fixed)
    else:
        out = apply_geometry(img, fixed)
        assert out.shape == (40, 90) and out.dtype == np.uint16
    small, big = Geometry(input_size=(64, 96), resize_mode=mode), Geometry(input_size=(32, 48), resize_mode=mode)
    if mode != "crop":
        assert apply_geometry(img, small).shape == (64, 96)
    if mode != "pad":
        assert apply_geometry(img, big).shape == (32, 48)
    h_only = Geometry(height=64 if mode != "crop" else 40, resize_mode=mode)
    assert apply_geometry(img, h_only).shape == (h_only.height, 70)


def test_pad_and_crop_values():
    img = np.arange(40 * 36, dtype=np.uint8).reshape(40, 36)
    out = apply_geometry(img, Geometry(input_size=(44, 36), resize_mode="pad"))
    assert (out[:2] == img[0]).all() and (out[-2:] == img[-1]).all() and np.array_equal(out[2:42], img)
    out = apply_geometry(img, Geometry(input_size=(32, 36), resize_mode="crop"))
    assert np.array_equal(out, img[4:36])
    assert apply_geometry(img, Geometry(input_size=(40, 36))) is img  # same size: untouched
    flat = np.full((64, 64), 1000, np.uint16)
    assert (apply_geometry(flat, Geometry(input_size=(32, 40))) == 1000).all()  # resize keeps levels


def test_geometry_misfit_is_an_error_before_decoding(tmp_path):
    make_tree(tmp_path / "d")
    png8(tmp_path / "d" / "expC" / "f9.png", h=50)
    with pytest.raises(ValueError, match=r"1 frames do not fit.*f9.png.*pad_crop"):
        build(index_frames(tmp_path / "d"), tmp_path, Geometry(height=40, resize_mode="pad"))


# ----------------------------------------------------------------------------- height-only + sampler


def test_height_only_keeps_width_and_buckets(tmp_path):
    root = tmp_path / "d"
    widths = {"a": 48, "b": 64, "c": 100}
    for seq, w in widths.items():
        for i in range(5 + w % 7):
            png8(root / seq / f"{i}.png", h=38 + i % 5, w=w)
    idx = index_frames(root)
    cache = build(idx, tmp_path, Geometry(height=40, resize_mode="pad_crop"))
    assert len(cache.buckets) == 3 and len(list((tmp_path / "cache").glob("frames_*.npy"))) == 3
    ds = FrameDataset(cache)
    for i in range(len(ds)):
        assert ds[i].shape == (1, 40, widths[ds.meta(i).seq])
    sampler = WidthBucketBatchSampler(ds.widths, batch_size=4, shuffle=True, seed=3)
    seen = []
    for batch in sampler:
        assert len({int(ds.widths[j]) for j in batch}) == 1
        seen += batch
    assert sorted(seen) == list(range(len(ds))) and len(list(sampler)) == len(sampler)
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler)
    assert sum(x.shape[0] for x in loader) == len(ds)


def test_sampler_deterministic_and_ddp_shards():
    widths = np.repeat([48, 64, 96], [23, 10, 6])  # 39 items
    a = WidthBucketBatchSampler(widths, 4, shuffle=True, seed=1)
    b = WidthBucketBatchSampler(widths, 4, shuffle=True, seed=1)
    assert list(a) == list(b)
    a.set_epoch(1)
    assert list(a) != list(b)
    b.set_epoch(1)
    assert list(a) == list(b)
    unshuffled = [i for batch in WidthBucketBatchSampler(widths, 4, shuffle=False) for i in batch]
    assert unshuffled == list(range(39))
    for replicas in (2, 3, 4, 8):
        shards = [WidthBucketBatchSampler(widths, 4, True, 5, num_replicas=replicas, rank=r) for r in range(replicas)]
        for s in shards:
            s.set_epoch(2)
        batches = [list(s) for s in shards]
        assert len({len(bs) for bs in batches}) == 1 and all(len(bs) == len(s) for bs, s in zip(batches, shards))
        flat = [i for bs in batches for batch in bs for i in batch]
        assert sorted(flat) == list(range(39)), replicas  # disjoint and complete
        assert all(len({int(widths[i]) for i in batch}) == 1 for bs in batches for batch in bs)
    dl = [list(WidthBucketBatchSampler(widths, 4, True, 5, drop_last=True, num_replicas=3, rank=r)) for r in range(3)]
    assert len({len(x) for x in dl}) == 1 and all(len(batch) == 4 for x in dl for batch in x)
    flat = [i for x in dl for batch in x for i in batch]
    assert len(flat) == len(set(flat))
    with pytest.raises(ValueError):
        WidthBucketBatchSampler(widths, 4, num_replicas=2, rank=2)


# ----------------------------------------------------------------------------- split


def test_split_by_sequence(tmp_path):
    names = [f"exp{i}" for i in range(10)]
    train, val = split_sequences(names, 0.2, seed=0)
    assert len(val) == 2 and not set(train) & set(val) and sorted(train + val) == sorted(names)
    assert split_sequences(list(reversed(names)), 0.2, seed=0) == (train, val)
    assert any(split_sequences(names, 0.2, seed=s)[1] != val for s in range(1, 6))
    assert split_sequences(["a", "b"], 0.01) [1] and split_sequences(["a", "b"], 0.99)[0]
    assert split_sequences(["only"], 0.0) == (["only"], [])
    with pytest.raises(ValueError, match="val_fraction=0.*two or more folders"):
        split_sequences(["only"], 0.2)
    save_split(tmp_path / "run" / "split.json", train, val)
    assert load_split(tmp_path / "run" / "split.json") == (train, val)
    # make_datasets: frames of one sequence never in both datasets
    make_tree(tmp_path / "d")
    tr, va, summary = make_datasets(tmp_path / "d", Geometry(input_size=(40, 48)), tmp_path / "c",
                                    val_fraction=0.34, seed=2, progress=False)
    assert {tr.meta(i).seq for i in range(len(tr))}.isdisjoint({va.meta(i).seq for i in range(len(va))})
    assert len(tr) + len(va) == summary.n_frames == 9 and summary.val_sequences == va.sequences
    _, va2, _ = make_datasets(tmp_path / "d", Geometry(input_size=(40, 48)), tmp_path / "c",
                                split=(summary.train_sequences, summary.val_sequences), progress=False)
    assert va2.sequences == va.sequences
    one = tmp_path / "one"
    png8(one / "a.png")
    with pytest.raises(ValueError, match="val_fraction=0"):
        make_datasets(one, Geometry(height=40), tmp_path / "c", val_fraction=0.2, progress=False)
    tr, va, s = make_datasets(one, Geometry(height=40), tmp_path / "c", val_fraction=0, progress=False)
    assert va is None and len(tr) == 1 and s.val_sequences == []


# ----------------------------------------------------------------------------- cache


def _forbid_decoding(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("an image file was opened")
    for name in ("read_image", "probe_image", "load_stack_member", "probe_stack"):
        monkeypatch.setattr(imageio, name, boom)


def test_cache_reused_without_decoding(tmp_path, monkeypatch):
    root = tmp_path / "d"
    make_tree(root)
    np.save(root / "s.npy", RNG.integers(0, 256, (3, 40, 48), dtype=np.uint8))
    idx = index_frames(root)
    first = build(idx, tmp_path)
    assert not first.reused and first.dtype == np.uint8
    data = [FrameDataset(first)[i] for i in range(len(first))]
    _forbid_decoding(monkeypatch)
    again = build(idx, tmp_path)
    assert again.reused and again.fingerprint == first.fingerprint
    ds = FrameDataset(again)
    for epoch in range(2):
        for i in range(len(ds)):
            assert torch.equal(ds[i], data[i])
    clone = pickle.loads(pickle.dumps(ds))  # what a spawned DataLoader worker gets
    assert len(pickle.dumps(ds)) < 20_000 and torch.equal(clone[3], data[3])


def test_cache_invalidated_by_changes(tmp_path):
    root = tmp_path / "d"
    make_tree(root)
    cache = build(index_frames(root), tmp_path)
    n = len(cache)
    assert build(index_frames(root), tmp_path).reused
    target = root / "expA" / "frame_1.png"
    new = png8(target, value=9)  # modified (content and mtime)
    os.utime(target, ns=(time.time_ns(), time.time_ns() + 10**9))
    cache = build(index_frames(root), tmp_path)
    assert not cache.reused and len(cache) == n
    i = next(i for i in range(n) if cache.meta(i).path == target)
    assert np.array_equal(cache.get(i), new)
    png8(root / "expA" / "frame_11.png")  # added
    cache = build(index_frames(root), tmp_path)
    assert not cache.reused and len(cache) == n + 1
    (root / "expB" / "sub" / "img0.png").unlink()  # removed
    cache = build(index_frames(root), tmp_path)
    assert not cache.reused and len(cache) == n
    assert build(index_frames(root), tmp_path).reused
    other = build(index_frames(root), tmp_path, Geometry(input_size=(64, 64)))  # geometry change
    assert not other.reused and other.get(0).shape == (64, 64)
    assert len(list((tmp_path / "cache").glob("frames_*"))) == 1  # old files removed


def test_interrupted_build_is_not_trusted(tmp_path, monkeypatch):
    root = tmp_path / "d"
    make_tree(root)
    idx = index_frames(root)
    build(idx, tmp_path)
    png8(root / "expA" / "frame_12.png")  # inputs change → rebuild, which we interrupt
    idx = index_frames(root)
    real, calls = imageio.read_image, []

    def flaky(path):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(path)

    monkeypatch.setattr(imageio, "read_image", flaky)
    with pytest.raises(KeyboardInterrupt):
        FrameCache.open_or_build(idx, tmp_path / "cache", Geometry(input_size=(40, 48), resize_mode="pad_crop"),
                                 progress=False, workers=1)
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert "manifest.json" not in files and not [f for f in files if "frames_" in f or ".tmp" in f]
    with pytest.raises(FileNotFoundError):
        FrameCache.open(tmp_path / "cache")
    monkeypatch.setattr(imageio, "read_image", real)
    cache = build(idx, tmp_path)
    assert not cache.reused and len(cache) == len(idx)
    # a half-written data file (e.g. killed process) makes the cache invalid, not trusted
    data = next((tmp_path / "cache").glob("frames_*.npy"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(ValueError):
        FrameCache.open(tmp_path / "cache")
    assert not build(idx, tmp_path).reused


def test_cache_inside_data_folder_is_not_indexed(tmp_path):
    root = tmp_path / "d"
    make_tree(root)
    idx = index_frames(root)
    FrameCache.build(idx, root / "cache", Geometry(input_size=(40, 48)), progress=False)
    assert len(index_frames(root)) == len(idx)


def test_array_dataset():
    frames = RNG.integers(0, 65536, (6, 32, 40), dtype=np.uint16)
    ds = ArrayFrameDataset(frames, seq_ids=[0, 0, 0, 1, 1, 1], seq_names=["a", "b"])
    x = ds[4]
    assert x.shape == (1, 32, 40) and x.dtype == torch.float32
    assert torch.equal(x[0], torch.from_numpy(frames[4].astype(np.float32) / np.float32(65535)))
    assert ds.meta(4).seq == "b" and ds.meta(4).frame_idx == 1 and ds.meta(4).path is None
    assert list(ds.widths) == [40] * 6 and ds.sequences == ["a", "b"]
    with pytest.raises(ValueError):
        ArrayFrameDataset(frames[0])


def test_low_bit_data_in_16_bit_files_is_pointed_out(tmp_path, caplog):
    # 12-bit camera frames saved as 16-bit TIFFs used to train as nearly black images without a word
    import logging

    from aecnn.data.cache import FrameCache
    from aecnn.data.geometry import Geometry
    from aecnn.data.index import index_frames

    rng = np.random.default_rng(0)
    for name, top in (("twelve", 4095), ("full", 65535)):
        root = tmp_path / name
        (root / "s0").mkdir(parents=True)
        for t in range(2):
            tifffile.imwrite(root / "s0" / f"f{t}.tif", rng.integers(0, top + 1, (40, 40)).astype(np.uint16))
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            FrameCache.open_or_build(index_frames(root), tmp_path / f"cache_{name}", Geometry(input_size=(40, 40)),
                                     progress=False)
        warned = [r.getMessage() for r in caplog.records if "of 65535" in r.getMessage()]
        assert bool(warned) == (name == "twelve"), warned


def test_a_stray_frame_of_another_size_is_named(tmp_path, caplog):
    # with a fixed size, one 180x150 snapshot among 201x201 crops used to be resized without a word
    import logging

    from PIL import Image

    from aecnn.data.cache import FrameCache
    from aecnn.data.geometry import Geometry
    from aecnn.data.index import index_frames

    rng = np.random.default_rng(0)
    for s in ("a", "b"):
        (tmp_path / "d" / s).mkdir(parents=True)
        for t in range(12):
            Image.fromarray(rng.integers(0, 255, (48, 48), dtype=np.uint8)).save(tmp_path / "d" / s / f"f{t}.png")
    Image.fromarray(rng.integers(0, 255, (40, 36), dtype=np.uint8)).save(tmp_path / "d" / "a" / "f99.png")
    with caplog.at_level(logging.WARNING):
        FrameCache.open_or_build(index_frames(tmp_path / "d"), tmp_path / "c", Geometry(input_size=(48, 48)),
                                 progress=False)
    msgs = [r.getMessage() for r in caplog.records]
    assert any("1 of 25 frames" in m and "f99.png" in m and "40x36" in m for m in msgs), msgs


def test_frames_of_several_sizes_are_listed(tmp_path, caplog):
    # more than a few frames of another size: not strays but a dataset of two sizes, named as such
    import logging

    from PIL import Image

    from aecnn.data.cache import FrameCache
    from aecnn.data.geometry import Geometry
    from aecnn.data.index import index_frames

    rng = np.random.default_rng(0)
    for s, shape in (("a", (48, 48)), ("b", (40, 36))):
        (tmp_path / "d" / s).mkdir(parents=True)
        for t in range(6):
            Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(tmp_path / "d" / s / f"f{t}.png")
    with caplog.at_level(logging.WARNING):
        FrameCache.open_or_build(index_frames(tmp_path / "d"), tmp_path / "c", Geometry(input_size=(48, 48)),
                                 progress=False)
    msgs = [r.getMessage() for r in caplog.records]
    assert any("come in 2 sizes (H x W): 48x48 (6), 40x36 (6); all are brought to 48x48" in m for m in msgs), msgs
