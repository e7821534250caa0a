"""The training configuration: one dataclass, filled from defaults < YAML < command-line flags.

::

    TrainConfig()                      defaults below
      <- <resumed run>/config.yaml     with --resume RUN_DIR
      <- --config my.yaml              keys are the field names (dashes or underscores)
      <- explicit flags                only the flags the user typed
      -> <run folder>/config.yaml      the resolved config, written by the trainer

Model options live in ``model`` (a dict of :class:`~aecnn.models.AutoEncoderConfig`
overrides on top of ``preset``), so every model option is also a YAML key.
"""
from __future__ import annotations

import math
import re
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from aecnn.data.dataset import RESIZE_MODES
from aecnn.models import PRESETS, AutoEncoderConfig

SCHEDULES = ("cosine", "plateau", "none")
AMP_MODES = ("auto", "bf16", "fp16", "fp32")
SYNTH_KINDS = ("crop", "strip")

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


@dataclass
class TrainConfig:
    """Everything ``aecnn train`` needs. Field names are the YAML keys and (with dashes) the flags."""

    # data
    data: str | None = None
    out: str = "runs/train"
    synthetic: bool = False
    synthetic_kind: str = "crop"
    synthetic_sequences: int = 16
    synthetic_frames: int = 32
    input_size: tuple[int, int] | None = None
    height: int | None = None
    resize_mode: str = "resize"
    val_fraction: float = 0.2
    seed: int = 0
    strict: bool = False
    cache_dir: str | None = None
    workers: int | None = None
    # model
    preset: str = "small"
    model: dict[str, Any] = field(default_factory=dict)
    # optimisation
    epochs: int = 20
    batch_size: int | str = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    warmup_epochs: float = 1.0
    min_lr_ratio: float = 0.01
    plateau_patience: int = 2
    plateau_factor: float = 0.5
    early_stop: int | None = None
    ema: float | None = None
    loss: str = "mse"
    ib_weight: float = 0.0
    grad_accum: int = 1
    clip_grad: float | None = None
    # hardware
    device: str = "auto"
    threads: int | None = None
    amp: str = "auto"
    compile: bool = False
    channels_last: bool = False
    max_memory: str | None = None
    # outputs
    save_every: int = 0
    recon_every: int = 5
    save_val_latents: bool = False
    resume: str | None = None
    overwrite: bool = False
    progress: bool = True
    tensorboard: bool = True

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raise ``ValueError`` naming the option and what to do, on the first bad value."""
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(msg)

        if self.input_size is not None:
            self.input_size = tuple(int(v) for v in self.input_size)  # type: ignore[assignment]
            need(len(self.input_size) == 2, f"input_size must be H W, got {self.input_size}")
        need(self.input_size is None or self.height is None, "give --input-size H W or --height H, not both")
        need(not (self.synthetic and self.data), f"give a data folder ({self.data}) or --synthetic, not both: "
                                                 "synthetic training would ignore the folder")
        need(self.resize_mode in RESIZE_MODES, f"resize_mode must be one of {', '.join(RESIZE_MODES)}")
        need(0.0 <= self.val_fraction < 1.0, f"val_fraction must be in [0, 1), got {self.val_fraction}")
        need(self.synthetic_kind in SYNTH_KINDS, f"synthetic_kind must be one of {', '.join(SYNTH_KINDS)}")
        need(self.preset in PRESETS, f"unknown preset {self.preset!r}; valid: {', '.join(PRESETS)}")
        known = {f.name for f in fields(AutoEncoderConfig)}
        bad = sorted(set(self.model) - known)
        need(not bad, f"unknown model option(s) {bad}; valid: {sorted(known)}")
        need(int(self.epochs) >= 1, f"epochs must be >= 1, got {self.epochs}")
        if isinstance(self.batch_size, str):
            if self.batch_size.strip().lower() == "auto":
                self.batch_size = "auto"
            else:
                need(self.batch_size.strip().isdigit(), f"batch_size must be a positive integer or 'auto', "
                                                        f"got {self.batch_size!r}")
                self.batch_size = int(self.batch_size)
        need(self.batch_size == "auto" or int(self.batch_size) >= 1, "batch_size must be >= 1 or 'auto'")
        need(self.lr > 0 and math.isfinite(self.lr), f"lr must be a positive number, got {self.lr}")
        need(self.weight_decay >= 0, "weight_decay must be >= 0")
        need(self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}")
        need(self.warmup_epochs >= 0 and 0 <= self.min_lr_ratio <= 1, "warmup_epochs >= 0, min_lr_ratio in [0, 1]")
        need(self.plateau_patience >= 0 and 0 < self.plateau_factor < 1,
             "plateau_patience must be >= 0 and plateau_factor in (0, 1)")
        need(self.early_stop is None or self.early_stop >= 1, "early_stop (patience in epochs) must be >= 1")
        need(self.ema is None or 0.0 < self.ema < 1.0, f"ema decay must be in (0, 1), e.g. 0.999; got {self.ema}")
        need(self.ib_weight >= 0, "ib_weight must be >= 0")
        need(int(self.grad_accum) >= 1, "grad_accum must be >= 1")
        need(self.clip_grad is None or self.clip_grad > 0, "clip_grad must be > 0")
        need(self.amp in AMP_MODES, f"amp must be one of {', '.join(AMP_MODES)}")
        need(self.save_every >= 0 and self.recon_every >= 0, "save_every and recon_every must be >= 0")
        need(self.workers is None or self.workers >= 0, "workers must be >= 0")
        need(self.threads is None or self.threads >= 1, "threads must be >= 1")
        need(int(self.synthetic_sequences) >= 2 and int(self.synthetic_frames) >= 1,
             "synthetic_sequences must be >= 2 (train/val split by sequence) and synthetic_frames >= 1")
        if self.max_memory is not None:
            parse_memory(self.max_memory)
        from aecnn.train.losses import parse_loss_spec

        parse_loss_spec(self.loss)

    # ------------------------------------------------------------------ conversion
    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/``torch.load(weights_only=True)``-friendly dict (lists, not tuples)."""
        d = asdict(self)
        d["input_size"] = list(self.input_size) if self.input_size is not None else None
        d["model"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.model.items()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "") -> TrainConfig:
        """Build from a dict with field names (dashes allowed); unknown keys are an error.

        Values are brought to their field's type first (see :func:`coerce_options`).
        """
        return cls(**coerce_options(d, source))

    def model_overrides(self) -> dict[str, Any]:
        """``model`` with list values as tuples, ready for :func:`~aecnn.models.preset_config`."""
        return {k: tuple(v) if isinstance(v, list) else v for k, v in self.model.items()}


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """``value`` as the type ``hint`` of field ``name`` says, or ``ValueError`` naming both."""
    args = typing.get_args(hint)
    if value is None and (hint is type(None) or type(None) in args):
        return None
    kinds = [a for a in args if a is not type(None)] if args and typing.get_origin(hint) is not tuple else [hint]
    if len(kinds) > 1:  # e.g. int | str (batch_size): validate() reads it
        return value
    kind = kinds[0]
    bad = ValueError(f"{name} must be {_KIND_WORDS.get(kind, str(kind))}, got {value!r}")
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if kind is int:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        raise bad
    if kind is float:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):  # PyYAML reads 3e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise bad from None
        raise bad
    if kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad
    if typing.get_origin(kind) is tuple:  # input_size: two integers
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return tuple(_coerce(name, v, int) for v in value)
        raise ValueError(f"{name} must be two integers H W, e.g. [152, 1280], got {value!r}")
    return value


_KIND_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def coerce_options(d: dict[str, Any] | None, source: str = "") -> dict[str, Any]:
    """Training options with dashes turned into underscores and every value brought to its field's type
    (``3e-4`` read as a string becomes a float, ``2.0`` epochs becomes 2); unknown keys and values that
    cannot be converted raise ``ValueError`` naming the option, and ``source`` (a file) when given."""
    where = f"{source}: " if source else ""
    d = {str(k).replace("-", "_"): v for k, v in (d or {}).items()}
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"{where}unknown training option(s) {unknown}; valid: {sorted(known)}")
    if d.get("model") is None:
        d.pop("model", None)
    elif not isinstance(d["model"], dict):
        raise ValueError(f"{where}'model' must be a mapping of model options, got {d['model']!r}")
    hints = typing.get_type_hints(TrainConfig)
    try:
        return {k: v if k == "model" else _coerce(k, v, hints[k]) for k, v in d.items()}
    except ValueError as exc:
        raise ValueError(f"{where}{exc}") from None


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML config file as a dict.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not YAML, or not a mapping at the top.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of options (key: value), "  # noqa: TRY004  (a user file)
                         f"got {type(data).__name__}")
    return coerce_options(data, str(path))


def merge_config(*layers: dict[str, Any]) -> TrainConfig:
    """Later layers win; ``model`` dicts merge key by key.

    Returns:
        The validated :class:`TrainConfig`.
    """
    out: dict[str, Any] = {}
    model: dict[str, Any] = {}
    for layer in layers:
        for k, v in (layer or {}).items():
            k = str(k).replace("-", "_")
            if k == "model" and v is not None and not isinstance(v, dict):
                raise ValueError(f"'model' must be a mapping of model options, got {v!r}")
            if k == "model" and isinstance(v, dict):
                model.update({str(mk).replace("-", "_"): mv for mk, mv in v.items()})
            else:
                out[k] = v
    out["model"] = model
    return TrainConfig.from_dict(out)


def save_yaml(path: str | Path, cfg: TrainConfig) -> Path:
    """Write the resolved config as YAML, atomically."""
    from aecnn.io import atomic_write

    text = "# resolved aecnn training config (defaults < YAML < flags)\n" + yaml.safe_dump(
        cfg.to_dict(), sort_keys=False, default_flow_style=None)

    def write(tmp: str) -> None:
        Path(tmp).write_text(text)

    return atomic_write(path, write)


def parse_memory(text: str | float) -> int:
    """``'8GiB'``, ``'8GB'``, ``'7.5G'``, ``'8000MiB'`` or a byte count -> bytes.

    Raises:
        ValueError: unparsable.
    """
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(text))
        unit = m.group(2).lower() if m else None
        if m is None or unit not in _UNITS:
            raise ValueError(f"cannot read memory size {text!r}; write e.g. 8GiB, 8GB or 7500MiB")
        value = float(m.group(1)) * _UNITS[unit]
    if value <= 0:
        raise ValueError(f"memory size must be positive, got {text!r}")
    return int(value)
