"""Which generator a saved benchmark run trained on: recorded since the nineteenth session, rebuilt before."""
from __future__ import annotations

import pytest

from aecnn.data.synth import SynthConfig
from aecnn.quality.generator import GREY_BEFORE, PER_SPLIT, changed, describe, generator_of, generator_record
from aecnn.quality.plan import BenchConfig, Run
from aecnn.quality.train_state import identity, load_state, save_state


def test_the_record_holds_every_generator_field_and_no_split_field():
    rec = generator_record()
    assert set(rec) | PER_SPLIT == {f for f in SynthConfig.__dataclass_fields__}
    assert not set(rec) & PER_SPLIT
    assert rec["drop_level"] == [10.0, 25.0] and rec["rim_amp"] == [20.0, 70.0] and rec["rim_len"] == [3.0, 7.0]
    assert generator_record([("rim_len", (3.0, 5.5))])["rim_len"] == [3.0, 5.5]
    with pytest.raises(ValueError):  # an override SynthConfig refuses is refused here too
        generator_record([("rim_len", (5.0, 3.0))])


def test_older_files_are_read_with_the_grey_levels_of_their_day():
    old_default = {"config": {"synth_overrides": []}}  # written before the nineteenth session
    assert {k: tuple(v) for k, v in changed(generator_of(old_default)).items()} == GREY_BEFORE
    assert describe(generator_of(old_default)) == "grey levels before 2026-12-06"
    # the test's "after" arm named the widened levels: today's default
    widened = {"config": {"synth_overrides": [["drop_level", [10, 25]], ["rim_amp", [20, 70]], ["rim_len", [3, 7]]]}}
    assert changed(generator_of(widened)) == {} and describe(generator_of(widened)) == ""
    other = {"config": {"synth_overrides": [["outline_modes", 4]]}}
    assert describe(generator_of(other)) == "grey levels before 2026-12-06, outline_modes=4.0"
    # a recorded generator is read as written, whatever the overrides say
    recorded = {"config": {"synth_overrides": []}, "generator": generator_record([("rim_amp", (30.0, 40.0))])}
    assert describe(generator_of(recorded)) == "rim_amp=[30.0, 40.0]"


def test_a_training_state_of_another_generator_is_refused(tmp_path):
    """The same overrides render other frames after a default changes: the state's identity holds the
    generator itself, so a state saved before the change is not continued on the new frames."""
    cfg, run = BenchConfig(), Run("crop", "aecnn-spatial", 512, "images")
    ident = identity(cfg, run)
    assert ident["data"]["generator"] == generator_record()
    before = {**ident, "data": {**ident["data"], "generator": generator_record(GREY_BEFORE.items())}}
    path = save_state(tmp_path / "s.state.pt", {"step": 1}, before)
    with pytest.raises(ValueError, match="another benchmark run") as err:
        load_state(path, ident)
    assert "[12.0, 21.0]" in str(err.value) and str(path) in str(err.value)
    assert load_state(path, before)["step"] == 1
