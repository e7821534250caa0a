"""Reading one image file (or one slice of a stack file) as a grayscale frame.

Every reader returns a 2-D array in the file's own precision: ``uint8`` for 8-bit
sources, ``uint16`` for 16-bit sources and ``float32`` (clipped to [0, 1]) for float
sources. :func:`to_unit_float` scales it to float32 in [0, 1] (8-bit / 255, 16-bit /
65535). TIFF files are read with tifffile, everything else with Pillow; Pillow's
16-bit grayscale PNG mode ``I;16`` keeps all 16 bits.

Colour is converted to gray with the ITU-R 601-2 luma weights (what Pillow's
``convert('L')`` uses), in the source precision; alpha is dropped.
"""
from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
STACK_EXTENSIONS: tuple[str, ...] = (".npy", ".npz")
ACCEPTED_EXTENSIONS: tuple[str, ...] = IMAGE_EXTENSIONS + STACK_EXTENSIONS
TIFF_EXTENSIONS: tuple[str, ...] = (".tif", ".tiff")

#: Precision classes: 'u8' (stored as uint8), 'u16' (uint16), 'f' (float, clipped to [0, 1]).
KINDS = ("u8", "u16", "f")
_warned_float_range: list = []  # warn about clipped float frames once per process
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)


class UnreadableImageError(ValueError):
    """A file that cannot be decoded into a grayscale frame (corrupt, truncated, odd dtype)."""


@dataclass(frozen=True)
class ImageInfo:
    """Header information of one frame, read without decoding pixels.

    Attributes:
        height: rows.
        width: columns.
        kind: precision class, one of ``'u8'``, ``'u16'``, ``'f'``.
    """

    height: int
    width: int
    kind: str


@dataclass(frozen=True)
class StackMember:
    """One array of a stack file (the only one for ``.npy``; one per key for ``.npz``).

    Attributes:
        key: the npz key, or ``None`` for ``.npy``.
        n_frames: slices in this array (1 for a 2-D array).
        height: rows of each slice.
        width: columns of each slice.
        kind: precision class (see :data:`KINDS`).
    """

    key: str | None
    n_frames: int
    height: int
    width: int
    kind: str


def is_accepted(path: str | Path) -> bool:
    """True if ``path`` has one of :data:`ACCEPTED_EXTENSIONS` (case-insensitive)."""
    return Path(path).suffix.lower() in ACCEPTED_EXTENSIONS


def kind_of_dtype(dtype: np.dtype, path: str | Path) -> str:
    """Precision class of a numpy dtype; raises :class:`UnreadableImageError` if unsupported."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8 or dtype == np.bool_:
        return "u8"
    if dtype.kind == "u" and dtype.itemsize == 2:
        return "u16"
    if dtype.kind == "f":
        return "f"
    raise UnreadableImageError(
        f"{path}: unsupported pixel type {dtype} (accepted: uint8, uint16, float in [0, 1])")


def to_native(arr: np.ndarray, path: str | Path) -> np.ndarray:
    """Bring a 2-D array to its precision class dtype (uint8, uint16 or clipped float32)."""
    kind = kind_of_dtype(arr.dtype, path)
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if kind == "u8":
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if kind == "u16":
        return np.ascontiguousarray(arr, dtype=np.uint16)  # also swaps big-endian data
    out = np.asarray(arr, dtype=np.float32)
    if not np.all(np.isfinite(out)):
        raise UnreadableImageError(f"{path}: float frame contains NaN or infinity")
    if out.size and (out.max() > 1.0 or out.min() < 0.0) and not _warned_float_range:
        _warned_float_range.append(path)
        logger.warning("%s: float pixels outside [0, 1] (min %.4g, max %.4g) are clipped; "
                       "float frames must already be scaled to [0, 1] (warned once)", path,
                       float(out.min()), float(out.max()))
    return np.clip(out, 0.0, 1.0)


def to_unit_float(arr: np.ndarray) -> np.ndarray:
    """Scale a native frame to float32 in [0, 1] (uint8 / 255, uint16 / 65535, float clipped)."""
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255.0)
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / np.float32(65535.0)
    return np.clip(np.asarray(arr, dtype=np.float32), 0.0, 1.0)


def _luma(rgb: np.ndarray, path: str | Path) -> np.ndarray:
    """(H, W, C>=3) colour → (H, W) gray in the same precision class."""
    gray = rgb[..., :3].astype(np.float64) @ _LUMA
    if rgb.dtype.kind == "f":
        return to_native(gray, path)
    info = np.iinfo(rgb.dtype)
    return np.clip(np.rint(gray), 0, info.max).astype(rgb.dtype)


# ----------------------------------------------------------------------------- Pillow


def _pil_kind(mode: str) -> str:
    if mode.startswith("I;16") or mode == "I":
        return "u16"
    if mode == "F":
        return "f"
    return "u8"


def _read_pil(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        img.load()
        mode = img.mode
        if mode.startswith("I;16"):
            arr = np.asarray(img)
            return np.ascontiguousarray(arr.astype(np.uint16))
        if mode == "I":  # 32-bit int: how older Pillow opens 16-bit PNGs
            arr = np.asarray(img)
            if arr.size and (arr.min() < 0 or arr.max() > 65535):
                raise UnreadableImageError(f"{path}: 32-bit integer pixels outside 0..65535")
            return arr.astype(np.uint16)
        if mode == "F":
            return to_native(np.asarray(img), path)
        if mode != "L":
            img = img.convert("L")  # RGB, RGBA, P, LA, 1, CMYK, YCbCr → luma
        return np.array(img, dtype=np.uint8)


def _probe_pil(path: Path) -> ImageInfo:
    from PIL import Image

    with Image.open(path) as img:
        width, height = img.size
        mode = img.mode
        if img.format == "PNG" and mode in ("RGB", "RGBA"):
            # Pillow decodes 16-bit colour PNGs at 8 bits per channel; say so.
            with open(path, "rb") as fh:
                head = fh.read(26)
            if len(head) == 26 and head[24] == 16:
                logger.warning("%s: 16-bit colour PNG is read at 8 bits per channel (Pillow limit); "
                               "save 16-bit data as grayscale PNG or TIFF to keep full precision", path)
    return ImageInfo(int(height), int(width), _pil_kind(mode))


# ----------------------------------------------------------------------------- TIFF


def _tiff_page_to_gray(arr: np.ndarray, axes: str, path: Path) -> np.ndarray:
    axes = axes.upper()
    if arr.ndim == 3 and "S" in axes:
        arr = np.moveaxis(arr, axes.index("S"), -1)
    arr = np.squeeze(arr) if arr.ndim > 3 else arr
    if arr.ndim == 3:
        if arr.shape[-1] >= 3:
            return _luma(arr, path)
        arr = arr[..., 0]  # gray + alpha
    if arr.ndim != 2:
        raise UnreadableImageError(f"{path}: TIFF page has shape {arr.shape}, expected a 2-D image")
    return to_native(arr, path)


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.pages:
            raise UnreadableImageError(f"{path}: TIFF file has no pages")
        page = tif.pages[0]
        return _tiff_page_to_gray(page.asarray(), page.axes, path)


def _probe_tiff(path: Path) -> ImageInfo:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        if not tif.pages:
            raise UnreadableImageError(f"{path}: TIFF file has no pages")
        page = tif.pages[0]
        if len(tif.pages) > 1:
            logger.warning("%s: multi-page TIFF, only the first page is used "
                           "(save a stack as .npy to use every page)", path)
        axes = page.axes.upper()
        shape = dict(zip(axes, page.shape))
        if "Y" not in shape or "X" not in shape:
            raise UnreadableImageError(f"{path}: TIFF page axes {page.axes!r} have no Y/X")
        return ImageInfo(int(shape["Y"]), int(shape["X"]), kind_of_dtype(page.dtype, path))


# ----------------------------------------------------------------------------- stacks


def _check_stack_shape(shape: tuple[int, ...], path: Path, key: str | None) -> tuple[int, int, int]:
    name = f"{path}[{key}]" if key is not None else str(path)
    if len(shape) == 2:
        return 1, int(shape[0]), int(shape[1])
    if len(shape) == 3:
        return int(shape[0]), int(shape[1]), int(shape[2])
    raise UnreadableImageError(f"{name}: array of shape {tuple(shape)}; expected (T, H, W) or (H, W)")


def _npy_header(fh) -> tuple[tuple[int, ...], np.dtype]:
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, _, dtype = fmt.read_array_header_2_0(fh)
    else:
        shape, _, dtype = fmt._read_array_header(fh, version)
    return tuple(shape), dtype


def probe_stack(path: str | Path) -> list[StackMember]:
    """Members of a ``.npy``/``.npz`` stack, from the array headers only.

    Args:
        path: the stack file.

    Returns:
        One :class:`StackMember` per array, in the order stored in the file.

    Raises:
        UnreadableImageError: the file is not a readable array file or an array has
            an unsupported shape or dtype.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            t, h, w = _check_stack_shape(arr.shape, path, None)
            return [StackMember(None, t, h, w, kind_of_dtype(arr.dtype, path))]
        members = []
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if not name.endswith(".npy"):
                    continue
                with zf.open(name) as fh:
                    shape, dtype = _npy_header(fh)
                key = name[: -len(".npy")]
                t, h, w = _check_stack_shape(shape, path, key)
                members.append(StackMember(key, t, h, w, kind_of_dtype(dtype, f"{path}[{key}]")))
        if not members:
            raise UnreadableImageError(f"{path}: npz file holds no arrays")
        return members
    except UnreadableImageError:
        raise
    except Exception as exc:  # corrupt zip, bad header, permission ...
        raise UnreadableImageError(f"{path}: cannot read array file ({type(exc).__name__}: {exc})") from exc


def load_stack_member(path: str | Path, key: str | None) -> np.ndarray:
    """The (T, H, W) array of one stack member (memory-mapped for ``.npy``)."""
    path = Path(path)
    try:
        if key is None:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as npz:
                arr = npz[key]
    except Exception as exc:
        raise UnreadableImageError(f"{path}: cannot read array ({type(exc).__name__}: {exc})") from exc
    return arr[None] if arr.ndim == 2 else arr


# ----------------------------------------------------------------------------- public


def _by_format(path: Path, tiff: Callable[[Path], Any], pil: Callable[[Path], Any], what: str) -> Any:
    """``tiff(path)`` for TIFF files (tifffile), else ``pil(path)``; any failure becomes an
    :class:`UnreadableImageError` naming the path."""
    try:
        return tiff(path) if path.suffix.lower() in TIFF_EXTENSIONS else pil(path)
    except UnreadableImageError:
        raise
    except Exception as exc:
        raise UnreadableImageError(f"{path}: {what} ({type(exc).__name__}: {exc})") from exc


def probe_image(path: str | Path) -> ImageInfo:
    """Size and precision of an image file, reading only its header.

    Raises:
        UnreadableImageError: the file cannot be identified as an image.
    """
    return _by_format(Path(path), _probe_tiff, _probe_pil, "not a readable image")


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to a 2-D grayscale array in its own precision.

    Args:
        path: a PNG, JPEG, BMP or TIFF file.

    Returns:
        ``(H, W)`` array: uint8 (8-bit sources), uint16 (16-bit sources) or float32
        in [0, 1] (float sources).

    Raises:
        UnreadableImageError: the file is corrupt, truncated or of an unsupported type.
    """
    return _by_format(Path(path), _read_tiff, _read_pil, "cannot decode")


def read_frame(path: str | Path, stack_index: int | None = None) -> np.ndarray:
    """One frame of an image file (``stack_index=None``) or of a stack file.

    Convenient for single look-ups; bulk readers should load a stack member once
    with :func:`load_stack_member`.

    Returns:
        ``(H, W)`` array as in :func:`read_image`.
    """
    if stack_index is None:
        return read_image(path)
    start = 0
    for member in probe_stack(path):
        if stack_index < start + member.n_frames:
            arr = load_stack_member(path, member.key)
            return to_native(np.asarray(arr[stack_index - start]), path)
        start += member.n_frames
    raise IndexError(f"{path}: stack index {stack_index} out of range ({start} frames)")
