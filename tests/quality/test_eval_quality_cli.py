"""``aecnn eval-quality --quick`` end to end on the CPU: every method trains and is scored, and
the table is written, in under a minute."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from aecnn.cli import main

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "droplet_frames"


def test_quick_end_to_end(tmp_path, capsys):
    real = ["--real-dir", str(REAL)] if REAL.is_dir() else ["--no-real"]
    t0 = time.perf_counter()
    rc = main(["eval-quality", "--quick", "--out", str(tmp_path), *real])
    elapsed = time.perf_counter() - t0
    assert rc == 0
    assert elapsed < 60, f"--quick took {elapsed:.0f} s"
    table = (tmp_path / "results.md").read_text()
    assert "| frames | budget | latent | method |" in table and "R² LSTM 8 PCs + drop motion" in table
    assert "## Targets" in table
    assert "| aecnn tiny [channel_config=8-16-32] spatial |" in table  # not the tiny preset: its channels shrunk
    results = json.loads((tmp_path / "results.json").read_text())
    runs = {(r["kind"], r["method"], r["budget"]): r for r in results["runs"]}
    for method in ("pca", "v1", "seed", "aecnn-conv", "aecnn-spatial"):
        r = runs[("crop", method, "images")]
        assert r["status"] == "ok", r
        assert r["metrics"]["psnr"] > 0 and 0 <= r["metrics"]["ssim"] <= 1
        assert math.isfinite(r["r2_lstm_pc"])  # the LSTM on principal components + drop motion ran
    assert ("strip", "v1", "images") not in runs  # V1 takes 201x201 only
    from aecnn.quality.generator import generator_record  # the generator itself, not only the overrides

    assert results["meta"]["generator"] == generator_record() and results["meta"]["generator"]["drop_level"] == [10.0, 25.0]
    assert runs[("strip", "aecnn-conv", "images")]["status"] == "ok"
    assert runs[("crop", "v1", "seconds")]["status"] == "ok"
    assert (tmp_path / "fig_psnr_latent.png").is_file() and (tmp_path / "fig_loss.png").is_file()
    curve = runs[("crop", "aecnn-spatial", "images")]["loss_curve"]  # (images seen, segment loss) pairs
    assert curve[-1][0] == runs[("crop", "aecnn-spatial", "images")]["images_seen"] and all(v > 0 for _, v in curve)
    assert runs[("crop", "pca", "images")]["loss_curve"] == []
    for kind in ("crop", "strip"):  # the control: scored at its initial weights, never trained
        ctl = runs[(kind, "untrained", "images")]
        assert ctl["status"] == "ok" and ctl["images_seen"] == 0 and ctl["loss_curve"] == [], ctl
        assert ctl["note"].startswith("control:") and math.isfinite(ctl["r2_ridge"]) and ctl["metrics"]["psnr"] > 0
    assert ("crop", "untrained", "seconds") not in runs
    assert "| aecnn tiny [channel_config=8-16-32] spatial, untrained (control) |" in table
    assert "untrained control =" in table
    if REAL.is_dir():
        rm = runs[("crop", "aecnn-conv", "images")]["real_metrics"]
        assert rm["psnr"] > 0
        per_frame = rm["psnr_per_frame"]  # one PSNR per real frame, averaging to the reported one
        assert len(per_frame) == len(results["meta"]["real_frames"]) >= 1
        assert abs(sum(per_frame) / len(per_frame) - rm["psnr"]) < 0.01
    assert "| frames |" in capsys.readouterr().out


def test_quick_without_real_frames_saving_models(tmp_path):
    import torch

    from aecnn.baselines.v1 import AutoencoderV1
    from aecnn.checkpoint import load_checkpoint, load_model

    models = tmp_path / "models"
    rc = main(["eval-quality", "--quick", "--out", str(tmp_path), "--no-real",
               "--methods", "pca", "v1", "aecnn-spatial", "--kinds", "crop", "--no-figures",
               "--save-models", str(models)])
    assert rc == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert all(not r["real_metrics"] for r in results["runs"])
    # every trained network is saved, named after its run, and rebuilds from the file alone
    ours = models / "crop-aecnn-spatial-L32-images.pt"
    model = load_model(ours)
    assert model.config.latent_size == 32 and model.config.latent_strategy == "spatial"
    assert load_checkpoint(ours)["quality_run"]["method"] == "aecnn-spatial"
    assert model(torch.rand(2, 1, 201, 201)).shape == (2, 1, 201, 201)
    v1 = AutoencoderV1(embedding_dim=32)
    v1.load_state_dict(torch.load(models / "crop-v1-L32-images.pt", weights_only=True))
    notes = {r["method"]: r["note"] for r in results["runs"] if r["budget"] == "images"}
    assert "crop-v1-L32-images.pt" in notes["v1"]


def test_a_training_past_the_deadline_is_cut_scored_and_kept_out_of_the_targets(tmp_path):
    # --images-seen far beyond what the deadline allows: the training stops SCORE_MARGIN_S before it,
    # is scored and marked "cut", and the results are written (a device call killed at its limit
    # returned nothing before this)
    from aecnn.quality.bench import SCORE_MARGIN_S

    t0 = time.perf_counter()
    rc = main(["eval-quality", "--quick", "--out", str(tmp_path), "--no-real", "--methods", "pca", "aecnn-spatial",
               "--kinds", "crop", "--no-figures", "--images-seen", "100000000", "--deadline", str(SCORE_MARGIN_S + 25)])
    assert rc == 0 and time.perf_counter() - t0 < SCORE_MARGIN_S + 30
    results = json.loads((tmp_path / "results.json").read_text())
    run = next(r for r in results["runs"] if r["method"] == "aecnn-spatial" and r["budget"] == "images")
    assert run["status"] == "cut" and "stopped at the deadline" in run["note"], run
    assert 0 < run["images_seen"] < 100_000_000 and run["metrics"]["psnr"] > 0
    table = (tmp_path / "results.md").read_text()
    assert "(cut at the deadline)" in table
    targets = table.split("## Targets", 1)[1]
    assert "aecnn spatial (default)" not in targets  # a cut run is never a target's number


def test_networks_that_could_not_be_saved_fail_the_run_and_a_named_real_dir_must_exist(tmp_path, capsys,
                                                                                       monkeypatch):
    from aecnn.quality import bench

    def full_disk(path, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bench, "save_checkpoint", full_disk)
    rc = main(["eval-quality", "--quick", "--out", str(tmp_path / "q"), "--no-real", "--methods", "aecnn-spatial",
               "--kinds", "crop", "--latents", "32", "--no-figures", "--save-models", str(tmp_path / "m")])
    assert rc == 2  # used to exit 0 with every trained network lost
    assert "could not be saved" in capsys.readouterr().err
    assert (tmp_path / "q" / "results.json").is_file()  # the results themselves are kept
    rc = main(["eval-quality", "--quick", "--out", str(tmp_path / "r"), "--real-dir", str(tmp_path / "absent")])
    assert rc == 2 and "--real-dir" in capsys.readouterr().err


def test_bad_arguments_are_reported(tmp_path, capsys):
    rc = main(["eval-quality", "--quick", "--out", str(tmp_path), "--methods", "nope"])
    assert rc == 2
    assert "unknown method" in capsys.readouterr().err
    for flag, value in (("--batch-size", "0"), ("--lr", "-1"), ("--seq-workers", "-1"), ("--deadline", "-5")):
        with pytest.raises(SystemExit) as stop:  # argparse: one line, exit 2, before any work
            main(["eval-quality", "--quick", "--out", str(tmp_path), flag, value])
        assert stop.value.code == 2 and flag in capsys.readouterr().err


def test_train_seed_reaches_the_config_and_leaves_the_data_seed(tmp_path):
    import argparse

    from aecnn.cli import eval_quality

    p = argparse.ArgumentParser()
    eval_quality.add_arguments(p)
    cfg = eval_quality._config(p.parse_args(["--out", str(tmp_path), "--train-seed", "3", "--no-real"]))
    assert cfg.train_seed == 3 and cfg.seed == 0
    cfg = eval_quality._config(p.parse_args(["--out", str(tmp_path), "--no-real"]))
    assert cfg.train_seed == 0


def test_recipe_defaults_to_aecnn_train_and_lr_reaches_the_config(tmp_path):
    import argparse

    from aecnn.cli import eval_quality
    from aecnn.train.config import TrainConfig

    p = argparse.ArgumentParser()
    eval_quality.add_arguments(p)
    cfg = eval_quality._config(p.parse_args(["--out", str(tmp_path), "--no-real"]))
    assert (cfg.batch_size, cfg.lr) == (TrainConfig().batch_size, TrainConfig().lr)
    cfg = eval_quality._config(p.parse_args(["--out", str(tmp_path), "--no-real", "--lr", "2e-3",
                                             "--batch-size", "64"]))
    assert (cfg.batch_size, cfg.lr) == (64, 2e-3)
    assert cfg.beta2 == 0.99  # aecnn train's, since the fifteenth session's test (earlier runs: 0.999)
    assert eval_quality._config(p.parse_args(["--out", str(tmp_path), "--no-real", "--beta2", "0.95"])).beta2 == 0.95
    for bad in ("1", "0", "1.5", "x"):
        with pytest.raises(SystemExit):
            p.parse_args(["--out", str(tmp_path), "--beta2", bad])
    from aecnn.quality.plan import RECIPES

    assert next(a for a in p._actions if a.dest == "recipe").choices == RECIPES  # written out: the CLI imports no torch
    assert cfg.recipe == "train"  # aecnn train's, since the seventeenth session's test; the loop's own on request:
    assert eval_quality._config(p.parse_args(["--out", str(tmp_path), "--no-real", "--recipe", "bench"])).recipe == "bench"
    with pytest.raises(SystemExit):
        p.parse_args(["--out", str(tmp_path), "--recipe", "adam"])


def test_synth_variant_reaches_the_config_and_bad_ones_are_refused(tmp_path, capsys):
    import argparse

    import pytest

    from aecnn.cli import eval_quality

    p = argparse.ArgumentParser()
    eval_quality.add_arguments(p)
    args = p.parse_args(["--out", str(tmp_path), "--no-real", "--synth", "aspect_range=0.85,1.5",
                         "--synth", "reflection_spots=3"])
    cfg = eval_quality._config(args)
    assert dict(cfg.synth_overrides) == {"aspect_range": (0.85, 1.5), "reflection_spots": 3}
    assert isinstance(dict(cfg.synth_overrides)["reflection_spots"], int)
    for bad in ("seed=3", "nope=1", "aspect_range", "aspect_range=a,b"):  # fixed, unknown, no value, not numbers
        with pytest.raises(SystemExit):
            p.parse_args(["--out", str(tmp_path), "--synth", bad])
    assert "--synth" in capsys.readouterr().err
    rc = main(["eval-quality", "--quick", "--out", str(tmp_path), "--synth", "aspect_range=1.5,0.9"])
    assert rc == 2
    assert "aspect_range" in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()  # refused before any work


def test_synth_variant_changes_the_benchmark_data():
    from aecnn.quality.data import make_split

    a = make_split(2, 2, (152, 1280), (201, 201), seed=4, workers=1, reflection_spots=0, reflection_size=(1.0, 1.0))
    b = make_split(2, 2, (152, 1280), (201, 201), seed=4, workers=1, reflection_spots=3, reflection_size=(1.5, 1.8))
    np_eq = (a["crop"].frames == b["crop"].frames).mean()
    assert 0.99 < np_eq < 1.0  # only the reflection spots differ
    assert (a["crop"].viscosity == b["crop"].viscosity).all()


def test_strips_carry_the_tracked_drop_displacement():
    """Strips get the displacement of the drop's dark-pixel centroid, tracked in each strip image; it
    agrees with the crops' displacement (where the crops were cut) within a pixel."""
    import numpy as np

    from aecnn.quality.data import make_split, track_drop

    s = make_split(3, 8, (152, 1280), (201, 201), seed=4, workers=1)
    strip, crop = s["strip"].motion, s["crop"].motion
    assert strip.shape == crop.shape == (24, 2)
    assert np.abs(strip - crop).max() < 1.5  # crop origins are whole pixels, the tracker is not
    assert strip[:, 0].mean() < 0  # the reference direction: right to left
    frame = np.full((20, 40), 255, np.uint8)
    frame[-1] = 0  # the baseline row is left out
    frame[5:9, 30:34] = 0
    assert np.allclose(track_drop(frame[None]), [[31.5, 6.5]])


def test_seconds_methods_flag(tmp_path):
    import argparse

    from aecnn.cli import eval_quality
    from aecnn.quality.plan import plan

    p = argparse.ArgumentParser()
    eval_quality.add_arguments(p)
    base = ["--out", str(tmp_path), "--no-real", "--kinds", "crop", "--methods", "pca", "v1", "aecnn-spatial"]
    cfg = eval_quality._config(p.parse_args(base))
    assert cfg.seconds_methods == ("v1",) and any(r.budget == "seconds" for r in plan(cfg))
    cfg = eval_quality._config(p.parse_args([*base, "--latents", "128", "2048", "--seconds-methods"]))
    assert cfg.seconds_methods == () and cfg.reference_latent == 128
    assert [(r.method, r.latent, r.budget) for r in plan(cfg)] == [
        ("aecnn-spatial", 128, "images"), ("v1", 128, "images"), ("aecnn-spatial", 2048, "images"),
        ("v1", 2048, "images")]


def test_waiting_for_sequence_fits_ends_before_the_deadline():
    # A device call's hard limit sits just above --deadline; a run still waiting for its LSTM fits
    # past the deadline was killed there and wrote nothing (2026-12-05, the 2048 run of call 5).
    import multiprocessing

    import numpy as np

    from aecnn.quality.bench import FINISH_MARGIN_S, Benchmark
    from aecnn.quality.plan import BenchConfig, Run

    class SlowFit:  # an AsyncResult whose fit never finishes in time
        def __init__(self):
            self.timeouts = []

        def get(self, timeout):
            self.timeouts.append(timeout)
            raise multiprocessing.TimeoutError

    rng = np.random.default_rng(0)
    args = (rng.normal(size=(6 * 4, 5)).astype(np.float32), rng.uniform(1, 3, 6), rng.normal(size=(3 * 4, 5)).astype(np.float32),
            rng.uniform(1, 3, 3), 4, 1, 1)  # latents (frames, L), viscosities per sequence, 4 frames each
    bench = Benchmark(BenchConfig.quick(deadline_s=100.0, device="cpu"))
    bench.t_start = time.perf_counter() - 60.0  # 60 s into a 100 s run
    run = Run("crop", "aecnn-spatial", 32, "images")
    fut = SlowFit()
    bench.runs, bench.futures, bench.seq_args, bench.pool = [run], {run.key: fut}, {run.key: (args, {})}, None
    bench._collect_sequence_scores()
    assert len(fut.timeouts) == 1 and fut.timeouts[0] <= 100.0 - FINISH_MARGIN_S - 60.0 + 0.5
    assert "not finished by the deadline" in run.note
    assert np.isnan(run.r2_lstm) and np.isfinite(run.r2_ridge)  # the ridge fit still scores it


def test_spatial_channels_reach_the_networks_and_impossible_layouts_are_refused(tmp_path, capsys):
    import argparse

    from aecnn.cli import eval_quality
    from aecnn.quality.plan import build_model

    p = argparse.ArgumentParser()
    eval_quality.add_arguments(p)
    base = ["--out", str(tmp_path), "--no-real", "--kinds", "crop", "--latents", "512"]
    cfg = eval_quality._config(p.parse_args([*base, "--spatial-channels", "8", "--methods", "aecnn-spatial", "pca"]))
    assert dict(cfg.model_overrides) == {"spatial_channels": 8}
    assert build_model("aecnn-spatial", cfg.preset, cfg.crop_size, 512, dict(cfg.model_overrides)).latent_shape == (8, 8, 8)
    assert eval_quality._config(p.parse_args(base)).model_overrides == ()  # default: the preset's own layout
    quick = eval_quality._config(p.parse_args(["--out", str(tmp_path), "--quick", "--spatial-channels", "2",
                                               "--methods", "aecnn-spatial"]))
    assert dict(quick.model_overrides) == {"channel_config": (8, 16, 32), "spatial_channels": 2}
    both = eval_quality._config(p.parse_args([*base, "--spatial-channels", "8", "--blocks-per-stage", "2",
                                              "--methods", "aecnn-spatial"]))
    assert dict(both.model_overrides) == {"spatial_channels": 8, "blocks_per_stage": 2}
    assert build_model("aecnn-spatial", both.preset, both.crop_size, 512,
                       dict(both.model_overrides)).config.blocks_per_stage == 2
    deeper = eval_quality._config(p.parse_args([*base, "--blocks-per-stage", "2"]))  # every method may take it
    assert dict(deeper.model_overrides) == {"blocks_per_stage": 2}
    refused = [
        (["--spatial-channels", "8"], "aecnn-conv, seed"),  # default methods build flat latents too
        (["--spatial-channels", "8", "--methods", "aecnn-spatial", "--kinds", "crop", "strip"], "strip aecnn-spatial"),
    ]
    for extra, text in refused:
        rc = main(["eval-quality", "--out", str(tmp_path / "r"), "--no-real", "--latents", "512", *extra])
        assert rc == 2
        assert text in capsys.readouterr().err
    for extra, text in ((["--spatial-channels", "0"], "--spatial-channels: must be at least 1"),
                        (["--blocks-per-stage", "-1"], "--blocks-per-stage: must be at least 0")):
        with pytest.raises(SystemExit) as stop:  # argparse refuses them before any work
            main(["eval-quality", "--out", str(tmp_path / "r"), "--no-real", "--latents", "512", *extra])
        assert stop.value.code == 2 and text in capsys.readouterr().err
    assert not (tmp_path / "r" / "results.json").exists()  # refused before any work


def test_progress_goes_beside_an_earlier_results_file(tmp_path, monkeypatch):
    from aecnn.quality import bench

    out = tmp_path / "q"
    out.mkdir()
    (out / "results.json").write_text('{"earlier": true}\n')
    seen = []

    def spy(cfg, progress_path=None):
        seen.append(progress_path)
        raise KeyboardInterrupt  # stopped before it finished

    monkeypatch.setattr(bench, "run_benchmark", spy)
    assert main(["eval-quality", "--quick", "--out", str(out), "--no-real", "--no-figures"]) == 130
    assert seen == [out / "results.partial.json"]
    assert (out / "results.json").read_text() == '{"earlier": true}\n'  # used to be overwritten by the progress


def test_the_commit_and_real_frames_are_found_from_any_folder(tmp_path, monkeypatch):
    import subprocess

    from aecnn.cli import eval_quality

    try:
        want = subprocess.run(["git", "-C", str(eval_quality.REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    monkeypatch.chdir(tmp_path)  # runs from elsewhere used to record commit None
    assert eval_quality._env(None)["commit"] == want


def test_a_stopped_training_continues_from_its_saved_state(tmp_path, monkeypatch, capsys):
    # first call: the training stops after 16 of its 64 images (as a deadline would stop it) and saves
    # its state; the same command again continues it to the end, and gives the uninterrupted training
    import functools

    from aecnn.quality import bench
    from aecnn.quality.loop import train

    state = tmp_path / "state"
    args = ["eval-quality", "--quick", "--no-real", "--methods", "aecnn-spatial", "--kinds", "crop", "--no-figures",
            "--images-seen", "64", "--train-state", str(state)]
    with monkeypatch.context() as m:
        m.setattr(bench, "train", functools.partial(train, stop_after_images=16))
        assert main([*args, "--out", str(tmp_path / "a")]) == 0
    first = json.loads((tmp_path / "a" / "results.json").read_text())["runs"][0]
    saved = state / "crop-aecnn-spatial-L32-images.state.pt"
    assert first["status"] == "cut" and first["images_seen"] == 16 and saved.is_file()
    assert f"its state is saved in {saved}" in first["note"]

    bad = [*args, "--out", str(tmp_path / "bad"), "--lr", "2e-3"]  # another recipe: refused before any work
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert str(saved) in err and "lr: saved 0.001, now 0.002" in err and not (tmp_path / "bad" / "results.json").exists()

    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    second = json.loads((tmp_path / "b" / "results.json").read_text())["runs"][0]
    assert second["status"] == "ok" and second["images_seen"] == 64
    assert "continued from a saved state at 16 images" in second["note"]
    assert not saved.exists()  # completed: a third call trains afresh

    assert main([*args, "--out", str(tmp_path / "c")]) == 0
    whole = json.loads((tmp_path / "c" / "results.json").read_text())["runs"][0]
    assert "continued" not in whole["note"]
    assert second["loss_curve"] == whole["loss_curve"] and second["metrics"] == whole["metrics"]


def test_an_unreadable_training_state_is_named(tmp_path, capsys):
    state = tmp_path / "state"
    state.mkdir()
    (state / "crop-aecnn-spatial-L32-images.state.pt").write_bytes(b"PK\x03\x04 truncated")
    args = ["eval-quality", "--quick", "--no-real", "--methods", "aecnn-spatial", "--kinds", "crop", "--no-figures",
            "--out", str(tmp_path / "a"), "--train-state", str(state)]
    rc = main([*args, "--images-seen", "64"])
    err = capsys.readouterr().err
    assert rc == 2 and "crop-aecnn-spatial-L32-images.state.pt is not a readable training state" in err
    assert "delete" in err and (state / "crop-aecnn-spatial-L32-images.state.pt").is_file()  # left for the user
    # a budget fitted from measured speed (the default without --images-seen) differs from call to call
    from aecnn.quality.plan import BenchConfig

    with pytest.raises(ValueError, match="--train-state needs --images-seen"):
        BenchConfig(state_dir=str(state))


def test_max_grid_positions_lays_out_crops_and_strips_and_is_spatial_only(tmp_path, capsys):
    # the candidate default of the twentieth session's plan: at most 64 positions (8x8x8 on crops, 16x2x16 on strips)
    import argparse

    from aecnn.cli import eval_quality
    from aecnn.quality.plan import build_model

    p = argparse.ArgumentParser()
    eval_quality.add_arguments(p)
    cfg = eval_quality._config(p.parse_args(["--out", str(tmp_path), "--no-real", "--latents", "512",
                                             "--max-grid-positions", "64", "--methods", "aecnn-spatial", "pca"]))
    assert dict(cfg.model_overrides) == {"max_grid_positions": 64}
    over = dict(cfg.model_overrides)
    assert build_model("aecnn-spatial", cfg.preset, cfg.crop_size, 512, over).latent_shape == (8, 8, 8)
    assert build_model("aecnn-spatial", cfg.preset, cfg.strip_size, 512, over).latent_shape == (16, 2, 16)
    assert build_model("aecnn-spatial", cfg.preset, cfg.crop_size, 128, over).latent_shape == (2, 8, 8)  # unchanged
    assert build_model("aecnn-spatial", cfg.preset, cfg.crop_size, 512, {}).latent_shape == (2, 16, 16)  # the default
    rc = main(["eval-quality", "--out", str(tmp_path / "r"), "--no-real", "--latents", "512", "--max-grid-positions", "64"])
    assert rc == 2 and "--max-grid-positions applies to the spatial latent only" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["eval-quality", "--out", str(tmp_path / "r"), "--no-real", "--max-grid-positions", "8"])
    assert stop.value.code == 2 and "--max-grid-positions: must be at least 16" in capsys.readouterr().err
    assert not (tmp_path / "r" / "results.json").exists()


def test_max_grid_positions_reaches_the_model_of_aecnn_train_and_info(capsys):
    import argparse

    from aecnn.cli import train
    from aecnn.cli.common import model_overrides

    assert main(["info", "--preset", "small", "--input-size", "201", "201", "--latent-size", "512",
                 "--max-grid-positions", "64"]) == 0
    assert "native shape (B, 8, 8, 8)" in capsys.readouterr().out
    p = argparse.ArgumentParser()
    train.add_arguments(p)  # aecnn train's model options are the same group
    assert model_overrides(p.parse_args(["data", "--max-grid-positions", "64"]))["max_grid_positions"] == 64
