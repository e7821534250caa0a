"""The quality benchmark's target lines (aecnn.quality.report.targets)."""
from aecnn.quality.report import preset_name, targets


def _run(method: str, psnr: float, r2: float, **extra) -> dict:
    return {"kind": "crop", "method": method, "latent": 512, "budget": "images", "status": "ok",
            "metrics": {"psnr": psnr}, "r2_lstm": r2, "r2_ridge": r2, "r2_lstm_pc": r2, **extra}


def test_absolute_r2_unsigned_with_three_decimals_and_margins_signed():
    res = {"meta": {"config": {"reference_latent": 512}},
           "runs": [_run("aecnn-spatial", 42.0, 0.9474), _run("pca", 38.5, 0.96)]}
    lines = targets(res).splitlines()
    absolute = next(x for x in lines if "r2_lstm_pc of aecnn spatial (default):" in x)
    # 0.9474 once printed as "+0.95 R² (need ≥ +0.95) → MISSED", which read as a contradiction
    assert absolute == "- crop L=512: r2_lstm_pc of aecnn spatial (default): 0.947 R² (need ≥ 0.950) → MISSED"
    margin = next(x for x in lines if "r2_lstm_pc aecnn spatial (default) − PCA" in x)
    assert margin.endswith("-0.013 R² (need ≥ +0.000) → MISSED")
    psnr = next(x for x in lines if "same images: aecnn spatial (default) − PCA" in x)
    assert psnr.endswith("+3.50 dB (need ≥ +3.00) → MET")


def test_preset_name_shows_the_options_that_changed_the_preset():
    assert preset_name({"preset": "small"}) == "small"
    assert preset_name({"preset": "small", "model_overrides": []}) == "small"
    # as read back from results.json (tuples become lists)
    assert preset_name({"preset": "tiny", "model_overrides": [["channel_config", [8, 16, 32]]]}) == \
        "tiny [channel_config=8-16-32]"
    assert preset_name({"preset": "small", "model_overrides": [["spatial_channels", 8]]}) == \
        "small [spatial_channels=8]"


def test_a_missing_value_says_why():
    # the twentieth session's 2048 row: the LSTM fit ran past --deadline and its line read only "NOT MEASURED"
    late = _run("aecnn-spatial", 44.7, float("nan"), r2_ridge=0.91, note="model: m.pt; LSTM R2 not finished by the deadline")
    lines = targets({"meta": {"config": {"reference_latent": 512}}, "runs": [late]}).splitlines()
    assert "- crop L=512: r2_lstm of aecnn spatial (default): NOT MEASURED (not finished by the deadline)" in lines
    assert "- crop L=512, same images: aecnn spatial (default) − PCA: NOT MEASURED (no PCA run at this budget)" in lines
    assert "- crop L=512, same images: aecnn spatial (default) − V1: NOT MEASURED (no V1 run at this budget)" in lines
    # ridge is scored after a late LSTM: its line carries the number
    assert "- crop L=512: r2_ridge of aecnn spatial (default): 0.910 R² (need ≥ 0.950) → MISSED" in lines


def test_the_untrained_control_is_reported_beside_the_r2_targets_and_never_as_one():
    ref = {"reference_latent": 512}
    ours, ctl = _run("aecnn-spatial", 42.0, 0.9626), _run("untrained", 1.2, 0.9731)
    ours["real_metrics"], ctl["real_metrics"] = {"psnr": 37.0}, {"psnr": 1.0}
    lines = targets({"meta": {"config": ref}, "runs": [ours, ctl, _run("pca", 38.5, 0.9666)]}).splitlines()
    control = [x for x in lines if "untrained control" in x]
    assert len(control) == 3  # one per R² of the default strategy
    assert "- crop L=512: r2_ridge aecnn spatial (default) − untrained control = -0.010 R² (not a target; an R² " \
           "target shows what training gave only where this is above 0)" in control
    assert not any(("MET" in x or "MISSED" in x) for x in control)
    # the control reconstructs nothing: no real-frame gap line (it would read "generator needs work")
    assert [x for x in lines if "synthetic val − real" in x] == [
        "- crop L=512 aecnn-spatial: synthetic val − real PSNR = +5.00 dB (within 6 dB)"]
    # no control run (or one without its R²): no line
    ctl["r2_ridge"] = float("nan")
    assert sum("untrained control" in x for x in targets({"meta": {"config": ref}, "runs": [ours, ctl]}).splitlines()) == 2
