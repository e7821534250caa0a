"""Which synthetic generator a saved benchmark run trained on.

Since the nineteenth session (2026-12-06) ``results.json`` records the generator itself
(``meta["generator"]``: every :class:`~aecnn.data.synth.SynthConfig` field but the split's size and
seed). Older files hold only the ``--synth`` overrides, which mean "the default of that day, changed
so"; :func:`generator_of` rebuilds their generator from today's default with the drop's grey levels of
before the nineteenth session (:data:`GREY_BEFORE`), the one default changed since overrides were
recorded. Earlier default changes (the outline modes of 2026-12-02 and before) are not rebuilt: the
runs before them are read as if they had today's other fields.
"""
from __future__ import annotations

from dataclasses import fields

from aecnn.data.synth import SynthConfig

# SynthConfig's drop grey levels until the nineteenth session's pre-registered test made the widened ranges
# the default (benchmarks/QUALITY.md, "Nineteenth session")
GREY_BEFORE = {"drop_level": (12.0, 21.0), "rim_amp": (28.0, 50.0), "rim_len": (3.0, 5.5)}
# set by the benchmark for each split, not part of the generator
PER_SPLIT = frozenset({"n_sequences", "frames_per_sequence", "strip_size", "crop_size", "seed"})


def _plain(v: object) -> object:
    return [float(x) for x in v] if isinstance(v, (tuple, list)) else v


def generator_record(overrides=()) -> dict:
    """The generator a benchmark with these ``--synth`` overrides renders, as JSON-ready values."""
    cfg = SynthConfig(**dict(overrides))
    return {f.name: _plain(getattr(cfg, f.name)) for f in fields(cfg) if f.name not in PER_SPLIT}


def generator_of(meta: dict) -> dict:
    """The generator of a saved run (``results.json``'s ``meta``): recorded, or rebuilt for older files."""
    if "generator" in meta:
        return dict(meta["generator"])
    overrides = {k: v for k, v in meta["config"].get("synth_overrides") or ()}
    return generator_record({**GREY_BEFORE, **overrides})


def changed(generator: dict) -> dict:
    """The fields of ``generator`` that differ from today's default."""
    default = generator_record()
    return {k: v for k, v in generator.items() if _plain(v) != default.get(k)}


def describe(generator: dict) -> str:
    """The fields of ``generator`` that differ from today's default, in words ("" for the default); the
    grey levels of before the nineteenth session together as one phrase."""
    diff = changed(generator)
    words = []
    if all(k in diff and diff[k] == _plain(v) for k, v in GREY_BEFORE.items()):
        words.append("grey levels before 2026-12-06")
        diff = {k: v for k, v in diff.items() if k not in GREY_BEFORE}
    return ", ".join(words + [f"{k}={v}" for k, v in diff.items()])
