"""Rendering a synthetic sequence: kinematics, drop shape, background and the analytic
silhouette, then strips and crops in memory. See :mod:`aecnn.data.synth`."""
from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from aecnn.data.synth.params import KINDS, SequenceParams, SynthConfig, sample_params


@dataclass
class SynthSequence:
    """One rendered sequence: frames plus per-frame ground truth."""

    params: SequenceParams
    strips: np.ndarray | None  # (T, H, W) uint8
    crops: np.ndarray | None  # (T, ch, cw) uint8
    frames: dict[str, np.ndarray]  # per-frame columns, see FRAME_COLUMNS

    @property
    def name(self) -> str:
        return self.params.name

    @property
    def viscosity(self) -> float:
        return self.params.viscosity

    def __len__(self) -> int:
        return len(self.frames["frame"])

    def frame_rows(self) -> list[dict[str, Any]]:
        """Per-frame dicts (the rows of ``frames.csv``)."""
        rows = []
        for t in range(len(self)):
            row: dict[str, Any] = {"sequence": self.name}
            for key in FRAME_COLUMNS:
                value = self.frames[key][t]
                row[key] = int(value) if key in _INT_COLUMNS else round(float(value), 4)
            row["viscosity"] = round(self.viscosity, 6)
            rows.append(row)
        return rows


FRAME_COLUMNS = (
    "frame", "x_px", "y_px", "x_front_px", "x_rear_px", "velocity_px", "adv_angle_deg",
    "rec_angle_deg", "contact_length_px", "height_px", "elongation", "crop_x0", "crop_y0",
)
_INT_COLUMNS = {"frame", "crop_x0", "crop_y0"}


class SynthArrays(NamedTuple):
    """What :func:`generate_in_memory` returns (unpacks as a 4-tuple)."""

    frames: np.ndarray  # (N, H, W) uint8
    sequence_ids: np.ndarray  # (N,) int64
    frame_idx: np.ndarray  # (N,) int64
    metadata: dict[str, Any]  # "sequences": [row], "frames": [row], "viscosity": (N,) float


# ----------------------------------------------------------------------------- physics / shape


def _kinematics(p: SequenceParams, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Speed (px/frame) and distance travelled by the advancing contact line, per frame."""
    t = np.arange(n, dtype=np.float64)
    decay = np.exp(-t / p.tau_frames)
    v = p.terminal_velocity - (p.terminal_velocity - p.initial_velocity) * decay
    s = p.terminal_velocity * t - (p.terminal_velocity - p.initial_velocity) * p.tau_frames * (1 - decay)
    return v, s


def _shapes(p: SequenceParams, v: np.ndarray, sc: float) -> dict[str, np.ndarray]:
    """Per-frame silhouette parameters in drop coordinates.

    ``s`` runs from the advancing contact line (s=0) towards the tail, ``z`` is the
    height above the baseline. Head: ellipse centred at (s_h, c_h), semi-axes
    (rx, rz); tail: ellipse centred at (s_h, c_t), semi-axes (rx_t, rz_t) behind the centre
    (and a short one in front, hidden in the head).
    """
    t = np.arange(len(v), dtype=np.float64)
    ca = p.viscosity * v / (9.0 * max(sc, 1e-6))  # capillary-number-like, ~0.4-1.6
    # static advancing / receding angles split by the hysteresis, then Cox-Voinov-like
    theta_a3 = math.radians(p.theta_eq_deg + 0.5 * p.hysteresis_deg) ** 3
    theta_r3 = math.radians(min(p.theta_eq_deg - 0.5 * p.hysteresis_deg, 88.0)) ** 3
    th_a = np.minimum(np.cbrt(theta_a3 + 3.5 * ca), math.radians(150.0))
    th_r = np.cbrt(np.maximum(theta_r3 - 1.6 * ca, math.radians(25.0) ** 3))
    elong = p.tail0 + 0.5 * ca ** 1.5 * p.viscosity ** 0.6
    e = np.minimum(elong, 1.6)
    wob = p.wobble_amp * np.sin(p.wobble_freq * t + p.wobble_phase)
    rz = p.radius_px * (1 - 0.12 * e) * (1 + wob)
    rx = p.radius_px * p.aspect * (1 + 0.1 * e) / (1 + wob)
    # head ellipse cut by the baseline with the advancing angle th_a (> 90 deg -> centre above)
    alpha_h = np.arctan(-(rz / rx) / np.tan(th_a))
    c_h = rz * np.sin(alpha_h)
    half_h = rx * np.cos(alpha_h)
    height = c_h + rz
    # tail: from the head centre to the receding contact line, receding angle th_r
    w = half_h * (1.05 + 2.0 * elong)
    h_t = height * np.maximum(0.8 - 0.22 * e, 0.42)  # long tails thin out
    h_t = np.minimum(h_t, 0.45 * w * np.tan(th_r))
    k = (h_t / w) / np.tan(th_r)
    sin_t = -k / (1 - k)
    cos_t = np.sqrt(1 - sin_t ** 2)
    rx_t = w / cos_t
    rz_t = h_t / (1 + sin_t)
    c_t = rz_t * sin_t
    length = half_h + w
    return {
        "rx": rx, "rz": rz, "s_h": half_h, "c_h": c_h, "rx_t": rx_t, "rz_t": rz_t, "c_t": c_t,
        "height": height, "length": length, "adv": np.degrees(th_a), "rec": np.degrees(th_r),
        "elongation": length / height, "k_smooth": 0.9 * rz,
    }


def _ellipse_distance(ds: np.ndarray, dz: np.ndarray, rx: float, rz: float) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse (f / |grad f|)."""
    x = ds / rx
    y = dz / rz
    q = np.sqrt(x * x + y * y)
    g = np.sqrt((x / rx) ** 2 + (y / rz) ** 2) + 1e-9
    return (q - 1.0) * q / g


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return sign * (1.0 - poly * np.exp(-x * x))


@functools.lru_cache(maxsize=1)
def _normal_lut() -> np.ndarray:
    """Standard-normal quantiles of 65536 equiprobable bins: ``lut[uint16]`` is N(0, 1) noise
    (3x faster than ``Generator.standard_normal``, tails cut at 4.3 sigma)."""
    p = (np.arange(65536) + 0.5) / 65536
    lo, hi = np.full_like(p, -8.0), np.full_like(p, 8.0)
    for _ in range(60):  # bisection on the CDF
        mid = 0.5 * (lo + hi)
        below = 0.5 * (1.0 + _erf(mid / math.sqrt(2.0))) < p
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    lut = (0.5 * (lo + hi)).astype(np.float32)
    lut.setflags(write=False)
    return lut


def _smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1 - h) + a * h - k * h * (1 - h)


# ----------------------------------------------------------------------------- rendering


def _background(p: SequenceParams, h: int, w: int) -> np.ndarray:
    """Static part of every frame: illumination, dust, baseline and substrate (float32)."""
    xs = (np.arange(w, dtype=np.float32) + 0.5) / w - 0.5
    ys = (np.arange(h, dtype=np.float32) + 0.5) / h - 0.5
    img = (p.background + p.gradient[0] * xs[None, :] + p.gradient[1] * ys[:, None]
           - 6.0 * (xs[None, :] ** 2 + ys[:, None] ** 2)).astype(np.float32)
    for x0, y0, sig, depth, elong in p.dust:
        r = math.ceil(4 * sig * elong) + 1
        xa, xb = max(int(x0) - r, 0), min(int(x0) + r + 1, w)
        ya, yb = max(int(y0) - r, 0), min(int(y0) + r + 1, h)
        gx = (np.arange(xa, xb, dtype=np.float32) + 0.5 - x0) / (sig * elong)
        gy = (np.arange(ya, yb, dtype=np.float32) + 0.5 - y0) / sig
        blob = np.exp(-0.5 * (gx[None, :] ** 2 + gy[:, None] ** 2))
        img[ya:yb, xa:xb] *= 1.0 - depth * blob
    yb = p.baseline_row
    img[yb:yb + p.baseline_thickness] = p.baseline_level
    img[yb + p.baseline_thickness:] = p.substrate_level
    return img


def _outline_offset(modes: np.ndarray, ds: np.ndarray, dz: np.ndarray, zrel: np.ndarray, t: int) -> np.ndarray:
    """Outward shift (px) of the silhouette's edge at offsets ``(ds, dz)`` from the head centre: the sum of
    ``modes`` rows (order m, amplitude, phase, drift) over the polar angle, faded to 0 below 30 % of the
    drop's height (``zrel``: height / drop height) so the contact line and its angles stay as reported."""
    phi = np.arctan2(dz, ds)
    off = np.zeros(np.broadcast_shapes(phi.shape, zrel.shape), dtype=np.float32)
    for m, amp, phase, drift in modes.tolist():
        off += amp * np.cos(m * phi + (phase + drift * t))
    fade = np.clip(zrel / 0.3, 0.0, 1.0)
    return off * fade * fade * (3 - 2 * fade)


def _render_drop(frame: np.ndarray, bg: np.ndarray, p: SequenceParams, shp: dict[str, float],
                 x_front: float, sc: float, t: int = 0) -> tuple[float, float]:
    """Composite the drop (canonical orientation: moving left, tail to the right) in place.

    Returns the coverage-weighted centroid (x, y) of the silhouette in strip pixels.
    """
    w = frame.shape[1]
    y_s = float(p.baseline_row)  # baseline surface (top edge of the baseline row)
    sig = math.sqrt(p.edge_sigma ** 2 + 1 / 12)
    logistic_s = sig * math.sqrt(3) / math.pi
    pad = math.ceil(4 + 6 * sig)
    x0 = max(math.floor(x_front) - pad, 0)
    x1 = min(math.ceil(x_front + shp["length"]) + pad, w)
    y0 = max(math.floor(y_s - shp["height"]) - pad, 0)
    y1 = p.baseline_row
    if x1 <= x0 or y1 <= y0:
        return x_front + 0.5 * shp["length"], y_s - 0.4 * shp["height"]
    X = np.arange(x0, x1, dtype=np.float32) + 0.5
    Y = np.arange(y0, y1, dtype=np.float32) + 0.5
    s = (X - x_front)[None, :]
    z = (y_s - Y)[:, None]
    d_head = _ellipse_distance(s - shp["s_h"], z - shp["c_h"], shp["rx"], shp["rz"])
    # tail: long semi-axis behind the head centre, short one in front (hidden in the head);
    # both halves meet with a continuous value and gradient at s = s_h
    ds = s - shp["s_h"]
    d_tail = _ellipse_distance(ds, z - shp["c_t"], np.where(ds > 0, shp["rx_t"], 0.7 * shp["s_h"]),
                               shp["rz_t"])
    # smooth union (concave neck between head and tail); no smoothing near the advancing
    # contact line so the silhouette keeps the advancing angle and position it reports
    ramp = np.clip((s - 0.3 * shp["s_h"]) / (1.4 * shp["s_h"]), 0.0, 1.0)
    k = shp["k_smooth"] * ramp * ramp * (3 - 2 * ramp) + 1e-3
    d = _smin(d_head, d_tail, k)
    if len(p.outline):
        d = d - _outline_offset(p.outline, s - shp["s_h"], z - shp["c_h"], z / shp["height"], t)
    cov = 0.5 * (1.0 - np.tanh(d / (2 * logistic_s)))
    depth = np.maximum(-d, 0.0)
    color = p.drop_level + p.rim_amp * np.exp(-depth / p.rim_len)
    # specular reflection: a bright dot with one or two faint companions, inside the head
    off, hfrac, peak = p.reflection
    rs = shp["s_h"] + off * shp["rx"]
    rz_ = hfrac * shp["height"]
    gs = max(sc, 0.5)
    gm = gs * p.reflection_size
    fp = p.reflection_flatness

    def blob(ds: np.ndarray, dz: np.ndarray, ss: float, sz: float) -> np.ndarray:
        r2 = (ds / ss) ** 2 + (dz / sz) ** 2
        return np.exp(-0.5 * (r2 if fp == 1.0 else r2 ** fp))

    spot = (blob(s - rs, z - rz_, 1.9 * gm, 1.15 * gm)
            + 0.45 * blob(s - rs + 5.5 * gs, z - rz_ - 0.6 * gs, 0.8 * gs, 0.7 * gs)
            + 0.3 * blob(s - rs + 8.0 * gs, z - rz_ - 0.6 * gs, 0.7 * gs, 0.7 * gs))
    for ds_, dz_, sig_s, sig_z, frac in p.spots:  # extra spots around the main one (real videos: 1-3)
        spot = spot + frac * blob(s - rs - ds_, z - rz_ - dz_, sig_s, sig_z)
    color = color + peak * spot
    patch = bg[y0:y1, x0:x1]
    frame[y0:y1, x0:x1] = patch + (color - patch) * cov
    total = float(cov.sum())
    if total < 1e-6:
        return x_front + 0.5 * shp["length"], y_s - 0.4 * shp["height"]
    cx = float((cov.sum(axis=0) * X).sum() / total)
    cy = float((cov.sum(axis=1) * Y).sum() / total)
    return cx, cy


def _crop(strip: np.ndarray, cx: float, cy: float, size: tuple[int, int], fill: int
          ) -> tuple[np.ndarray, int, int]:
    """``size`` crop centred on (cx, cy), padded with ``fill`` outside the strip."""
    ch, cw = size
    h, w = strip.shape
    ox = math.floor(cx) - cw // 2
    oy = math.floor(cy) - ch // 2
    out = np.full((ch, cw), fill, dtype=np.uint8)
    xa, xb = max(ox, 0), min(ox + cw, w)
    ya, yb = max(oy, 0), min(oy + ch, h)
    if xb > xa and yb > ya:
        out[ya - oy:yb - oy, xa - ox:xb - ox] = strip[ya:yb, xa:xb]
    return out, ox, oy


def render_sequence(cfg: SynthConfig, index: int, *, kinds: Iterable[str] = ("strip", "crop"),
                    viscosity: float | None = None) -> SynthSequence:
    """Render sequence ``index`` of ``cfg``: strips (T, H, W) and/or crops (T, ch, cw), uint8.

    Deterministic in ``(cfg, index)``; independent of ``cfg.n_sequences`` except for the
    width of the sequence name. ``viscosity`` overrides the drawn viscosity.
    """
    kinds = _check_kinds(kinds)
    p = sample_params(cfg, index, viscosity=viscosity)
    h, w = cfg.strip_size
    n = cfg.frames_per_sequence
    sc = cfg.scale
    v, travel = _kinematics(p, n)
    shp = _shapes(p, v, sc)
    # place the drop so it stays in view for the whole sequence when possible
    margin = 6.0 * max(sc, 0.5)
    lo = margin + travel[-1]  # front position at frame 0 (canonical: moving left)
    hi = float(np.min(w - margin - shp["length"] + travel))
    x_start = lo + p.start_fraction * (hi - lo) if hi >= lo else 0.5 * (lo + hi)
    x_front = x_start - travel

    rng = np.random.default_rng([cfg.seed % (1 << 64), 0xF4A3E, index])
    bg = _background(p, h, w)
    fill = int(np.clip(round(p.background), 0, 255))
    strips = np.empty((n, h, w), dtype=np.uint8) if "strip" in kinds else None
    crops = np.empty((n, *cfg.crop_size), dtype=np.uint8) if "crop" in kinds else None
    cols: dict[str, np.ndarray] = {k: np.zeros(n) for k in FRAME_COLUMNS}
    frame = np.empty((h, w), dtype=np.float32)
    noise = np.empty((h, w), dtype=np.float32)
    lut = _normal_lut()
    for t in range(n):
        frame[:] = bg
        shape_t = {k: float(a[t]) for k, a in shp.items()}
        cx, cy = _render_drop(frame, bg, p, shape_t, float(x_front[t]), sc, t)
        if p.noise_std > 0:
            np.take(lut, rng.integers(0, 65536, (h, w), dtype=np.uint16), out=noise)
            noise *= p.noise_std
            frame += noise
        frame += 0.5  # round half up when truncating to uint8
        np.clip(frame, 0, 255.0, out=frame)
        img = frame.astype(np.uint8)
        xf, xr = float(x_front[t]), float(x_front[t] + shp["length"][t])
        if cfg.direction == 1:  # mirror the canonical (leftward) render
            img = img[:, ::-1]
            cx, xf, xr = w - cx, w - xf, w - xr
        if strips is not None:
            strips[t] = img
        if crops is not None:
            crops[t], ox, oy = _crop(img, cx, cy, cfg.crop_size, fill)
        else:
            ox = math.floor(cx) - cfg.crop_size[1] // 2
            oy = math.floor(cy) - cfg.crop_size[0] // 2
        for key, value in (("frame", t), ("x_px", cx), ("y_px", cy), ("x_front_px", xf),
                           ("x_rear_px", xr), ("velocity_px", v[t]), ("adv_angle_deg", shp["adv"][t]),
                           ("rec_angle_deg", shp["rec"][t]), ("contact_length_px", shp["length"][t]),
                           ("height_px", shp["height"][t]), ("elongation", shp["elongation"][t]),
                           ("crop_x0", ox), ("crop_y0", oy)):
            cols[key][t] = value
    cols["frame"] = cols["frame"].astype(np.int64)
    cols["crop_x0"] = cols["crop_x0"].astype(np.int64)
    cols["crop_y0"] = cols["crop_y0"].astype(np.int64)
    return SynthSequence(params=p, strips=strips, crops=crops, frames=cols)


def iter_sequences(cfg: SynthConfig, kinds: Iterable[str] = ("strip", "crop")) -> Iterator[SynthSequence]:
    """Render the sequences of ``cfg`` one after another (bounded memory)."""
    for i in range(cfg.n_sequences):
        yield render_sequence(cfg, i, kinds=kinds)


def _check_kinds(kinds: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(dict.fromkeys(kinds))
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ValueError(f"unknown frame kind(s) {bad or kinds!r}; choose from {sorted(KINDS)}")
    return kinds


def generate_in_memory(cfg: SynthConfig | None = None, kind: str = "strip") -> SynthArrays:
    """All frames of one ``kind`` ('strip' or 'crop') as arrays, for training without disk.

    Returns ``(frames (N, H, W) uint8, sequence_ids (N,), frame_idx (N,), metadata)`` with
    ``N = n_sequences * frames_per_sequence`` in sequence-major order; ``metadata`` holds
    ``"sequences"`` (one dict per sequence, the ``metadata.csv`` rows), ``"frames"`` (one
    dict per frame, the ``frames.csv`` rows) and ``"viscosity"`` (N,) float64.
    """
    cfg = cfg or SynthConfig()
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be 'strip' or 'crop', got {kind!r}")
    n, t = cfg.n_sequences, cfg.frames_per_sequence
    shape = cfg.strip_size if kind == "strip" else cfg.crop_size
    frames = np.empty((n * t, *shape), dtype=np.uint8)
    seq_rows: list[dict[str, Any]] = []
    frame_rows: list[dict[str, Any]] = []
    visc = np.empty(n * t, dtype=np.float64)
    for i, seq in enumerate(iter_sequences(cfg, kinds=(kind,))):
        frames[i * t:(i + 1) * t] = seq.strips if kind == "strip" else seq.crops
        visc[i * t:(i + 1) * t] = seq.viscosity
        seq_rows.append(seq.params.row())
        frame_rows.extend(seq.frame_rows())
    seq_ids = np.repeat(np.arange(n, dtype=np.int64), t)
    frame_idx = np.tile(np.arange(t, dtype=np.int64), n)
    meta = {"sequences": seq_rows, "frames": frame_rows, "viscosity": visc, "kind": kind,
            "config": cfg}
    return SynthArrays(frames, seq_ids, frame_idx, meta)
