"""Each method of the quality benchmark builds the architecture its name promises, whatever the
presets' default latent strategy is (a run once compared three copies of the spatial model)."""
import pytest
import torch

from aecnn.quality.plan import build_model


@pytest.mark.parametrize("size", [(201, 201), (152, 1280)])
def test_methods_build_distinct_bottlenecks(size: tuple[int, int]) -> None:
    seed = build_model("seed", "small", size, 512)
    conv = build_model("aecnn-conv", "small", size, 512)
    spatial = build_model("aecnn-spatial", "small", size, 512)
    assert seed.config.latent_strategy == "conv" and seed.plan.grid == (4, 4)
    assert seed.config.bottleneck_channels == seed.config.channel_config[-1]
    assert conv.config.latent_strategy == "conv" and conv.config.bottleneck_grid is None
    assert conv.plan.grid != (4, 4) and conv.latent_shape == (512,)
    assert spatial.config.latent_strategy == "spatial" and len(spatial.latent_shape) == 3
    n = [sum(p.numel() for p in m.parameters()) for m in (seed, conv, spatial)]
    assert len(set(n)) == 3, f"parameter counts {n} should differ between the three bottlenecks"
    x = torch.rand(1, 1, *size)
    for m in (seed, conv, spatial):
        assert m.eval().encode(x).shape == (1, 512)


def test_v1_only_takes_crops() -> None:
    with pytest.raises(ValueError, match="201x201"):
        build_model("v1", "small", (152, 1280), 512)


def test_beta2_reaches_the_optimizer(monkeypatch):
    import torch

    from aecnn.quality import loop

    made = []
    real = loop._optimizer
    monkeypatch.setattr(loop, "_optimizer", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    model = torch.nn.Conv2d(1, 1, 3, padding=1)
    loop.train(model, torch.randint(0, 256, (8, 8, 8), dtype=torch.uint8), images=16, batch=8, beta2=0.95,
               warmup_steps=0)
    assert made[-1].param_groups[0]["betas"] == (0.9, 0.95)


def test_train_records_a_loss_curve():
    import math

    import torch

    from aecnn.quality.loop import CURVE_POINTS, train

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 3, padding=1))
    frames = torch.randint(0, 256, (40, 16, 16), dtype=torch.uint8)
    st = train(model, frames, images=8 * 250, batch=8, lr=1e-2, warmup_steps=0)  # 250 steps
    seen = [n for n, _ in st.loss_curve]
    assert CURVE_POINTS // 2 < len(st.loss_curve) <= CURVE_POINTS and seen[0] == 8 * 3  # 3 steps a segment
    assert seen[-1] == st.images_seen == 2000
    assert seen == sorted(seen) and all(math.isfinite(v) and v > 0 for _, v in st.loss_curve)
    assert st.loss_curve[-1][1] < st.loss_curve[0][1]  # it learned something
    short = train(model, frames, images=8 * 7, batch=8, warmup_steps=0)  # fewer steps than points
    assert [n for n, _ in short.loss_curve] == [8 * (i + 1) for i in range(7)]


def test_loss_rose_flags_a_training_that_got_worse():
    from aecnn.quality.loop import loss_rose

    good = [(100, 1e-3), (200, 5e-4), (300, 2e-4), (400, 1.9e-4)]
    assert loss_rose(good) == ""
    bad = [(100, 1e-3), (200, 5e-5), (300, 2e-4), (400, 1.5e-4)]
    note = loss_rose(bad)
    assert "rose from 5.00e-05 (at 200 images) to 1.50e-04" in note and "400 images" in note
    assert "rose" in loss_rose([(1, 1.0), (2, 0.5), (3, float("nan"))])
    assert loss_rose(good[:2]) == ""  # too short to judge


def test_loss_spike_names_the_largest_spike_and_where_the_training_ended():
    import json
    from pathlib import Path

    from aecnn.quality.loop import loss_rose, loss_spike

    steep_start = [(i * 100, v) for i, v in enumerate([1.0, 0.1, 0.01, 1e-3, 5e-4, 4e-4, 3e-4])]
    assert loss_spike(steep_start) == ""  # a falling curve, however steep its start, is no spike
    curve = steep_start + [(700, 4e-3), (800, 5e-4), (900, 3.6e-4)]
    note = loss_spike(curve)
    assert "13x its lowest before it (3.00e-04) at 700 images" in note and "1.20x that level" in note
    assert loss_rose(curve) == ""  # 1.2x: the older check stays quiet
    assert loss_spike(curve, factor=20) == ""
    # the ninth session's medium training at lr 1e-3 (38.94 dB; 3 dB below the same training at 5e-4 / 2e-3)
    saved = Path(__file__).parents[2] / "benchmarks/quality_results/2026-12-05-ninth/o3_medium512/results.json"
    if saved.is_file():
        run = next(r for r in json.loads(saved.read_text())["runs"] if r["method"] == "aecnn-spatial")
        assert loss_rose(run["loss_curve"]) == "" and "loss spike: 2" in loss_spike(run["loss_curve"])


def test_training_warnings_and_loss_figure(tmp_path):
    from aecnn.quality.report import loss_figure, training_warnings

    def run(method, note, curve):
        return {"kind": "crop", "method": method, "latent": 512, "budget": "images", "status": "ok", "note": note,
                "loss_curve": curve}

    results = {"meta": {"config": {"preset": "small"}}, "runs": [
        run("pca", "closed form", []),
        run("aecnn-spatial", "model: x.pt", [[100, 1e-4], [200, 2e-5], [400, 7e-5]]),
        run("v1", "", [[100, 1e-3], [200, 3e-4], [400, 1e-4]])]}
    text = training_warnings(results)
    assert text == ("- crop aecnn small spatial L=512 (images): training loss rose from 2.00e-05 (at 200 images) "
                    "to 7.00e-05 at the end (400 images)")
    assert loss_figure(results, tmp_path / "loss.png").stat().st_size > 1000
    assert loss_figure({"meta": results["meta"], "runs": results["runs"][:1]}, tmp_path / "none.png") is None


def test_train_stops_after_its_time_and_logs_progress(caplog):
    import logging

    import torch

    from aecnn.quality.loop import train

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 3, padding=1))
    frames = torch.randint(0, 256, (40, 16, 16), dtype=torch.uint8)
    with caplog.at_level(logging.INFO, logger="aecnn.quality.loop"):
        st = train(model, frames, images=8 * 10**7, batch=8, warmup_steps=0, stop_after=0.5, log_every=0.1)
    assert st.stopped and 8 <= st.images_seen < 8 * 10**7 and st.images_seen % 8 == 0
    assert st.loss_curve and st.loss_curve[-1][0] == st.images_seen  # the partial curve is kept
    text = caplog.text
    assert "training: " in text and "of 80,000,000 images" in text and "stopped after" in text
    full = train(model, frames, images=8 * 5, batch=8, warmup_steps=0, stop_after=60.0)
    assert not full.stopped and full.images_seen == 40


def test_the_control_is_the_spatial_network_the_trained_row_starts_from():
    from aecnn.quality.plan import CONTROL, BenchConfig, plan

    nets = []
    for method in ("aecnn-spatial", CONTROL):
        torch.manual_seed(7)  # the benchmark seeds with train_seed before it builds each network
        nets.append(build_model(method, "tiny", (201, 201), 128))
    a, b = (n.state_dict() for n in nets)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    runs = [(r.kind, r.method, r.latent, r.budget) for r in plan(BenchConfig()) if r.method == CONTROL]
    assert runs == [("crop", CONTROL, 512, "images"), ("strip", CONTROL, 512, "images")]  # never a seconds row
    with pytest.raises(ValueError, match="no seconds budget"):
        BenchConfig(seconds_methods=("v1", CONTROL))
