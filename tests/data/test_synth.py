"""Tests of the synthetic droplet-video generator (aecnn.data.synth) and ``aecnn synth``."""
from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from aecnn.data.synth import (
    SynthConfig,
    generate_in_memory,
    render_sequence,
    sample_params,
    write_dataset,
)

SMALL = SynthConfig(n_sequences=3, frames_per_sequence=6, seed=11)


def _spearman(a, b) -> float:
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


@pytest.fixture(scope="module")
def small_seq():
    return render_sequence(SMALL, 1)


# ----------------------------------------------------------------------------- config / determinism


@pytest.mark.parametrize("kwargs", [
    {"n_sequences": 0}, {"frames_per_sequence": -1}, {"strip_size": (8, 8)}, {"crop_size": (0, 5)},
    {"viscosity_range": (2.0, 1.0)}, {"viscosity_range": (0.0, 1.0)}, {"noise_std": -1.0},
    {"direction": 0}, {"strip_size": "big"}, {"aspect_range": (1.5, 0.9)}, {"reflection_size": (0.0, 1.0)},
    {"reflection_spots": -1}, {"reflection_spots": 9}, {"reflection_spots": 1.5},
    {"blur_spread": (0.0, 1.0)}, {"blur_spread": (1.6, 0.5)}, {"reflection_flatness": (2.0, 1.0)},
    {"reflection_peak": (-5.0, 100.0)}, {"reflection_peak": (1.0, float("inf"))},
    {"n_sequences": 2.7}, {"strip_size": (152.5, 1280)}, {"seed": 0.5},  # were cut to whole numbers silently
    {"blur_sigma": (1, 2)}, {"n_sequences": True},
    {"rim_amp": (50.0, 28.0)}, {"drop_level": (0.0, 10.0)}, {"reflection_height": (0.4, 0.2)}, {"rim_len": 3.0},  # a pair where one number goes: was a bare float() error
])
def test_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError, match="SynthConfig"):
        SynthConfig(**kwargs)


def test_config_normalises_lists_to_tuples():
    cfg = SynthConfig(strip_size=[152, 1280], crop_size=[201, 201])
    assert cfg.strip_size == (152, 1280) and cfg.crop_size == (201, 201)
    hash(cfg)  # frozen and hashable


def test_same_seed_identical_different_seed_differs(small_seq):
    again = render_sequence(SMALL, 1)
    np.testing.assert_array_equal(small_seq.strips, again.strips)
    np.testing.assert_array_equal(small_seq.crops, again.crops)
    assert small_seq.viscosity == again.viscosity
    other = render_sequence(SynthConfig(n_sequences=3, frames_per_sequence=6, seed=12), 1)
    assert not np.array_equal(small_seq.strips, other.strips)
    assert other.viscosity != small_seq.viscosity
    # a sequence does not depend on how many others are generated
    alone = render_sequence(SynthConfig(n_sequences=2, frames_per_sequence=6, seed=11), 1)
    np.testing.assert_array_equal(alone.strips, small_seq.strips)


def test_sequences_differ_and_frames_evolve(small_seq):
    s0 = render_sequence(SMALL, 0, kinds=("strip",))
    assert s0.viscosity != small_seq.viscosity
    assert not np.array_equal(small_seq.strips[0], small_seq.strips[-1])
    el = small_seq.frames["elongation"]
    assert np.ptp(el) > 0  # the shape changes over the sequence
    assert np.all(np.diff(small_seq.frames["velocity_px"]) >= 0)  # accelerating towards terminal speed


# ----------------------------------------------------------------------------- shapes and content


def test_shapes_and_dtypes_exact():
    arr = generate_in_memory(SMALL, "strip")
    n = SMALL.n_sequences * SMALL.frames_per_sequence
    assert arr.frames.shape == (n, 152, 1280) and arr.frames.dtype == np.uint8
    np.testing.assert_array_equal(arr.sequence_ids, np.repeat(np.arange(3), 6))
    np.testing.assert_array_equal(arr.frame_idx, np.tile(np.arange(6), 3))
    assert len(arr.metadata["sequences"]) == 3 and len(arr.metadata["frames"]) == n
    assert arr.metadata["viscosity"].shape == (n,)
    frames, _seq_ids, _frame_idx, _meta = generate_in_memory(SMALL, "crop")  # unpacks as a 4-tuple
    assert frames.shape == (n, 201, 201) and frames.dtype == np.uint8
    # in-memory frames are exactly the per-sequence renders
    np.testing.assert_array_equal(frames[6:12], render_sequence(SMALL, 1).crops)
    with pytest.raises(ValueError, match="kind"):
        generate_in_memory(SMALL, "video")


def test_crop_size_always_exact_even_larger_than_strip():
    cfg = SynthConfig(n_sequences=1, frames_per_sequence=3, strip_size=(96, 640), crop_size=(161, 301))
    seq = render_sequence(cfg, 0)
    assert seq.strips.shape == (3, 96, 640)
    assert seq.crops.shape == (3, 161, 301)
    fill = np.clip(round(seq.params.background), 0, 255)
    assert np.all(seq.crops[:, 0, :] == fill)  # padded with the background above the strip


def _drop_mask(img: np.ndarray, rows_above: int) -> np.ndarray:
    mask = img < 100
    mask[max(rows_above, 0):] = False  # drop the baseline and substrate rows
    return mask


def test_drop_darker_than_background_and_crop_centred(small_seq):
    p = small_seq.params
    for t in range(len(small_seq)):
        strip = small_seq.strips[t]
        crop = small_seq.crops[t]
        assert np.median(strip[: p.baseline_row - 5]) >= 245  # near-white background
        oy = int(small_seq.frames["crop_y0"][t])
        mask = _drop_mask(crop, p.baseline_row - oy)
        assert mask.sum() > 1500  # a sizeable dark silhouette
        assert crop[mask].mean() < 50 and np.median(crop[~mask]) >= 245
        ys, xs = np.nonzero(mask)
        cy, cx = ys.mean(), xs.mean()
        assert abs(cx - 100) < 4 and abs(cy - 100) < 4, (t, cx, cy)


def test_baseline_present(small_seq):
    p = small_seq.params
    for strip in small_seq.strips:
        row = strip[p.baseline_row]
        assert (row < 40).mean() > 0.99  # thin dark line across the whole strip
        assert (strip[p.baseline_row - 12] > 200).mean() > 0.6  # white above it, apart from the drop
    assert 0 <= strip.shape[0] - 1 - p.baseline_row <= 6  # near the bottom edge


def test_metadata_consistent_with_pixels(small_seq):
    f = small_seq.frames
    p = small_seq.params
    for t in (0, len(small_seq) - 1):
        mask = _drop_mask(small_seq.strips[t].copy(), p.baseline_row)
        cols = np.nonzero(mask.any(axis=0))[0]
        assert abs(cols.min() - f["x_front_px"][t]) < 3  # moving right-to-left by default
        assert abs(cols.max() - f["x_rear_px"][t]) < 4
        rows = np.nonzero(mask.any(axis=1))[0]
        assert abs((p.baseline_row - rows.min()) - f["height_px"][t]) < 3
    assert np.all(f["adv_angle_deg"] > 90) and np.all(f["rec_angle_deg"] < 90)


def test_direction_plus_one_mirrors():
    left = render_sequence(SynthConfig(n_sequences=1, frames_per_sequence=3, dust_count=0), 0)
    right = render_sequence(SynthConfig(n_sequences=1, frames_per_sequence=3, dust_count=0, direction=1), 0)
    np.testing.assert_array_equal(right.strips, left.strips[:, :, ::-1])
    np.testing.assert_allclose(right.frames["x_px"], 1280 - left.frames["x_px"])
    assert np.all(np.diff(right.frames["x_front_px"]) > 0)


# ----------------------------------------------------------------------------- viscosity


def test_viscosity_sets_speed_monotonically_params():
    cfg = SynthConfig(n_sequences=200)
    params = [sample_params(cfg, i) for i in range(200)]
    visc = np.array([p.viscosity for p in params])
    speed = np.array([p.terminal_velocity for p in params])
    assert visc.min() >= 0.5 and visc.max() <= 5.0
    assert _spearman(visc, speed) < -0.85
    # averaged over viscosity bins: strictly decreasing
    edges = np.quantile(visc, [0, 0.25, 0.5, 0.75, 1.0])
    means = [speed[(visc >= a) & (visc <= b)].mean() for a, b in itertools.pairwise(edges)]
    assert all(x > y for x, y in itertools.pairwise(means)), means


def test_viscosity_slows_the_drop_in_rendered_frames():
    """Speed measured from pixels (advancing edge), averaged over sequences, drops with viscosity."""
    cfg = SynthConfig(n_sequences=4, frames_per_sequence=10, crop_size=(8, 8))
    speeds, elong = {}, {}
    for mu in (0.6, 1.6, 4.5):
        measured, el = [], []
        for i in range(4):
            seq = render_sequence(cfg, i, kinds=("strip",), viscosity=mu)
            b = seq.params.baseline_row
            fronts = [np.nonzero((s[:b] < 100).any(axis=0))[0].min() for s in seq.strips]
            measured.append((fronts[0] - fronts[-1]) / (len(fronts) - 1))
            el.append(seq.frames["elongation"].mean())
        speeds[mu], elong[mu] = np.mean(measured), np.mean(el)
    assert speeds[0.6] > speeds[1.6] > speeds[4.5] > 0, speeds
    assert elong[0.6] < elong[1.6] < elong[4.5], elong  # viscous drops leave longer tails


# ----------------------------------------------------------------------------- writing + CLI


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_write_dataset_layout_and_csvs(tmp_path):
    from PIL import Image

    cfg = SynthConfig(n_sequences=2, frames_per_sequence=3, seed=5)
    out = write_dataset(tmp_path / "ds", cfg, progress=False)
    assert out == tmp_path / "ds"
    for kind, size in (("strips", (1280, 152)), ("crops", (201, 201))):
        seqs = sorted(p.name for p in (out / kind).iterdir())
        assert seqs == ["seq_000", "seq_001"]
        for s in seqs:
            files = sorted(p.name for p in (out / kind / s).iterdir())
            assert files == ["frame_000000.png", "frame_000001.png", "frame_000002.png"]
        with Image.open(out / kind / "seq_001" / "frame_000002.png") as im:
            assert im.mode == "L" and im.size == size
    meta = _read_csv(out / "metadata.csv")
    frames = _read_csv(out / "frames.csv")
    assert len(meta) == 2 and len(frames) == 6
    assert [m["sequence"] for m in meta] == ["seq_000", "seq_001"]
    assert {"viscosity", "volume", "terminal_velocity_px"} <= set(meta[0])
    assert {"sequence", "frame", "x_px", "velocity_px", "strip_file", "crop_file"} <= set(frames[0])
    assert abs(float(meta[1]["viscosity"]) - render_sequence(cfg, 1).viscosity) < 1e-5
    # the PNG on disk is exactly the in-memory render, and no temporary files are left
    seq = render_sequence(cfg, 1)
    np.testing.assert_array_equal(np.array(Image.open(out / frames[5]["strip_file"])), seq.strips[2])
    np.testing.assert_array_equal(np.array(Image.open(out / frames[5]["crop_file"])), seq.crops[2])
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    # the per-sequence shape/reflection draws are in metadata.csv, and the config rebuilds itself
    assert {"aspect", "reflection_size", "n_reflection_spots"} <= set(meta[0])
    assert float(meta[1]["aspect"]) == pytest.approx(sample_params(cfg, 1).aspect, abs=1e-4)
    import json

    assert SynthConfig(**json.loads((out / "synth_config.json").read_text())) == cfg


def test_write_dataset_one_kind(tmp_path):
    out = write_dataset(tmp_path, SynthConfig(n_sequences=1, frames_per_sequence=2), kinds=("crop",),
                        progress=False)
    assert (out / "crops" / "seq_000" / "frame_000001.png").is_file()
    assert not (out / "strips").exists()
    with pytest.raises(ValueError, match="kind"):
        write_dataset(tmp_path, SynthConfig(n_sequences=1, frames_per_sequence=1), kinds=("movie",))


def test_an_earlier_dataset_is_replaced_only_with_overwrite_and_leaves_nothing_behind(tmp_path):
    # a rewrite used to keep the earlier run's extra frames, and the other kind's folder beside new labels
    write_dataset(tmp_path, SynthConfig(n_sequences=2, frames_per_sequence=4), progress=False)
    with pytest.raises(FileExistsError, match="holds a synthetic dataset already: pass --overwrite"):
        write_dataset(tmp_path, SynthConfig(n_sequences=1, frames_per_sequence=2, seed=7), progress=False)
    write_dataset(tmp_path, SynthConfig(n_sequences=1, frames_per_sequence=2, seed=7), kinds=("crop",),
                  progress=False, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crops", "frames.csv", "metadata.csv", "synth_config.json"]
    assert sorted(p.name for p in (tmp_path / "crops").rglob("*.png")) == ["frame_000000.png", "frame_000001.png"]


def test_a_folder_with_other_files_is_never_written_into(tmp_path):
    (tmp_path / "expA").mkdir()
    (tmp_path / "metadata.csv").write_text("sequence,viscosity\nexpA,3.3\n")  # the user's own labels
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="holds more than a synthetic dataset .*expA"):
            write_dataset(tmp_path, SynthConfig(n_sequences=1, frames_per_sequence=1), progress=False,
                          overwrite=overwrite)
    assert (tmp_path / "metadata.csv").read_text().startswith("sequence,viscosity\nexpA")


def test_write_dataset_unwritable_path_names_it(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with pytest.raises(OSError, match="not_a_folder"):
        write_dataset(blocker / "sub", SynthConfig(n_sequences=1, frames_per_sequence=1), progress=False)
    with pytest.raises(OSError, match="not_a_folder"):
        write_dataset(blocker, SynthConfig(n_sequences=1, frames_per_sequence=1), progress=False)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_write_dataset_permission_denied(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="ro"):
            write_dataset(ro / "out", SynthConfig(n_sequences=1, frames_per_sequence=1), progress=False)
    finally:
        ro.chmod(0o700)


def test_cli_synth_writes_and_summarises(tmp_path, capsys):
    from aecnn.cli import main

    out = tmp_path / "cli"
    rc = main(["synth", "--out", str(out), "--sequences", "2", "--frames", "2", "--seed", "3",
               "--kinds", "strip", "crop", "--strip-size", "128", "640", "--crop-size", "101", "121",
               "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "wrote" in text and str(out) in text and "4 strip" in text
    assert len(_read_csv(out / "frames.csv")) == 4
    from PIL import Image

    with Image.open(out / "crops" / "seq_001" / "frame_000001.png") as im:
        assert im.size == (121, 101)
    with Image.open(out / "strips" / "seq_000" / "frame_000000.png") as im:
        assert im.size == (640, 128)


def test_cli_synth_errors_exit_2(tmp_path, capsys):
    from aecnn.cli import main

    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    assert main(["synth", "--out", str(blocker / "sub"), "--sequences", "1", "--frames", "1"]) == 2
    err = capsys.readouterr().err
    assert "file.txt" in err and "error" in err
    assert main(["synth", "--out", str(tmp_path / "y"), "--frames", "0"]) == 2
    assert "frames_per_sequence" in capsys.readouterr().err


# ----------------------------------------------------------------------------- realism


def _real_frames_dir() -> Path | None:
    here = Path(__file__).resolve()
    for cand in (Path("/work/shared/data/droplet_frames"), here.parents[2] / ".." / "shared" / "data" / "droplet_frames",
                 here.parents[2] / "shared" / "data" / "droplet_frames"):
        if cand.is_dir() and any(cand.glob("*.png")):
            return cand
    return None


def test_intensity_statistics_match_real_frames():
    """Same fractions of near-white / near-black / edge pixels as the real 1280x130 frames."""
    folder = _real_frames_dir()
    if folder is None:
        pytest.skip("real reference frames (shared/data/droplet_frames) not available")
    from PIL import Image

    real = np.stack([np.array(Image.open(p).convert("L")) for p in sorted(folder.glob("*.png"))])
    h = real.shape[1]
    synth = generate_in_memory(SynthConfig(n_sequences=6, frames_per_sequence=4, seed=0), "strip").frames
    synth = synth[:, -h:, : real.shape[2]]  # the same bottom rows as the real frames

    def stats(a):
        return {"white": (a >= 230).mean(), "black": (a <= 60).mean(), "edge": ((a > 60) & (a < 230)).mean()}

    r, s = stats(real), stats(synth)
    assert abs(s["white"] - r["white"]) < 0.03, (s, r)
    assert 0.6 < s["black"] / r["black"] < 1.6, (s, r)
    assert 0.3 < s["edge"] / r["edge"] < 3.0, (s, r)
    # per frame: the drop is a plausible size (dark fraction in the real range, with slack)
    lo, hi = (real <= 60).mean(axis=(1, 2)).min(), (real <= 60).mean(axis=(1, 2)).max()
    per = (synth <= 60).mean(axis=(1, 2))
    assert np.all(per > 0.5 * lo) and np.all(per < 2.0 * hi), (per, lo, hi)
    # drop heights (baseline to the top of the silhouette) in the same range as the real ones
    def heights(frames):
        out = []
        for f in frames:
            dark_rows = np.nonzero((f <= 60).mean(axis=1) > 0.005)[0]
            base = np.nonzero((f <= 60).mean(axis=1) > 0.95)[0].min()  # baseline row
            out.append(base - dark_rows.min())
        return np.array(out)

    rh, sh = heights(real), heights(synth)
    assert 0.6 * rh.min() < sh.min() and sh.max() < 1.3 * rh.max(), (sh, rh)


# ----------------------------------------------------------------------------- generator variants


def test_variant_fields_leave_the_hidden_physics_alone():
    """aspect_range, reflection_size and reflection_spots draw from their own stream: the viscosity,
    volume, speed and angles of every sequence stay those of the default generator."""
    base = SynthConfig(n_sequences=4, seed=5, aspect_range=(0.96, 1.15), reflection_size=(1.0, 1.0),
                       reflection_spots=0)  # the generator before 2026-12-02
    variant = SynthConfig(n_sequences=4, seed=5)  # the default since
    keep = ("viscosity", "volume", "radius_px", "terminal_velocity", "theta_eq_deg", "hysteresis_deg", "tilt")
    for i in range(4):
        a, b = sample_params(base, i), sample_params(variant, i)
        assert all(getattr(a, k) == getattr(b, k) for k in keep)
        assert 0.85 <= b.aspect <= 1.5 and 1.2 <= b.reflection_size <= 1.8
        assert a.reflection_size == 1.0 and len(a.spots) == 0 and len(b.spots) <= 3
    assert any(len(sample_params(variant, i).spots) for i in range(4))


def test_reflection_variant_adds_bright_pixels_inside_the_drop():
    base = SynthConfig(n_sequences=6, frames_per_sequence=2, seed=2, reflection_size=(1.0, 1.0), reflection_spots=0)
    variant = SynthConfig(n_sequences=6, frames_per_sequence=2, seed=2, reflection_size=(1.6, 1.8),
                          reflection_spots=3)
    a = generate_in_memory(base, "crop").frames
    b = generate_in_memory(variant, "crop").frames
    # same background, noise and silhouettes: the spots only brighten pixels inside the drops
    changed = a != b
    assert 0 < changed.mean() < 0.01
    assert (b[changed] > a[changed]).all()
    assert (a[changed] < 128).mean() > 0.5  # mostly pixels of the dark drop
    assert (a > 100).sum() < (b > 100).sum()


def test_flat_reflection_profile_saturates_more_pixels_than_a_gaussian():
    """reflection_flatness > 1 gives the spot a flat top that saturates, as in the real frames; the
    flatness is drawn last from its own stream, so everything else in the frames stays the same."""
    gauss = SynthConfig(n_sequences=6, frames_per_sequence=2, seed=2, reflection_peak=(230.0, 260.0))
    flat = SynthConfig(n_sequences=6, frames_per_sequence=2, seed=2, reflection_peak=(230.0, 260.0),
                       reflection_flatness=(3.0, 3.0))
    for i in range(6):
        a, b = sample_params(gauss, i), sample_params(flat, i)
        assert a.reflection == b.reflection and a.viscosity == b.viscosity and np.array_equal(a.spots, b.spots)
        assert a.reflection_flatness == 1.0 and b.reflection_flatness == 3.0
    a = generate_in_memory(gauss, "crop").frames
    b = generate_in_memory(flat, "crop").frames
    assert (b >= 250).sum() > (a >= 250).sum()
    assert (a != b).mean() < 0.01  # only the spots differ


def test_drop_level_and_rim_ranges_brighten_only_the_drop():
    """drop_level / rim_amp / rim_len set the drop's grey levels within their ranges; the draws do not
    depend on the bounds, so the shape, the physics and every pixel outside the drop stay the same."""
    base = SynthConfig(n_sequences=4, frames_per_sequence=2, seed=2)
    bright = SynthConfig(n_sequences=4, frames_per_sequence=2, seed=2, drop_level=(24.0, 28.0), rim_amp=(60.0, 70.0),
                         rim_len=(6.0, 8.0))
    for i in range(4):
        a, b = sample_params(base, i), sample_params(bright, i)
        assert a.viscosity == b.viscosity and a.reflection == b.reflection and a.aspect == b.aspect
        assert 10.0 <= a.drop_level <= 25.0 and 24.0 <= b.drop_level <= 28.0 and 60.0 <= b.rim_amp <= 70.0
    a = generate_in_memory(base, "crop").frames.astype(int)
    b = generate_in_memory(bright, "crop").frames.astype(int)
    changed = a != b
    assert 0.02 < changed.mean() < 0.3  # the drops' pixels, not the background
    assert (b[changed] > a[changed]).mean() > 0.95 and (a[changed] < 128).mean() > 0.9


def test_reflection_height_moves_the_main_spot():
    low = SynthConfig(n_sequences=6, seed=4, reflection_height=(0.05, 0.1))
    for i in range(6):
        p, q = sample_params(low, i), sample_params(SynthConfig(n_sequences=6, seed=4), i)
        assert 0.05 <= p.reflection[1] <= 0.1 and 0.22 <= q.reflection[1] <= 0.36
        assert p.reflection[0] == q.reflection[0] and p.viscosity == q.viscosity


def test_blur_sets_the_edge_width():
    """Grey edge pixels (61-229) grow with blur_sigma; the per-sequence factor stays in blur_spread."""
    def grey(cfg):
        f = generate_in_memory(cfg, "crop").frames
        return ((f > 60) & (f < 230)).sum()

    sharp = SynthConfig(n_sequences=4, frames_per_sequence=2, seed=3, blur_sigma=0.3, noise_std=0.0)
    soft = SynthConfig(n_sequences=4, frames_per_sequence=2, seed=3, blur_sigma=1.2, noise_std=0.0)
    assert grey(soft) > 1.5 * grey(sharp)
    cfg = SynthConfig(n_sequences=16)
    sig = [sample_params(cfg, i).edge_sigma for i in range(16)]
    lo, hi = cfg.blur_spread
    assert all(cfg.blur_sigma * lo <= s <= cfg.blur_sigma * hi for s in sig)


def test_cli_synth_set_and_config_reproduce_a_dataset(tmp_path, capsys):
    """--set takes any other generator setting; --config regenerates a dataset from its
    synth_config.json, frame for frame, and options given beside it win."""
    import json

    from PIL import Image

    from aecnn.cli import main

    first = tmp_path / "a"
    assert main(["synth", "--out", str(first), "--sequences", "2", "--frames", "2", "--seed", "7", "--kinds", "crop",
                 "--set", "blur_sigma=0.8", "--set", "blur_spread=0.8,1.25", "--set", "reflection_spots=0",
                 "--no-progress"]) == 0
    saved = json.loads((first / "synth_config.json").read_text())
    assert saved["blur_sigma"] == 0.8 and saved["blur_spread"] == [0.8, 1.25] and saved["reflection_spots"] == 0
    again = tmp_path / "b"
    assert main(["synth", "--out", str(again), "--config", str(first / "synth_config.json"), "--kinds", "crop",
                 "--no-progress"]) == 0
    for path in sorted((first / "crops").rglob("*.png")):
        with Image.open(path) as a, Image.open(again / path.relative_to(first)) as b:
            assert np.array_equal(np.asarray(a), np.asarray(b))
    other = tmp_path / "c"
    assert main(["synth", "--out", str(other), "--config", str(first / "synth_config.json"), "--seed", "8",
                 "--kinds", "crop", "--no-progress"]) == 0
    assert json.loads((other / "synth_config.json").read_text())["seed"] == 8
    capsys.readouterr()


@pytest.mark.parametrize("content, message", [
    (None, "cannot read --config"), ("{not json", "not a JSON file"), ("[1, 2]", "JSON object"),
    ('{"blur_sigma": 0.8, "warp_speed": 9}', "unknown generator settings warp_speed"),
    ('{"blur_sigma": -1}', "blur_sigma"),
])
def test_cli_synth_bad_config_exit_2(tmp_path, capsys, content, message):
    from aecnn.cli import main

    cfg = tmp_path / "synth_config.json"
    if content is not None:
        cfg.write_text(content)
    assert main(["synth", "--out", str(tmp_path / "o"), "--config", str(cfg), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and "synth_config.json" in err
    assert not (tmp_path / "o").exists()  # nothing written


def test_cli_synth_set_refuses_fields_with_their_own_option(capsys):
    from aecnn.cli import main

    with pytest.raises(SystemExit):
        main(["synth", "--out", "x", "--set", "seed=3"])
    assert "FIELD one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["synth", "--out", "x", "--set", "warp=1"])


def test_outline_modes_bend_the_edge_but_not_the_physics_or_the_contact_line():
    """outline_modes draws from a stream of its own (the hidden physics stays), moves the drop's edge
    by at most about its amplitude, and fades out towards the baseline (strip rows next to it stay)."""
    base = SynthConfig(n_sequences=4, frames_per_sequence=3, seed=4, noise_std=0.0, outline_modes=0.0)
    bent = SynthConfig(n_sequences=4, frames_per_sequence=3, seed=4, noise_std=0.0)  # the default: 3 px
    for i in range(4):
        a, b = sample_params(base, i), sample_params(bent, i)
        assert a.viscosity == b.viscosity and a.aspect == b.aspect and a.reflection == b.reflection
        assert len(a.outline) == 0 and b.outline.shape == (5, 4)
        assert 0 < b.outline[:, 1].sum() <= 3.0 + 1e-9
    fa = generate_in_memory(base, "strip")
    fb = generate_in_memory(bent, "strip")
    changed = np.abs(fa.frames.astype(int) - fb.frames) > 2
    assert changed.any()
    dark_a, dark_b = fa.frames < 128, fb.frames < 128
    # only the edge region changes: the edge itself (by about the amplitude) and the bright rim inside it
    edge = np.zeros_like(dark_a)
    for axis in (1, 2):
        edge |= np.diff(dark_a, axis=axis, prepend=False) | np.diff(dark_a, axis=axis, append=False)
    from scipy.ndimage import binary_dilation
    near = binary_dilation(edge, structure=np.ones((1, 25, 25), bool))
    assert (changed & ~near).sum() == 0
    # the contact points (first / last dark column of the row above the baseline) stay within 1 px
    for i in range(4):
        row = sample_params(base, i).baseline_row - 1
        for a, b in zip(dark_a[fa.sequence_ids == i, row], dark_b[fb.sequence_ids == i, row]):
            ca, cb = np.flatnonzero(a), np.flatnonzero(b)
            assert abs(ca[0] - cb[0]) <= 1 and abs(ca[-1] - cb[-1]) <= 1
    assert dark_a.sum() != dark_b.sum()
    with pytest.raises(ValueError, match="outline_modes"):
        SynthConfig(outline_modes=-1.0)
