"""A typed size that squashes the frames is named, with the likely cause."""
from __future__ import annotations

import pytest

from aecnn.data.geometry import Geometry


def test_a_transposed_input_size_is_recognised():
    why = Geometry(input_size=(320, 48)).distortion(48, 320)
    assert why is not None and "44.4x" in why and "did you mean --input-size 48 320?" in why


def test_a_strip_into_a_square_model_is_named():
    why = Geometry(input_size=(64, 64)).distortion(152, 1280)
    assert why is not None and "152x1280 frames (H x W) are resized to 64x64" in why and "--height" in why


@pytest.mark.parametrize("geometry,frame", [
    (Geometry(input_size=(201, 201)), (190, 210)),  # small aspect change: fine
    (Geometry(input_size=(152, 1280)), (130, 1280)),  # the users' 130-high frames at 152
    (Geometry(input_size=(64, 64), resize_mode="pad_crop"), (152, 1280)),  # no resizing: nothing squashed
    (Geometry(height=152), (130, 1280)),  # widths kept
])
def test_no_warning_without_distortion(geometry, frame):
    assert geometry.distortion(*frame) is None


def test_train_names_the_first_frame_of_a_squashed_folder(tmp_path, caplog):
    import logging

    import numpy as np
    from PIL import Image

    from aecnn.train.data import _warn_if_distorted

    for seq in ("seq_b", "seq_a"):
        (tmp_path / seq).mkdir()
        for t in (10, 2):
            Image.fromarray(np.zeros((48, 320), np.uint8)).save(tmp_path / seq / f"frame_{t}.png")
    with caplog.at_level(logging.WARNING):
        _warn_if_distorted(tmp_path, Geometry(input_size=(320, 48)))
        _warn_if_distorted(tmp_path, Geometry(input_size=(48, 320)))
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "did you mean --input-size 48 320?" in msgs[0]
    assert msgs[0].endswith(f"(first frame: {tmp_path / 'seq_a' / 'frame_2.png'})")
