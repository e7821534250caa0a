"""Export the encoder and decoder to ONNX and check them against PyTorch with onnxruntime.

::

    encoder.onnx: image (B, 1, H, W) float32 in [0, 1]  ->  latent (B, L)
    decoder.onnx: latent (B, L)                         ->  image (B, 1, H, W)

The batch axis is dynamic; H and W are fixed to the model's ``input_size`` (or the size given),
because the padding to a multiple of the stride and the bottleneck resampling are computed
from the size. The ``torch.export``-based exporter (``dynamo=True``) is tried first; if it
raises, the TorchScript exporter is used. Both files are then run through onnxruntime on random
inputs at batch sizes 1 and 3 and compared with PyTorch; the export fails if the largest
absolute difference exceeds ``atol * max(1, max |PyTorch output|)``.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from aecnn.io import atomic_write

logger = logging.getLogger(__name__)


class EncoderExport(nn.Module):
    """``image (B, 1, H, W) -> latent (B, L)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model.encode(image)


class DecoderExport(nn.Module):
    """``latent (B, L) -> image (B, 1, H, W)`` at a fixed output size."""

    def __init__(self, model: nn.Module, output_size: tuple[int, int]) -> None:
        super().__init__()
        self.model = model
        self.output_size = tuple(int(s) for s in output_size)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.model.decode(latent, self.output_size)


@dataclass
class OnnxCheck:
    """Result of comparing one ONNX file with PyTorch.

    Attributes:
        max_abs_diff: largest |onnxruntime - PyTorch| over the checked batch sizes.
        tolerance: the bound it was held to.
        scale: max |PyTorch output| (the tolerance is ``atol * max(1, scale)``).
        batch_sizes: batch sizes run.
    """

    max_abs_diff: float
    tolerance: float
    scale: float
    batch_sizes: list[int]

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.max_abs_diff) and self.max_abs_diff <= self.tolerance)


@dataclass
class OnnxExportReport:
    """What :func:`export_onnx` wrote and measured."""

    encoder: Path
    decoder: Path
    exporter: str
    input_size: tuple[int, int]
    latent_size: int
    opset: int | None
    checks: dict[str, OnnxCheck] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every check passed (False when no check ran: an unchecked export is not known to be right)."""
        return bool(self.checks) and all(c.ok for c in self.checks.values())

    def lines(self) -> list[str]:
        out = [(f"wrote {self.encoder} and {self.decoder} ({self.exporter} exporter, input "
                f"{self.input_size[0]}x{self.input_size[1]}, latent {self.latent_size}, dynamic batch)")]
        for name, c in self.checks.items():
            out.append(f"  {name}: max abs difference vs PyTorch {c.max_abs_diff:.3e} "
                       f"(tolerance {c.tolerance:.1e}, batch sizes {c.batch_sizes}) {'OK' if c.ok else 'FAILED'}")
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(encoder=str(self.encoder), decoder=str(self.decoder), ok=self.ok, checked=bool(self.checks))
        return d


def _export(module: nn.Module, example: torch.Tensor, path: Path, in_name: str, out_name: str,
            dynamo: bool, opset: int | None) -> None:
    kwargs: dict = {"input_names": [in_name], "output_names": [out_name], "opset_version": opset}
    if dynamo:
        kwargs.update(dynamo=True, dynamic_shapes=({0: torch.export.Dim("batch", min=1)},), verbose=False,
                      external_data=False)  # one self-contained file (renamed atomically)
    else:
        kwargs.update(dynamo=False, dynamic_axes={in_name: {0: "batch"}, out_name: {0: "batch"}})
    quiet = logging.getLogger("torch.onnx")  # "torchvision is not installed" lines from the registry
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        _export_quiet(module, example, path, dynamo, kwargs)
    finally:
        quiet.setLevel(level)


def _export_quiet(module: nn.Module, example: torch.Tensor, path: Path, dynamo: bool, kwargs: dict) -> None:
    with warnings.catch_warnings():
        for category in (FutureWarning, DeprecationWarning, UserWarning, torch.jit.TracerWarning):
            warnings.simplefilter("ignore", category=category)
        atomic_write(path, lambda tmp: torch.onnx.export(module, (example,), tmp, **kwargs))


def _export_both(encoder: nn.Module, decoder: nn.Module, x: torch.Tensor, z: torch.Tensor, out: Path,
                 exporter: str, opset: int | None) -> str:
    order = {"auto": [True, False], "dynamo": [True], "torchscript": [False]}[exporter]
    last: Exception | None = None
    for dynamo in order:
        name = "dynamo" if dynamo else "torchscript"
        try:
            _export(encoder, x, out / "encoder.onnx", "image", "latent", dynamo, opset)
            _export(decoder, z, out / "decoder.onnx", "latent", "image", dynamo, opset)
            return name
        except Exception as exc:  # noqa: BLE001  (exporters raise many types)
            if _interrupted(exc):  # torch.export wraps Ctrl-C in its own error: do not fall back, stop
                raise KeyboardInterrupt from None
            last = exc
            if dynamo and len(order) > 1:
                logger.warning("dynamo ONNX export failed (%s: %s); falling back to the TorchScript exporter",
                               type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    raise RuntimeError(f"ONNX export failed: {type(last).__name__}: {str(last).splitlines()[0] if str(last) else ''}")


def _interrupted(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _written_opset(path: Path) -> int | None:
    """The default-domain opset a file imports (None without the onnx package)."""
    try:
        import onnx
    except ImportError:
        return None
    model = onnx.load(str(path), load_external_data=False)
    return next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def check_onnx(path: str | os.PathLike, module: nn.Module, inputs: list[torch.Tensor], atol: float = 1e-4) -> OnnxCheck:
    """Run ``path`` with onnxruntime (CPU) on each input and compare with ``module``.

    Raises:
        ImportError: onnxruntime is not installed.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001  (onnxruntime's own error types)
        raise RuntimeError(f"onnxruntime cannot load {Path(path).name}: "
                           f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    in_name = sess.get_inputs()[0].name
    diff, scale = 0.0, 0.0
    for inp in inputs:
        with torch.no_grad():
            ref = module(inp).float().cpu().numpy()
        got = sess.run(None, {in_name: inp.cpu().numpy().astype(np.float32)})[0]
        if got.shape != ref.shape:
            return OnnxCheck(float("inf"), atol, float(np.abs(ref).max()), [int(i.shape[0]) for i in inputs])
        diff = max(diff, float(np.abs(got - ref).max()))
        scale = max(scale, float(np.abs(ref).max()))
    return OnnxCheck(diff, atol * max(1.0, scale), scale, [int(i.shape[0]) for i in inputs])


def export_onnx(model: nn.Module, out_dir: str | os.PathLike, input_size: tuple[int, int] | None = None,
                opset: int | None = None, exporter: str = "auto", check: bool = True,
                batch_sizes: tuple[int, ...] = (1, 3), atol: float = 1e-4, seed: int = 0) -> OnnxExportReport:
    """Write ``encoder.onnx``, ``decoder.onnx`` and ``onnx.json`` to ``out_dir`` and check them.

    Args:
        model: the autoencoder (exported on CPU in fp32, eval mode; the original is not changed).
        out_dir: output folder (created).
        input_size: (H, W) the ONNX files take (default: the model's ``input_size``).
        opset: ONNX opset (default: the exporter's).
        exporter: ``'auto'`` (dynamo, then TorchScript), ``'dynamo'`` or ``'torchscript'``.
        check: compare with PyTorch through onnxruntime (needs onnxruntime).
        batch_sizes: batch sizes of the check.
        atol: tolerance factor: fail above ``atol * max(1, max |output|)``.
        seed: seed of the random check inputs.

    Returns:
        The :class:`OnnxExportReport` (``report.ok`` False when a check failed or none ran; the
        files stay written so they can be inspected, with ``onnx.json`` saying so).

    The three files are written and checked in a hidden staging folder inside ``out_dir`` and moved
    into place only then (``onnx.json`` last), so a failed or interrupted export leaves an earlier
    export there as it was.

    Raises:
        ValueError: bad exporter name or input size; RuntimeError: both exporters failed;
        ImportError: ``check=True`` without onnxruntime.
    """
    from aecnn.inference.reconstruct import check_writable_dir

    if exporter not in ("auto", "dynamo", "torchscript"):
        raise ValueError(f"exporter must be auto, dynamo or torchscript, got {exporter!r}")
    size = tuple(int(s) for s in (input_size or model.config.input_size))
    if len(size) != 2 or min(size) < 32:
        raise ValueError(f"input_size must be (H, W) with both >= 32, got {input_size}")
    if check:
        import onnxruntime  # noqa: F401  (fail before the slow export)
    out = check_writable_dir(out_dir, create=True)
    stage = Path(tempfile.mkdtemp(prefix=".onnx-export-", dir=out))
    try:
        report = _export_checked(model, stage, size, opset, exporter, check, batch_sizes, atol, seed)
        (out / "onnx.json").unlink(missing_ok=True)  # an earlier export's record goes before its files do
        for name in ("encoder.onnx", "decoder.onnx"):
            os.replace(stage / name, out / name)
        report.encoder, report.decoder = out / "encoder.onnx", out / "decoder.onnx"
        meta = {**report.to_dict(), "model_config": model.get_config(),
                "inputs": {"encoder": ["image", ["batch", 1, *size]],
                           "decoder": ["latent", ["batch", report.latent_size]]}}
        atomic_write(out / "onnx.json",
                     lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1, default=str) + "\n"))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return report


def _export_checked(model: nn.Module, stage: Path, size: tuple[int, int], opset: int | None, exporter: str,
                    check: bool, batch_sizes: tuple[int, ...], atol: float, seed: int) -> OnnxExportReport:
    import copy

    out = stage
    cpu = copy.deepcopy(model).float().cpu().eval()
    cpu.gradient_checkpointing = False
    encoder, decoder = EncoderExport(cpu).eval(), DecoderExport(cpu, size).eval()
    gen = torch.Generator().manual_seed(seed)
    example = torch.rand(2, 1, *size, generator=gen)
    with torch.no_grad():
        z_example = encoder(example)
    name = _export_both(encoder, decoder, example, z_example, out, exporter, opset)
    written = _written_opset(out / "encoder.onnx")
    if opset is not None and written is not None and written != opset:
        logger.warning("asked for opset %d, the %s exporter wrote opset %d (recorded as such)%s", opset, name,
                       written, "; --exporter torchscript honours --opset" if name == "dynamo" else "")
    report = OnnxExportReport(out / "encoder.onnx", out / "decoder.onnx", name, size,
                              int(model.config.latent_size), written if written is not None else opset)
    if check:
        xs = [torch.rand(b, 1, *size, generator=gen) for b in batch_sizes]
        with torch.no_grad():
            zs = [encoder(x) for x in xs]
        report.checks["encoder"] = check_onnx(report.encoder, encoder, xs, atol)
        report.checks["decoder"] = check_onnx(report.decoder, decoder, zs, atol)
    return report


__all__ = ["DecoderExport", "EncoderExport", "OnnxCheck", "OnnxExportReport", "check_onnx", "export_onnx"]
