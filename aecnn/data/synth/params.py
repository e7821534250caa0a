"""Hidden parameters of a synthetic sequence: the dataset config, the per-sequence draw
(viscosity, volume, contact angles, ...) and the frame kinds. See :mod:`aecnn.data.synth`."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Frame kinds and the sub-folder each is written to.
KINDS: dict[str, str] = {"strip": "strips", "crop": "crops"}

_REF_H, _REF_W = 152, 1280  # geometry below is tuned for this strip size


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. Every field has a sensible default; all are validated."""

    n_sequences: int = 8
    frames_per_sequence: int = 32
    strip_size: tuple[int, int] = (152, 1280)  # (H, W) of the full-width strip
    crop_size: tuple[int, int] = (201, 201)  # (H, W) of the crop centred on the drop
    viscosity_range: tuple[float, float] = (0.5, 5.0)  # log-uniform, arbitrary units
    volume_range: tuple[float, float] = (0.7, 3.2)  # relative drop volume, log-uniform
    noise_std: float = 1.2  # sensor noise, grey levels (x0.7-1.3 per sequence)
    # Optical edge blur, px, times a factor uniform in blur_spread per sequence. Until 2026-12-02 0.8 and
    # (0.8, 1.25); the real crops' edges are sharper and vary more (benchmarks/SYNTH_GAP.md, third change).
    blur_sigma: float = 0.6
    blur_spread: tuple[float, float] = (0.5, 1.6)
    dust_count: float = 6.0  # mean number of static dust specks per sequence (Poisson)
    # Shape and reflection variety, widened on 2026-12-02 to bring the real crops' PSNR within 6 dB of
    # the synthetic validation PSNR (benchmarks/QUALITY.md, "generator before / after"); the values
    # before that were (0.96, 1.15), (1.0, 1.0) and 0, which reproduce the earlier frames exactly.
    aspect_range: tuple[float, float] = (0.85, 1.5)  # head width / height (rx / rz), uniform
    reflection_size: tuple[float, float] = (1.2, 1.8)  # main reflection spot size factor, uniform
    reflection_spots: int = 3  # up to this many extra reflection spots beside the main one (uniform 0..n)
    # Reflection profile exp(-r**(2p) / 2) with p uniform in reflection_flatness (1: Gaussian; larger: a flat,
    # saturated top with a sharp rim, as the real spots have) and the main spot's peak above the drop level.
    reflection_flatness: tuple[float, float] = (1.0, 1.0)
    reflection_peak: tuple[float, float] = (170.0, 320.0)
    reflection_height: tuple[float, float] = (0.22, 0.36)  # main spot's height above the baseline / drop height
    # Grey levels of the drop (0-255): its darkest interior, and the extra brightness just inside the outline
    # (rim_amp, decaying over rim_len px at the reference scale), each uniform per sequence. Settable since
    # the eighteenth session (one real frame's interior and rim are brighter than any synthetic crop's);
    # widened in the nineteenth (2026-12-06) after its pre-registered test (benchmarks/QUALITY.md,
    # "Nineteenth session": seeds 91-93, real-crop gap 6.23 -> 5.20 dB, real PSNR +0.69 dB). The ranges
    # before, (12, 21), (28, 50) and (3, 5.5), reproduce the earlier frames exactly: the draws do not
    # depend on the bounds.
    drop_level: tuple[float, float] = (10.0, 25.0)
    rim_amp: tuple[float, float] = (20.0, 70.0)
    rim_len: tuple[float, float] = (3.0, 7.0)
    # Free-form outline: the drop's edge is pushed out / in by up to this many px (at the reference scale)
    # along a sum of low-order angular modes (2-6) around the head centre, fading out towards the baseline,
    # drawn per sequence and drifting slowly over the frames. Real outlines are not exactly ellipses; with
    # the parametric head + tail alone a 128-value latent learns the family so tightly that real drops,
    # about 1 px off it, reconstruct 7.5-8.2 dB worse than synthetic ones. 3 px since 2026-12-02 (real crops
    # at latent 128: 33.18 / 33.58 dB against 32.00 / 31.67; benchmarks/QUALITY.md, "The generator, fourth
    # change"); 0 reproduces the frames before it exactly.
    outline_modes: float = 3.0
    direction: int = -1  # -1: the drop moves right to left (reference videos); +1: mirrored
    seed: int = 0

    def __post_init__(self) -> None:
        def whole(name: str, value: object) -> int:
            """An integer (2.0 is one; 2.7 is refused rather than cut to 2)."""
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not float(value).is_integer():
                raise ValueError(f"SynthConfig.{name} must be a whole number, got {value!r}")
            return int(value)

        def pair(name: str, cast: type) -> tuple:
            value = getattr(self, name)
            try:
                a, b = value
                out = (whole(name, a), whole(name, b)) if cast is int else (cast(a), cast(b))
            except (TypeError, ValueError):
                raise ValueError(f"SynthConfig.{name} must be a pair of numbers, got {value!r}") from None
            object.__setattr__(self, name, out)
            return out

        for name in ("n_sequences", "frames_per_sequence"):
            value = whole(name, getattr(self, name))
            if value < 1:
                raise ValueError(f"SynthConfig.{name} must be >= 1, got {value!r}")
            object.__setattr__(self, name, value)
        h, w = pair("strip_size", int)
        if h < 16 or w < 32:
            raise ValueError(f"SynthConfig.strip_size must be at least (16, 32), got {(h, w)}")
        ch, cw = pair("crop_size", int)
        if ch < 1 or cw < 1:
            raise ValueError(f"SynthConfig.crop_size must be positive, got {(ch, cw)}")
        for name in ("viscosity_range", "volume_range", "blur_spread", "aspect_range", "reflection_size",
                     "reflection_flatness", "reflection_peak", "reflection_height", "drop_level", "rim_amp",
                     "rim_len"):
            lo, hi = pair(name, float)
            if not (0 < lo <= hi and math.isfinite(hi)):
                raise ValueError(f"SynthConfig.{name} must satisfy 0 < low <= high, got {(lo, hi)}")
        for name in ("noise_std", "blur_sigma", "dust_count", "outline_modes"):
            try:
                value = float(getattr(self, name))
            except (TypeError, ValueError):  # e.g. --set blur_sigma=1,2 (a pair)
                raise ValueError(f"SynthConfig.{name} must be one number, got {getattr(self, name)!r}") from None
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"SynthConfig.{name} must be a finite number >= 0, got {value!r}")
            object.__setattr__(self, name, value)
        if not (isinstance(self.reflection_spots, (int, np.integer)) and 0 <= self.reflection_spots <= 8):
            raise ValueError(f"SynthConfig.reflection_spots must be an integer 0..8, got {self.reflection_spots!r}")
        object.__setattr__(self, "reflection_spots", int(self.reflection_spots))
        if self.direction not in (-1, 1):
            raise ValueError(f"SynthConfig.direction must be -1 or +1, got {self.direction!r}")
        object.__setattr__(self, "seed", whole("seed", self.seed))

    @property
    def scale(self) -> float:
        """Pixel scale of the geometry relative to the 152x1280 reference strip."""
        return min(self.strip_size[0] / _REF_H, self.strip_size[1] / _REF_W)


@dataclass(frozen=True)
class SequenceParams:
    """Hidden parameters of one sequence (lengths in px, speeds in px/frame)."""

    index: int
    name: str
    viscosity: float
    volume: float
    radius_px: float  # head radius before deformation
    aspect: float  # head rx / rz
    tilt: float  # unexplained speed factor (plate tilt)
    terminal_velocity: float
    initial_velocity: float
    tau_frames: float
    theta_eq_deg: float
    hysteresis_deg: float  # static advancing minus receding angle
    tail0: float  # elongation at rest
    wobble_amp: float
    wobble_freq: float
    wobble_phase: float
    baseline_row: int
    baseline_thickness: int
    baseline_level: float
    substrate_level: float
    background: float
    gradient: tuple[float, float]  # illumination gradient (x, y), grey levels across the frame
    drop_level: float  # darkest interior level
    rim_amp: float  # extra brightness just inside the edge
    rim_len: float
    reflection: tuple[float, float, float]  # (offset along drop / rx, height fraction, peak)
    reflection_size: float  # size factor of the main spot
    reflection_flatness: float  # exponent p of the spots' profile exp(-r**(2p) / 2)
    spots: np.ndarray = field(repr=False)  # (n, 5) extra spots: ds, dz, sigma_s, sigma_z (px), peak fraction
    noise_std: float
    edge_sigma: float
    outline: np.ndarray = field(repr=False)  # (n, 4) outline modes: order m, amplitude px, phase, drift rad/frame
    start_fraction: float  # where in its allowed range the drop starts (0..1)
    dust: np.ndarray = field(repr=False)  # (n, 5): x, y, sigma, depth, elongation

    def row(self) -> dict[str, Any]:
        """Flat dict for ``metadata.csv``."""
        return {
            "sequence": self.name,
            "viscosity": round(self.viscosity, 6),
            "volume": round(self.volume, 6),
            "radius_px": round(self.radius_px, 3),
            "terminal_velocity_px": round(self.terminal_velocity, 4),
            "initial_velocity_px": round(self.initial_velocity, 4),
            "tau_frames": round(self.tau_frames, 4),
            "tilt": round(self.tilt, 4),
            "theta_eq_deg": round(self.theta_eq_deg, 3),
            "hysteresis_deg": round(self.hysteresis_deg, 3),
            "baseline_row": self.baseline_row,
            "background": round(self.background, 2),
            "noise_std": round(self.noise_std, 3),
            "edge_sigma": round(self.edge_sigma, 3),
            "n_dust": len(self.dust),
            "aspect": round(self.aspect, 4),
            "reflection_size": round(self.reflection_size, 4),
            "n_reflection_spots": len(self.spots),
            "reflection_flatness": round(self.reflection_flatness, 4),
        }


def parse_override(text: str, exclude: tuple[str, ...] = ()) -> tuple[str, Any]:
    """``"FIELD=VALUE"`` -> ``(field, value)`` for a :class:`SynthConfig` field (command-line overrides):
    ``a,b`` is a pair, integers stay integers. Raises ``ValueError`` naming the valid fields."""
    key, sep, value = text.partition("=")
    fields = sorted(set(SynthConfig.__dataclass_fields__) - set(exclude))
    if not sep or key not in fields or not value:
        raise ValueError(f"{text!r}: expected FIELD=VALUE with FIELD one of {', '.join(fields)}")
    try:
        parts = [int(v) if v.strip().lstrip("+-").isdigit() else float(v) for v in value.split(",")]
    except ValueError:
        raise ValueError(f"{text!r}: VALUE must be a number or a pair like 0.85,1.5") from None
    return key, tuple(parts) if len(parts) > 1 else parts[0]


def sequence_name(index: int, n_sequences: int = 1000) -> str:
    """``seq_000``-style folder name (wider when there are more than 1000 sequences)."""
    return f"seq_{index:0{max(3, len(str(max(n_sequences - 1, 0))))}d}"


# ----------------------------------------------------------------------------- parameters


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


#: Angular orders of the outline modes (``SynthConfig.outline_modes``).
OUTLINE_ORDERS = (2, 3, 4, 5, 6)


def _outline_modes(cfg: SynthConfig, index: int) -> np.ndarray:
    """``(n, 4)`` rows (order m, amplitude px, phase, drift rad/frame) of the free-form outline; empty
    when ``cfg.outline_modes`` is 0. A stream of its own: the other fields keep their values."""
    if cfg.outline_modes <= 0:
        return np.zeros((0, 4))
    rng = np.random.default_rng([cfg.seed % (1 << 64), 0x0D15, index])
    m = np.array(OUTLINE_ORDERS, dtype=np.float64)
    # amplitudes fall off as 1/sqrt(m) and sum to at most outline_modes; signs come with the phases
    amp = rng.uniform(0.0, 1.0, len(m)) / np.sqrt(m)
    amp *= cfg.outline_modes * cfg.scale / np.sum(1.0 / np.sqrt(m))
    return np.stack([m, amp, rng.uniform(0, 2 * math.pi, len(m)), rng.uniform(-0.04, 0.04, len(m))], axis=1)


def sample_params(cfg: SynthConfig, index: int, *, viscosity: float | None = None) -> SequenceParams:
    """Draw the hidden parameters of sequence ``index`` (deterministic in ``cfg.seed, index``).

    ``viscosity`` overrides the drawn value (everything else stays the same).
    """
    if index < 0:
        raise ValueError(f"sequence index must be >= 0, got {index}")
    rng = np.random.default_rng([cfg.seed % (1 << 64), 0x5EED, index])
    h, w = cfg.strip_size
    sc = cfg.scale
    mu = _log_uniform(rng, *cfg.viscosity_range)
    if viscosity is not None:
        if not viscosity > 0:
            raise ValueError(f"viscosity must be > 0, got {viscosity!r}")
        mu = float(viscosity)
    vol = _log_uniform(rng, *cfg.volume_range)
    tilt = float(rng.uniform(0.87, 1.15))
    v_term = 9.0 * sc * mu ** -0.8 * vol ** (1 / 3) * tilt
    v0 = v_term * float(rng.uniform(0.25, 0.8))
    tau = float(rng.uniform(5.0, 9.0)) * mu ** -0.4
    offset = int(rng.choice([0, 0, 0, 0, 1, 2, 3]))  # baseline mostly on the last row, as in the videos
    bg = float(rng.uniform(256.0, 272.0))  # overexposed: the background saturates at 255
    n_dust = int(rng.poisson(cfg.dust_count)) if cfg.dust_count > 0 else 0
    baseline_row = h - 1 - round(offset * sc)
    dust = np.stack([
        rng.uniform(0, w, n_dust),
        rng.uniform(0, max(baseline_row - 3, 1), n_dust),
        rng.uniform(0.45, 1.3, n_dust) * max(sc, 0.5),
        rng.uniform(0.06, 0.45, n_dust) ** 1.3,
        rng.uniform(1.0, 1.6, n_dust),
    ], axis=1) if n_dust else np.zeros((0, 5))
    # drawn from a second stream so the fields above keep their values whatever these settings are
    extra = np.random.default_rng([cfg.seed % (1 << 64), 0x5B07, index])
    size = float(extra.uniform(*cfg.reflection_size))
    n_spots = int(extra.integers(0, cfg.reflection_spots + 1)) if cfg.reflection_spots else 0
    # satellite spots: small, sharp, 4-12 px to either side of the main spot, a little above or below
    spots = np.stack([
        extra.choice([-1.0, 1.0], n_spots) * extra.uniform(4.0, 12.0, n_spots) * max(sc, 0.5),
        extra.uniform(-2.0, 2.0, n_spots) * max(sc, 0.5),
        extra.uniform(0.6, 1.6, n_spots) * max(sc, 0.5),
        extra.uniform(0.5, 1.0, n_spots) * max(sc, 0.5),
        extra.uniform(0.35, 1.0, n_spots),
    ], axis=1) if n_spots else np.zeros((0, 5))
    flatness = float(extra.uniform(*cfg.reflection_flatness))
    outline = _outline_modes(cfg, index)
    return SequenceParams(
        index=index,
        name=sequence_name(index, cfg.n_sequences),
        viscosity=mu,
        volume=vol,
        radius_px=46.0 * sc * vol ** (1 / 3),
        aspect=float(rng.uniform(*cfg.aspect_range)),
        tilt=tilt,
        terminal_velocity=v_term,
        initial_velocity=v0,
        tau_frames=tau,
        theta_eq_deg=float(rng.uniform(82.0, 100.0)),
        hysteresis_deg=float(rng.uniform(6.0, 20.0)),
        tail0=float(rng.uniform(0.0, 0.25)),
        wobble_amp=float(rng.uniform(0.0, 0.035)),
        wobble_freq=float(rng.uniform(0.35, 1.1)),
        wobble_phase=float(rng.uniform(0, 2 * math.pi)),
        baseline_row=baseline_row,
        baseline_thickness=int(rng.choice([1, 1, 1, 1, 2])),
        baseline_level=float(rng.uniform(0.0, 12.0)),
        substrate_level=float(rng.uniform(8.0, 45.0)),
        background=bg,
        gradient=(float(rng.uniform(-5, 5)), float(rng.uniform(-4, 4))),
        drop_level=float(rng.uniform(*cfg.drop_level)),
        rim_amp=float(rng.uniform(*cfg.rim_amp)),
        rim_len=float(rng.uniform(*cfg.rim_len)) * max(sc, 0.5),
        reflection=(float(rng.uniform(-0.2, 0.1)), float(rng.uniform(*cfg.reflection_height)),
                    float(rng.uniform(*cfg.reflection_peak))),
        noise_std=cfg.noise_std * float(rng.uniform(0.7, 1.3)),
        edge_sigma=cfg.blur_sigma * float(rng.uniform(*cfg.blur_spread)),
        start_fraction=float(rng.uniform(0.0, 1.0)),
        dust=dust,
        outline=outline,
        reflection_size=size,
        reflection_flatness=flatness,
        spots=spots,
    )
