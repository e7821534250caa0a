"""Checkpoints that cannot be loaded say what is wrong with them, and where."""
from __future__ import annotations

import pytest
import torch

from aecnn import checkpoint as ck
from aecnn import create_autoencoder

SIZE = (64, 96)


def test_a_state_dict_of_another_architecture_names_the_mismatching_keys(tmp_path):
    path = tmp_path / "plain.pt"
    torch.save(create_autoencoder("tiny", input_size=SIZE).state_dict(), path)
    # the message used to end after "Error(s) in loading state_dict for AutoEncoder_CNNV3:"
    with pytest.raises(ValueError, match=r"plain\.pt do not fit.*--latent-size.*latent_size=.*of another shape "
                                         r"\(bottleneck\.reduce\.weight \(2, 64, 1, 1\) in the file, "
                                         r"\(1, 64, 1, 1\) in the model"):
        ck.load_model(path, preset="tiny", latent_size=64, input_size=SIZE)
    with pytest.raises(ValueError, match=r"121 of another shape \(stem\.0\.weight .* and 118 more\)"):
        ck.load_model(path, preset="small", input_size=SIZE)
    assert ck.load_model(path, preset="tiny", input_size=SIZE).latent_size == 128


def test_state_dict_mismatch_lists_missing_and_unexpected_keys():
    want = {"a": torch.zeros(2), "b": torch.zeros(3)}
    line = ck.state_dict_mismatch(want, {"a": torch.zeros(2), "c": torch.zeros(1)})
    assert line == "1 missing (b), 1 unexpected (c)"


def test_a_whole_pickled_model_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(create_autoencoder("tiny", input_size=SIZE), path)
    with pytest.raises(ValueError, match=r"whole\.pt holds pickled Python objects.*state_dict\(\)"):
        ck.load_model(path)


def test_an_aecnn_checkpoint_without_weights(tmp_path):
    path = tmp_path / "empty.pt"
    torch.save({"format": ck.FORMAT, "model_config": {}}, path)
    with pytest.raises(ValueError, match=r"empty\.pt is an aecnn checkpoint without its 'model' weights"):
        ck.load_model(path)


def test_architecture_options_beside_an_aecnn_checkpoint_are_reported_as_ignored(tmp_path, caplog):
    import logging

    path = ck.save_checkpoint(tmp_path / "m.ckpt", create_autoencoder("tiny", input_size=SIZE))
    with caplog.at_level(logging.WARNING):
        model = ck.load_model(path, preset="large")
    assert model.config.channel_config == (16, 32, 64)
    assert any("ignoring preset" in r.getMessage() for r in caplog.records)
