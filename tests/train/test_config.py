"""Flags win over YAML, YAML over defaults; model options merge; bad values are one clear error."""
from __future__ import annotations

import argparse

import pytest
import yaml

from aecnn.cli.train import add_arguments, resolve_config
from aecnn.train.config import TrainConfig, merge_config, parse_memory


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return p.parse_args(argv)


def test_flags_beat_yaml_beat_defaults(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(yaml.safe_dump({"epochs": 7, "lr": 0.01, "preset": "tiny", "batch-size": 8,
                                        "model": {"latent_size": 64, "norm": "group"}, "ema": 0.99}))
    args = parse(["--config", str(cfg_file), "--epochs", "3", "--latent-size", "32", "--synthetic"])
    cfg = resolve_config(args, warn=lambda m: None)
    assert cfg.epochs == 3  # flag beats YAML
    assert cfg.lr == 0.01 and cfg.preset == "tiny" and cfg.batch_size == 8 and cfg.ema == 0.99  # YAML
    assert cfg.model == {"latent_size": 32, "norm": "group"}  # merged key by key, flag wins
    assert cfg.schedule == "cosine" and cfg.val_fraction == 0.2  # defaults
    assert cfg.synthetic is True


def test_untyped_flags_do_not_override_yaml(tmp_path):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("preset: medium\nstrict: true\nprogress: false\n")
    cfg = resolve_config(parse(["--config", str(cfg_file)]), warn=lambda m: None)
    assert cfg.preset == "medium" and cfg.strict is True and cfg.progress is False


@pytest.mark.parametrize("layer, match", [
    ({"epochs": 0}, "epochs"),
    ({"loss": "mse:0.8,huber:0.2"}, "unknown loss 'huber'"),
    ({"schedule": "linear"}, "schedule"),
    ({"not_an_option": 1}, "unknown training option"),
    ({"model": {"latent": 3}}, "unknown model option"),
    ({"batch_size": "lots"}, "batch_size"),
    ({"input_size": [64, 64], "height": 64}, "not both"),
    ({"max_memory": "8 parsecs"}, "memory size"),
])
def test_bad_values_raise_valueerror(layer, match):
    with pytest.raises(ValueError, match=match):
        merge_config(layer)


def test_batch_size_auto_and_memory_units():
    assert merge_config({"batch_size": "AUTO"}).batch_size == "auto"
    assert merge_config({"batch_size": "12"}).batch_size == 12
    assert parse_memory("8GiB") == 8 * 2**30 and parse_memory("8GB") == 8 * 10**9
    assert parse_memory("512MiB") == 2**29


def test_to_dict_roundtrip_is_plain():
    cfg = TrainConfig(input_size=(32, 48), model={"channel_config": (8, 16, 16)})
    d = cfg.to_dict()
    assert d["input_size"] == [32, 48] and d["model"]["channel_config"] == [8, 16, 16]
    assert TrainConfig.from_dict(yaml.safe_load(yaml.safe_dump(d))) == TrainConfig.from_dict(d)


@pytest.mark.parametrize("text,key,value", [
    ("lr: 3e-4\n", "lr", 3e-4),  # PyYAML reads 3e-4 (no dot) as a string: it used to crash in validate()
    ("epochs: 2.0\n", "epochs", 2),
    ("input_size: [64, 96]\n", "input_size", (64, 96)),
    ("seed: '7'\n", "seed", 7),
])
def test_yaml_values_are_brought_to_their_type(tmp_path, text, key, value):
    from aecnn.train.config import load_yaml

    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert getattr(merge_config(load_yaml(path)), key) == value


@pytest.mark.parametrize("text,match", [
    ("seed: 1.5\n", "seed must be an integer, got 1.5"),
    ("val_fraction: abc\n", "val_fraction must be a number, got 'abc'"),
    ("input_size: 64\n", "input_size must be two integers H W"),
    ("input_size: '64'\n", "input_size must be two integers H W"),  # was read as (6, 4)
    ("strict: maybe\n", "strict must be true or false"),
    ("model: 5\n", "'model' must be a mapping"),
])
def test_yaml_values_that_cannot_be_converted_name_key_and_file(tmp_path, text, match):
    from aecnn.train.config import load_yaml

    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"c\.yaml: {match}"):
        merge_config(load_yaml(path))


def test_a_data_folder_and_synthetic_data_are_not_both_taken():
    with pytest.raises(ValueError, match="or --synthetic, not both"):  # the folder used to be ignored
        TrainConfig(data="frames", synthetic=True)


def test_the_run_folder_may_not_sit_inside_the_data(tmp_path):
    from aecnn.train import train

    (tmp_path / "frames").mkdir()
    with pytest.raises(ValueError, match="is inside the data folder"):
        train(TrainConfig(data=str(tmp_path / "frames"), out=str(tmp_path / "frames" / "run"), device="cpu"))
