"""Reconstruct single images with a trained model and score them (PSNR, SSIM, MSE).

::

    inputs (files, folders, globs) -> expand_inputs -> load_image (gray float32 [0,1], >= 32 px)
      -> batches of one size -> model(x) clamped to [0,1] -> per-image PSNR / SSIM / MSE
      -> out/recon/<rel>.png, out/compare/<rel>.png (input | reconstruction | |error|), out/metrics.csv

Images whose size differs from the model's ``input_size`` are reconstructed at their own size
(the model pads to a multiple of its stride and crops back; the bottleneck grid is resampled),
and a log line says so once per size. Every output file is written to a temporary name and
renamed when complete (:func:`aecnn.checkpoint.atomic_write`).
"""
from __future__ import annotations

import csv
import glob
import logging
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from aecnn.data import imageio
from aecnn.data.index import natural_key
from aecnn.devices import resolve_device
from aecnn.io import atomic_write
from aecnn.models.config import MIN_SIZE

logger = logging.getLogger(__name__)

METRIC_COLUMNS = ("path", "psnr", "ssim", "mse")
PSNR_CAP = 100.0  # dB reported for a perfect reconstruction (MSE 0)


# ----------------------------------------------------------------------------- devices and images


@dataclass(frozen=True)
class LoadedImage:
    """One grayscale image ready for the model.

    Attributes:
        path: the source file.
        pixels: ``(H, W)`` float32 in [0, 1].
        bits: 8 or 16 (the precision outputs are written back in).
    """

    path: Path
    pixels: np.ndarray
    bits: int


def _gray_shape(shape: tuple[int, ...], path: Path) -> tuple[int, int]:
    """``(H, W)`` of one image stored as an array of ``shape``; odd channel counts are rejected."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) == 3 and shape[-1] in (1, 3, 4):
        shape = shape[:2]
    if len(shape) != 2:
        raise ValueError(f"{path}: array of shape {shape} is not one grayscale image; expected "
                         "(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) (use `aecnn embed` for stacks of frames)")
    return shape  # type: ignore[return-value]


def _array_to_gray(arr: np.ndarray, path: Path) -> np.ndarray:
    """A raw array from a ``.npy`` file -> one 2-D frame (colour -> luma); odd channel counts are rejected."""
    _gray_shape(arr.shape, path)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    elif arr.ndim == 3:
        arr = imageio._luma(np.asarray(arr), path)
    return imageio.to_native(np.asarray(arr), path)


def load_image(path: str | os.PathLike) -> LoadedImage:
    """Read one image file as grayscale float32 in [0, 1].

    PNG/JPEG/BMP/TIFF are decoded by :func:`aecnn.data.imageio.read_image` (8/16-bit, colour
    and alpha converted to gray with luma weights); a ``.npy`` file must hold one image,
    ``(H, W)`` or ``(H, W, 1|3|4)``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a readable image, an array of another channel count, or smaller than 32 px.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            raw = np.load(path, allow_pickle=False)
        except Exception as exc:  # noqa: BLE001  (numpy raises several types for bad files)
            raise ValueError(f"{path}: not a readable .npy array ({type(exc).__name__}: {exc})") from None
        native = _array_to_gray(raw, path)
    elif suffix in imageio.IMAGE_EXTENSIONS:
        native = imageio.read_image(path)
    else:
        raise ValueError(f"{path}: unsupported file type {suffix or '(none)'}; accepted: "
                         f"{', '.join(imageio.IMAGE_EXTENSIONS + ('.npy',))}")
    if native.ndim != 2:
        raise ValueError(f"{path}: decoded to shape {native.shape}, expected a 2-D grayscale image")
    h, w = native.shape
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(f"{path}: image is {h}x{w} (H x W), below the model's minimum {MIN_SIZE}x{MIN_SIZE}")
    bits = 16 if native.dtype == np.uint16 else 8
    return LoadedImage(path, imageio.to_unit_float(native), bits)


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Files, folders (searched recursively) and glob patterns -> image files, in natural order.

    Each folder's files are sorted by path in natural order (``frame_2`` before ``frame_10``);
    the inputs keep their order; duplicates are dropped; hidden files are skipped.

    Raises:
        FileNotFoundError: an input that is no file, no folder and matches nothing.
        ValueError: a file given explicitly with an unsupported extension, or no images at all.
    """
    accepted = imageio.IMAGE_EXTENSIONS + (".npy",)
    out: list[Path] = []
    for item in inputs:
        p = Path(item).expanduser()
        if p.is_file():
            if p.suffix.lower() not in accepted:
                raise ValueError(f"{p}: unsupported file type {p.suffix or '(none)'}; accepted: {', '.join(accepted)}")
            out.append(p)
        elif p.is_dir():
            found = [q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in accepted
                     and not any(part.startswith(".") for part in q.relative_to(p).parts)]
            if not found:
                raise ValueError(f"folder {p} holds no images ({', '.join(accepted)})")
            out.extend(sorted(found, key=lambda q: natural_key(q.relative_to(p).as_posix())))
        else:
            matches = [Path(m) for m in glob.glob(str(p), recursive=True)]
            matches = [m for m in matches if m.is_file() and m.suffix.lower() in accepted]
            if not matches:
                raise FileNotFoundError(f"no such file or folder, and no image matches the pattern: {item}")
            out.extend(sorted(matches, key=lambda q: natural_key(q.as_posix())))
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    if not unique:
        raise ValueError("no input images given")
    return unique


def output_names(paths: Sequence[Path]) -> list[Path]:
    """Relative output names (extension dropped) that mirror the inputs below their common folder."""
    resolved = [p.resolve() for p in paths]
    root = Path(os.path.commonpath([str(p.parent) for p in resolved]))
    return [p.relative_to(root).with_suffix("") for p in resolved]


# ----------------------------------------------------------------------------- metrics


def image_metrics(x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-image MSE, PSNR (dB, data range 1, capped) and SSIM of ``(B,1,H,W)`` pairs, ``y`` the
    reconstruction (clamped to [0, 1], as its PNG is saved)."""
    from aecnn.metrics import mse, psnr, ssim

    return {"mse": mse(y, x), "psnr": psnr(y, x, cap=PSNR_CAP), "ssim": ssim(y, x)}


# ----------------------------------------------------------------------------- writing


def save_gray_png(path: str | os.PathLike, pixels: np.ndarray, bits: int = 8) -> Path:
    """Write ``(H, W)`` values in [0, 1] as an 8- or 16-bit grayscale PNG, atomically."""
    from PIL import Image

    arr = np.clip(np.asarray(pixels, dtype=np.float32), 0.0, 1.0)
    if bits == 16:
        img = Image.fromarray(np.rint(arr * 65535).astype(np.uint16))
    else:
        img = Image.fromarray(np.rint(arr * 255).astype(np.uint8))
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def save_figure(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    """Save a matplotlib figure atomically (format from the extension, PNG by default)."""
    fmt = Path(path).suffix.lstrip(".").lower() or "png"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi))


def comparison_figure(x: np.ndarray, recon: np.ndarray, title: str = ""):
    """Figure with input | reconstruction | |error| map (with colorbar); rows for wide images."""
    from matplotlib.figure import Figure

    h, w = x.shape
    err = np.abs(x - recon)
    wide = w > 2 * h
    if wide:
        ncols, nrows = 1, 3
        panel_w = min(14.0, max(6.0, w / 100))
        figsize = (panel_w + 1.2, 3 * panel_w * h / w + 1.2)
    else:
        ncols, nrows = 3, 1
        panel = 3.2
        figsize = (3 * panel + 1.5, panel * h / w + 0.8)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    panels = ((x, "gray", 1.0, "input"), (recon, "gray", 1.0, "reconstruction"),
              (err, "magma", max(float(err.max()), 1e-6), "|input - reconstruction|"))
    for ax, (img, cmap, vmax, name) in zip(axes, panels):
        im = ax.imshow(img, cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
        ax.set_title(name)
        fig.colorbar(im, ax=ax, fraction=0.046 if not wide else 0.02, pad=0.02)  # same widths: aligned panels
    for ax in axes:
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def _write_metrics(path: Path, rows: list[dict]) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=list(METRIC_COLUMNS))
            wr.writeheader()
            for r in rows:
                wr.writerow({"path": r["path"], "psnr": f"{r['psnr']:.4f}", "ssim": f"{r['ssim']:.6f}",
                             "mse": f"{r['mse']:.6e}"})
    return atomic_write(path, write)


def check_writable_dir(path: str | os.PathLike, create: bool = False) -> Path:
    """Check that ``path`` is (or can be created as) a writable folder; raise an OSError naming it if not.

    Nothing is created unless ``create=True``, so a command that fails later leaves no empty folder.
    """
    path = Path(path).expanduser()
    probe = path
    while not probe.exists():
        if probe.is_symlink() or probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise NotADirectoryError(f"cannot write outputs to {path}: {probe} exists and is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write outputs to {path}: {probe} is not writable")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise type(exc)(f"cannot create output folder {path}: {exc.strerror or exc}") from None
    return path


def probe_input(path: str | os.PathLike) -> tuple[int, int]:
    """``(H, W)`` of an input from its header only; rejects what :func:`load_image` would reject
    for its size or channel count, without decoding the pixels."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{path}: not a readable .npy array ({type(exc).__name__}: {exc})") from None
        h, w = _gray_shape(arr.shape, path)
    else:
        info = imageio.probe_image(path)
        h, w = info.height, info.width
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(f"{path}: image is {h}x{w} (H x W), below the model's minimum {MIN_SIZE}x{MIN_SIZE}")
    return h, w


# ----------------------------------------------------------------------------- the loop


@dataclass
class ReconstructionSummary:
    """What :func:`reconstruct_files` did.

    Attributes:
        rows: one dict per image: path, psnr, ssim, mse, height, width.
        out_dir: where the outputs are.
        metrics_csv: path of ``metrics.csv``.
    """

    rows: list[dict]
    out_dir: Path
    metrics_csv: Path
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.rows)

    def mean(self, key: str) -> float:
        return float(np.mean([r[key] for r in self.rows])) if self.rows else math.nan

    def line(self) -> str:
        """One-line summary for the terminal."""
        skipped = (f"; skipped {len(self.skipped)} unreadable (listed above; --strict stops at the first)"
                   if self.skipped else "")
        return (f"reconstructed {self.n} image{'s' if self.n != 1 else ''}: mean PSNR {self.mean('psnr'):.2f} dB, "
                f"SSIM {self.mean('ssim'):.4f}, MSE {self.mean('mse'):.3e}; outputs in {self.out_dir}{skipped}")


def _batches(paths: Sequence[Path], batch_size: int,
             skipped: list[tuple[str, str]] | None = None) -> Iterator[list[LoadedImage]]:
    """Consecutive images of the same size, at most ``batch_size`` at a time (loaded lazily).
    With a ``skipped`` list, files that fail to decode are recorded there (and logged) instead of raising."""
    batch: list[LoadedImage] = []
    for p in paths:
        try:
            img = load_image(p)
        except ValueError as exc:
            if skipped is None:
                raise
            logger.warning("skipping %s", exc)
            skipped.append((str(p), str(exc)))
            continue
        if batch and (img.pixels.shape != batch[0].pixels.shape or len(batch) >= batch_size):
            yield batch
            batch = []
        batch.append(img)
    if batch:
        yield batch


@torch.no_grad()
def reconstruct_tensor(model: torch.nn.Module, x: torch.Tensor, amp: bool = False) -> torch.Tensor:
    """Reconstruction of ``(B, 1, H, W)`` in [0, 1] at the input's own size, clamped to [0, 1].

    fp32 by default, so PSNR/SSIM are not limited by bf16 rounding (~50 dB); ``amp=True`` uses
    bf16 autocast on CUDA.
    """
    dev = next(model.parameters()).device
    x = x.to(dev, torch.float32)
    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp and dev.type == "cuda"):
        y = model(x)
    return y.float().clamp(0.0, 1.0)


def reconstruct_files(model: torch.nn.Module, inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike,
                      batch_size: int = 16, figures: bool = True, progress: bool = True,
                      strict: bool = False) -> ReconstructionSummary:
    """Reconstruct every image of ``inputs`` and write the outputs under ``out_dir``.

    Writes ``recon/<name>.png`` (same bit depth as the input), ``compare/<name>.png``
    (input | reconstruction | error map; skipped when ``figures=False``) and ``metrics.csv``
    (path, psnr, ssim, mse), where ``<name>`` mirrors each input below the inputs' common folder.

    Args:
        model: the autoencoder (put in eval mode here).
        inputs: files, folders or glob patterns.
        out_dir: output folder (created).
        batch_size: images per forward pass (consecutive images of one size are batched).
        figures: write the side-by-side figures.
        progress: show a tqdm progress bar.
        strict: stop at the first unreadable image (default: skip it with a warning, as ``aecnn train``
            and ``embed`` do, and list it in the summary; when no input is readable it is an error).

    Returns:
        The :class:`ReconstructionSummary`.

    Raises:
        FileNotFoundError, ValueError: missing inputs, no readable image, or (``strict``) any unreadable
            one (see :func:`expand_inputs`, :func:`load_image`).
        OSError: ``out_dir`` cannot be written.
    """
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    paths = expand_inputs(inputs)
    skipped: list[tuple[str, str]] = []
    readable = []
    for p in paths:  # headers only: bad images are known before anything is written
        try:
            probe_input(p)
            readable.append(p)
        except ValueError as exc:
            if strict:
                raise
            skipped.append((str(p), str(exc)))
    if not readable:
        raise ValueError(skipped[0][1] if len(skipped) == 1 else
                         f"none of the {len(skipped)} inputs is a readable image; first: {skipped[0][1]}")
    for _p, why in skipped:
        logger.warning("skipping %s", why)
    paths = readable
    out = check_writable_dir(out_dir, create=True)
    if (out / "metrics.csv").is_file():
        logger.warning("%s holds an earlier reconstruction: metrics.csv is replaced, while recon/ and compare/ "
                       "keep the images of inputs not in this run (pick a new --out to keep runs apart)", out)
    names = dict(zip([p.resolve() for p in paths], output_names(paths)))
    model.eval()
    model_size = tuple(model.config.input_size)
    warned: set[tuple[int, int]] = set()
    rows: list[dict] = []
    with tqdm(total=len(paths), desc="reconstruct", unit="img", disable=not progress, leave=False) as bar:
        for batch in _batches(paths, batch_size, None if strict else skipped):
            size = batch[0].pixels.shape
            if size != model_size and size not in warned:
                warned.add(size)
                logger.warning("images of %dx%d (H x W) differ from the model's input_size %dx%d: reconstructed "
                               "at their own size (first: %s)", *size, *model_size, batch[0].path)
            x = torch.from_numpy(np.stack([b.pixels for b in batch]))[:, None]  # (B, 1, H, W)
            y = reconstruct_tensor(model, x)
            m = image_metrics(x.to(y.device), y)
            recon = y[:, 0].cpu().numpy()
            for i, img in enumerate(batch):
                name = names[img.path.resolve()]
                save_gray_png(out / "recon" / f"{name}.png", recon[i], img.bits)
                row = {"path": str(img.path), "psnr": float(m["psnr"][i]), "ssim": float(m["ssim"][i]),
                       "mse": float(m["mse"][i]), "height": size[0], "width": size[1]}
                if figures:
                    fig = comparison_figure(img.pixels, recon[i],
                                            f"{img.path.name}: PSNR {row['psnr']:.2f} dB, SSIM {row['ssim']:.4f}")
                    save_figure(fig, out / "compare" / f"{name}.png")
                rows.append(row)
            bar.update(len(batch))
    if not rows:
        raise ValueError(f"none of the {len(skipped)} inputs could be decoded; first: {skipped[0][1]}")
    csv_path = _write_metrics(out / "metrics.csv", rows)
    return ReconstructionSummary(rows, out, csv_path, skipped)


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``metrics.csv`` with numbers parsed."""
    with open(path, newline="") as fh:
        return [{"path": r["path"], **{k: float(r[k]) for k in ("psnr", "ssim", "mse")}}
                for r in csv.DictReader(fh)]


__all__ = [
    "LoadedImage",
    "ReconstructionSummary",
    "check_writable_dir",
    "comparison_figure",
    "expand_inputs",
    "image_metrics",
    "load_image",
    "output_names",
    "probe_input",
    "read_metrics",
    "reconstruct_files",
    "reconstruct_tensor",
    "resolve_device",
    "save_figure",
    "save_gray_png",
]

