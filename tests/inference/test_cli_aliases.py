"""Checkpoint and data folder given positionally or by option; errors name the sub-command."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from aecnn.cli import build_parser, main
from aecnn.cli.aliases import merge_positional_aliases
from aecnn.cli.train import typed_options


def test_info_takes_the_checkpoint_either_way_and_reports_its_own_input_size(model_files, capsys):
    strip = str(model_files["strip"])
    assert main(["info", strip]) == 0
    positional = capsys.readouterr().out
    assert main(["info", "--checkpoint", strip]) == 0
    assert capsys.readouterr().out == positional
    # a 48x256 model used to be described (and its GFLOP counted) at the 201x201 default
    assert "48 x 256" in positional and "201 x 201" not in positional
    assert main(["info", strip, "--input-size", "48", "512"]) == 0
    assert "48 x 512" in capsys.readouterr().out


def test_visualize_positional_checkpoint_and_a_clear_error_without_one(ckpt, tmp_path, capsys):
    img = tmp_path / "frame.png"
    Image.fromarray((np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)).save(img)
    out = tmp_path / "a.png"
    assert main(["visualize", str(ckpt), "--input", str(img), "--output", str(out)]) == 0
    assert out.is_file()
    assert main(["visualize", "--input", str(img)]) == 2
    assert "aecnn visualize CKPT --input IMAGE" in capsys.readouterr().err


def test_train_data_folder_positional_or_option_not_both(frames_dir, capsys):
    args = build_parser().parse_args(["train", str(frames_dir), "--out", "run"])
    merge_positional_aliases(args)
    assert typed_options(args)["data"] == str(frames_dir) and not hasattr(args, "data_positional")
    assert main(["train", str(frames_dir), "--data", "elsewhere", "--out", "run"]) == 2
    assert "DATA given twice" in capsys.readouterr().err


def test_unrecognized_arguments_name_the_command(capsys):
    with pytest.raises(SystemExit) as e:
        main(["info", "--preset", "tiny", "--bogus"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "aecnn info: error: unrecognized arguments: --bogus" in err and "usage: aecnn info" in err


def test_a_run_folder_stands_for_its_best_checkpoint(ckpt, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    assert main(["info", str(run)]) == 2  # used to say "checkpoint not found" about a folder that exists
    assert "is a folder without best.ckpt or last.ckpt" in capsys.readouterr().err
    (run / "last.ckpt").write_bytes(ckpt.read_bytes())
    assert main(["info", str(run)]) == 0
    assert "64 x 64" in capsys.readouterr().out


def test_empty_and_garbage_checkpoints_get_a_plain_message(tmp_path, capsys):
    empty, junk = tmp_path / "empty.ckpt", tmp_path / "junk.ckpt"
    empty.write_bytes(b"")
    junk.write_bytes(np.random.default_rng(0).bytes(5000))
    assert main(["info", str(empty)]) == 2
    assert "empty.ckpt is empty (0 bytes)" in capsys.readouterr().err
    assert main(["info", str(junk)]) == 2
    err = capsys.readouterr().err
    assert "junk.ckpt is not a readable checkpoint" in err and "weights_only" not in err  # no unsafe advice


def test_info_describes_a_plain_state_dict_given_its_architecture(model_files, tmp_path, capsys, caplog):
    import logging

    import torch

    from aecnn import create_autoencoder

    with caplog.at_level(logging.WARNING):
        assert main(["info", str(model_files["strip"])]) == 0
    assert not [r for r in caplog.records if "ignoring" in r.getMessage()]  # no --preset typed: nothing ignored
    capsys.readouterr()
    plain = tmp_path / "strip_state_dict.pt"
    strip = create_autoencoder("tiny", input_size=(48, 256), latent_size=64)
    torch.save(strip.state_dict(), plain)
    # --model-input-size used to be missing here: a strip model's plain weights could not be described
    assert main(["info", str(plain), "--preset", "tiny", "--latent-size", "64", "--model-input-size", "48", "256",
                 "--norm", "group"]) == 0
    out = capsys.readouterr()
    assert "48 x 256" in out.out and f"native shape (B, {', '.join(map(str, strip.latent_shape))})" in out.out
    assert "norm ignored with a checkpoint" in out.err
