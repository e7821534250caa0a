"""Synthetic side-view videos of droplets sliding down an inclined plate.

This is the project's embedded default dataset: it needs no download and
looks like the high-speed shadowgraph frames the models are built for — a
saturated near-white background, a dark drop silhouette resting on a thin dark
baseline at the bottom of the frame, a small bright reflection inside the drop,
a few static grey dust specks, soft edges and sensor noise.

Every sequence (= one "experiment") has a hidden scalar ``viscosity``
(log-uniform in ``SynthConfig.viscosity_range``) that sets

* the speed: terminal speed ``~ viscosity**-0.8 * volume**(1/3)`` (a slightly
  different plate tilt per sequence adds ±15 % that the frames cannot explain),
  approached exponentially with a time constant that grows for runny drops;
* the shape, through a capillary-number-like ``Ca ~ viscosity * speed``: dynamic
  contact angles (Cox-Voinov-like: advancing angle grows, receding angle drops
  with ``Ca``, starting from static angles split by a per-sequence hysteresis) and a receding tail whose length grows with
  ``Ca**1.5 * viscosity**0.6``, so the drop stretches as it accelerates and
  viscous drops leave long tails.

Drop volume (size), starting speed and position, equilibrium contact angle and
hysteresis, baseline height, background level, illumination gradient, dust, reflection and
noise also vary per sequence so a model cannot read the viscosity off one
pixel; it is predictable from the sequence (speed over frames, size and shape).

Head shapes range from taller than wide to 1.5x wider than tall (``aspect_range``), and the
reflection is a saturated spot with up to three satellite spots (``reflection_size``,
``reflection_spots``), as in the real frames; the previous, more uniform settings
(``aspect_range=(0.96, 1.15), reflection_size=(1, 1), reflection_spots=0``) reproduce the frames of
earlier versions exactly. Edges are blurred by ``blur_sigma`` (0.6 px) times a per-sequence factor in
``blur_spread`` (0.5-1.6), i.e. 0.3-0.96 px, matched to the real crops' edge widths; until 2026-12-02
0.8 px times 0.8-1.25 (``blur_sigma=0.8, blur_spread=(0.8, 1.25), outline_modes=0`` reproduce those
frames exactly).
The outline is not a pure ellipse + tail: ``outline_modes`` (3 px) bends it by a per-sequence sum of
angular modes 2-6 around the head centre that drifts over the frames and fades out towards the
baseline (contact line and angles stay as reported); until 2026-12-02 none (``outline_modes=0``
reproduces those frames exactly). ``reflection_flatness`` and ``reflection_peak`` make the spots flat-topped and saturated (a variant,
off by default: it did not raise the real crops' PSNR). Distributions were matched to real 1280x130
frames (``benchmarks/SYNTH_GAP.md``):
drop heights about 48-90 px (median ~67) on the 152-row strip, advancing angles
~100-135 deg, receding ~25-85 deg (median ~60), an overexposed background that
saturates at 255, and the thin baseline on the last row in most sequences.

Drawing is analytic: the silhouette is the smooth union of a head ellipse
(advancing side, contact angle > 90°) and a long, flat tail ellipse centred
below the baseline (receding side, angle < 90°), with no smoothing at the
advancing contact line so the reported angles and positions hold,
evaluated as an approximate signed distance ``d`` on the pixel grid and turned
into coverage with a sigmoid whose width is the optical blur combined with the
pixel footprint (``sqrt(blur_sigma**2 + 1/12)``), i.e. the edges are
anti-aliased and blurred without any convolution. Only the box around the drop
is evaluated per frame; the background (illumination, dust, baseline) is
rendered once per sequence.

Crops are ``crop_size`` windows centred on the drop's (coverage-weighted)
centroid, padded with the sequence's background level where they leave the
strip. ``metadata`` ``background`` is the nominal level before clipping to 255.

By default the drop moves right to left, as in the reference videos; set
``direction=+1`` to mirror. Geometry and speeds scale with
``min(H / 152, W / 1280)``.

Timing (numpy uses one core here; measured on a shared 2-core CPU box)::

    python -c "import time; from aecnn.data.synth import *; t=time.perf_counter(); \
generate_in_memory(SynthConfig(), 'strip'); print(time.perf_counter()-t)"

renders the default 8 sequences x 32 frames of 152x1280 strips in 0.3-0.7 s
(crops: 0.3-0.6 s, they are cut from the same render); ``write_dataset`` with
both kinds (512 PNGs + 2 CSVs) takes 1.5-3 s, mostly PNG encoding.

Pure numpy; Pillow is imported only by :func:`write_dataset`, tqdm only for the
progress bar.

Modules: :mod:`~aecnn.data.synth.params` (config and hidden parameters),
:mod:`~aecnn.data.synth.render` (drawing, in memory), :mod:`~aecnn.data.synth.writer` (files).
"""
from __future__ import annotations

from aecnn.data.synth.params import (
    KINDS,
    SequenceParams,
    SynthConfig,
    parse_override,
    sample_params,
    sequence_name,
)
from aecnn.data.synth.render import (
    SynthArrays,
    SynthSequence,
    generate_in_memory,
    iter_sequences,
    render_sequence,
)
from aecnn.data.synth.writer import write_dataset

__all__ = [
    "KINDS",
    "SequenceParams",
    "SynthArrays",
    "SynthConfig",
    "SynthSequence",
    "generate_in_memory",
    "iter_sequences",
    "parse_override",
    "render_sequence",
    "sample_params",
    "sequence_name",
    "write_dataset",
]
