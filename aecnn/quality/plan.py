"""What the quality benchmark runs: its configuration, the methods, and the order of the runs.

A *run* is one method at one frame kind, latent size and budget (:class:`Run`); :func:`plan`
lists them in priority order for a :class:`BenchConfig`, and :func:`build_model` builds the
network of a method. :mod:`aecnn.quality.bench` executes the plan.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from aecnn.baselines.v1 import V1_SIZE, AutoencoderV1
from aecnn.models import create_autoencoder, preset_config

METHODS = ("pca", "v1", "seed", "aecnn-conv", "aecnn-spatial", "untrained")
NETWORKS = METHODS[1:]
# The control: aecnn-spatial at its initial weights (seeded by train_seed, so the very network the trained row
# starts from), scored like every other row and never trained. What the sequence stage reaches from its latents
# is what it reaches without training (QUALITY.md, "Twentieth session": 0.973 on crops at 512, above the
# trained network's 0.963 and PCA's 0.967); an R² target says something about training only above it.
CONTROL = "untrained"
RECIPES = ("bench", "train")  # the training loop's own optimiser and schedule, or aecnn train's (loop.train)
SECONDS_REFERENCE = "aecnn-spatial"  # the presets' latent_strategy: its time defines the seconds budget
KINDS = ("crop", "strip")
LATE_LSTM = "LSTM R2 not finished by the deadline"  # a Run's note when its LSTM fit was abandoned


@dataclass(frozen=True)
class BenchConfig:
    """What :func:`run_benchmark` does. Sizes are (H, W)."""

    preset: str = "small"
    model_overrides: tuple[tuple[str, object], ...] = ()
    latents: tuple[int, ...] = (128, 512, 2048)
    strip_latents: tuple[int, ...] = (512,)
    reference_latent: int = 512
    kinds: tuple[str, ...] = KINDS
    methods: tuple[str, ...] = METHODS
    images_seen: int | None = None
    strip_images_ratio: float = 0.25
    seconds: float | None = None
    seconds_methods: tuple[str, ...] = ("v1",)
    all_latent_methods: tuple[str, ...] = ("v1", "seed", "aecnn-spatial")
    train_budget_s: float = 170.0
    deadline_s: float | None = None
    # the training recipe of every network: `aecnn train`'s defaults (TrainConfig.batch_size, .lr);
    # until 2026-12-02 the benchmark used batch 64 and lr 2e-3 (QUALITY.md has both recipes' results)
    batch_size: int = 32
    lr: float = 1e-3
    # AdamW's second-moment decay: aecnn train's 0.99 since the fifteenth session's pre-registered test
    # (QUALITY.md: seeds 51-53, no >=10x loss spike against two at 0.999, +1.4 dB); every benchmark run
    # before 2026-12-06 used torch's 0.999 (`--beta2 0.999` repeats them)
    beta2: float = 0.99
    # "train": aecnn train's optimiser and schedule (weight decay on weights only, one-epoch warm-up, 1 %
    # cosine floor, no clipping), the default since the seventeenth session's pre-registered test (QUALITY.md:
    # seeds 81-83, mean PSNR +0.01 dB against "bench", no >=10x spike in either arm); "bench": the loop's own
    # (every benchmark run before 2026-12-06's seventeenth session; `--recipe bench` repeats them)
    recipe: str = "train"
    train_sequences: int = 192
    val_sequences: int = 64
    frames_per_sequence: int = 32
    crop_size: tuple[int, int] = (201, 201)
    strip_size: tuple[int, int] = (152, 1280)
    seed: int = 0  # the synthetic data (validation: seed + 1000)
    synth_overrides: tuple[tuple[str, object], ...] = ()  # SynthConfig fields for both splits (generator variants)
    train_seed: int = 0  # every network's initialisation and batch order; vary it to repeat a training
    device: str = "auto"
    real_dir: str | None = None
    lstm_epochs: int | None = None
    models_dir: str | None = None  # write every trained network here (for offline analysis)
    state_dir: str | None = None  # a deadline-stopped images-budget training's state goes here; a later run continues it
    seq_workers: int = 8
    seq_reduce: int = 8  # r2_lstm_pc: principal components the LSTM reads (fit-sequence --reduce); 0: not run
    warmup_steps: int = 3
    min_images: int = 0

    def __post_init__(self) -> None:
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {', '.join(RECIPES)}, got {self.recipe!r}")
        bad = [m for m in (*self.methods, *self.seconds_methods, *self.all_latent_methods) if m not in METHODS]
        if bad:
            raise ValueError(f"unknown method(s) {bad}; valid: {', '.join(METHODS)}")
        if CONTROL in self.seconds_methods:
            raise ValueError(f"{CONTROL!r} is never trained, so it has no seconds budget: leave it out of seconds_methods")
        if any(k not in KINDS for k in self.kinds):
            raise ValueError(f"kinds must be among {KINDS}, got {self.kinds}")
        if any(int(n) < 1 for n in (*self.latents, *self.strip_latents)):
            raise ValueError(f"latent sizes must be positive, got {self.latents}, {self.strip_latents}")
        if self.reference_latent not in self.latents:
            raise ValueError(f"reference_latent {self.reference_latent} must be one of --latents {self.latents}")
        if self.images_seen is not None and self.images_seen < self.batch_size:
            raise ValueError(f"images_seen must be at least one batch ({self.batch_size}), got {self.images_seen}")
        if not 0 < self.beta2 < 1:
            raise ValueError(f"beta2 must be between 0 and 1, got {self.beta2}")
        if self.state_dir and self.images_seen is None:
            raise ValueError("--train-state needs --images-seen: a training continues only to a budget fixed in "
                             "advance (a fitted budget, and the seconds rows' budget, change from call to call)")
        if self.seconds is not None and self.seconds <= 0:
            raise ValueError(f"seconds must be positive, got {self.seconds}")

    @classmethod
    def quick(cls, **overrides) -> BenchConfig:
        """CPU smoke configuration: every method and both kinds at toy sizes (well under a minute)."""
        base = {"preset": "tiny", "model_overrides": (("channel_config", (8, 16, 32)),), "latents": (32,),
                "strip_latents": (32,), "reference_latent": 32, "images_seen": 32, "strip_images_ratio": 0.5,
                "seconds_methods": ("v1",), "all_latent_methods": ("v1", "seed", "aecnn-conv", "aecnn-spatial"),
                "batch_size": 8, "train_sequences": 5, "val_sequences": 2, "frames_per_sequence": 8,
                "strip_size": (64, 384), "lstm_epochs": 2, "seq_workers": 0, "warmup_steps": 0, "device": "cpu"}
        base.update(overrides)
        return cls(**base)


@dataclass
class Run:
    """One trained-and-scored method: the spec plus its results."""

    kind: str
    method: str
    latent: int
    budget: str  # "images" | "seconds"
    status: str = "pending"
    note: str = ""
    params: int = 0
    images_seen: int = 0
    train_seconds: float = math.nan
    train_ips: float = math.nan
    final_loss: float = math.nan
    metrics: dict = field(default_factory=dict)
    real_metrics: dict = field(default_factory=dict)
    r2_lstm: float = math.nan
    r2_ridge: float = math.nan
    r2_lstm_pc: float = math.nan  # LSTM on seq_reduce principal components + the drop's per-frame displacement
    loss_curve: list = field(default_factory=list)  # [(images seen, mean training loss of the segment)]

    @property
    def key(self) -> tuple:
        return self.kind, self.method, self.latent, self.budget


def build_model(method: str, preset: str, size: tuple[int, int], latent: int,
                overrides: dict | None = None) -> torch.nn.Module:
    """The network of ``method`` for frames of ``size`` with ``latent`` values; ``overrides``
    are aecnn config fields applied to the preset (the seed bottleneck and aecnn alike)."""
    over = dict(overrides or {})
    if method == "v1":
        if tuple(size) != V1_SIZE:
            raise ValueError(f"V1 only takes 201x201 frames, not {size}")
        return AutoencoderV1(embedding_dim=latent)
    # The strategy is set explicitly for every method: the presets' default is "spatial", and a
    # 4x4 grid or a flat latent only exists with latent_strategy="conv".
    if method == "seed":  # pool every feature map to 4x4, then linear
        over["latent_strategy"] = "conv"
        c_last = preset_config(preset, size, **over).channel_config[-1]
        return create_autoencoder(preset, size, latent_size=latent, bottleneck_grid=(4, 4),
                                  bottleneck_channels=c_last, **over)
    if method in ("aecnn-conv", "aecnn-spatial", CONTROL):
        over["latent_strategy"] = "spatial" if method == CONTROL else method.removeprefix("aecnn-")
        return create_autoencoder(preset, size, latent_size=latent, **over)
    raise ValueError(f"not a network: {method!r}")


def plan(cfg: BenchConfig) -> list[Run]:
    """Runs in priority order: what the targets need first, so a deadline drops the rest."""
    ref, runs = cfg.reference_latent, []
    nets = [m for m in ("aecnn-spatial", "aecnn-conv", "seed", "v1", CONTROL) if m in cfg.methods]

    def add(kind: str, latent: int, budget: str, methods: list[str]) -> None:
        for m in methods:
            if kind == "strip" and m == "v1":
                continue
            runs.append(Run(kind, m, latent, budget))

    if "crop" in cfg.kinds:
        add("crop", ref, "images", nets)
        add("crop", ref, "seconds", [m for m in nets if m in cfg.seconds_methods
                                     or (m == SECONDS_REFERENCE and cfg.seconds is not None)])
    if "strip" in cfg.kinds and ref in cfg.strip_latents:
        add("strip", ref, "images", nets)
    rest = [m for m in nets if m in cfg.all_latent_methods]
    if "crop" in cfg.kinds:
        for lat in cfg.latents:
            if lat != ref:
                add("crop", lat, "images", rest)
    if "strip" in cfg.kinds:
        for lat in cfg.strip_latents:
            if lat != ref:
                add("strip", lat, "images", rest)
    return runs


def strip_images(cfg: BenchConfig, n: int) -> int:
    """Images seen on strips when crops see ``n``: ``strip_images_ratio * n`` in whole batches."""
    m = int(n * cfg.strip_images_ratio)
    return max(cfg.batch_size, m - m % cfg.batch_size)
