"""Frame geometry: how a decoded frame is padded, cropped or resized to the model's input shape."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np
import torch

RESIZE_MODES: tuple[str, ...] = ("resize", "pad", "crop", "pad_crop")
MIN_SIZE = 32


def _check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")  # noqa: TRY004
    if value < MIN_SIZE:
        raise ValueError(f"{name} must be at least {MIN_SIZE} pixels, got {value}")
    return int(value)


@dataclass(frozen=True)
class Geometry:
    """How decoded frames are brought to the model's input shape.

    Exactly one of ``input_size`` (every frame becomes ``(H, W)``) or ``height`` (every
    frame becomes ``H`` rows, width kept; batch with :class:`~aecnn.data.sampler.WidthBucketBatchSampler`).

    ``resize_mode``: ``'resize'`` bilinear with antialiasing (aspect not kept; with
    ``height`` only the height is scaled); ``'pad'`` pad with edge values, centred (a
    frame larger than the target is an error); ``'crop'`` centre-crop (a smaller frame
    is an error); ``'pad_crop'`` pad where smaller, centre-crop where larger (drops pixels).

    Attributes:
        input_size: ``(H, W)`` or ``None``.
        height: ``H`` or ``None``.
        resize_mode: one of :data:`RESIZE_MODES`.
    """

    input_size: tuple[int, int] | None = None
    height: int | None = None
    resize_mode: str = "resize"

    def __post_init__(self) -> None:
        if (self.input_size is None) == (self.height is None):
            raise ValueError("give exactly one of input_size=(H, W) or height=H "
                             f"(got input_size={self.input_size!r}, height={self.height!r})")
        if self.input_size is not None:
            size = tuple(self.input_size)
            if len(size) != 2:
                raise ValueError(f"input_size must be (H, W), got {self.input_size!r}")
            object.__setattr__(self, "input_size", (_check_size("input_size height", size[0]),
                                                    _check_size("input_size width", size[1])))
        else:
            object.__setattr__(self, "height", _check_size("height", self.height))
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize_mode must be one of {', '.join(RESIZE_MODES)}; "
                             f"got {self.resize_mode!r}")

    @property
    def keeps_width(self) -> bool:
        """True for height-only geometry (frames keep their width)."""
        return self.input_size is None

    def output_shape(self, height: int, width: int) -> tuple[int, int]:
        """Shape a ``height x width`` frame gets."""
        if self.input_size is not None:
            return self.input_size
        return int(self.height), int(width)  # type: ignore[arg-type]

    def distortion(self, height: int, width: int) -> str | None:
        """Why resizing a ``height x width`` frame to ``input_size`` distorts it (aspect changed by
        more than 1.5x), or ``None``; names the likely cause when ``input_size`` is its transpose."""
        if self.input_size is None or self.resize_mode != "resize":
            return None
        th, tw = self.input_size
        change = (width / height) / (tw / th)
        if max(change, 1 / change) <= 1.5:
            return None
        msg = (f"{height}x{width} frames (H x W) are resized to {th}x{tw}, which changes their aspect "
               f"{max(change, 1 / change):.1f}x")
        if height != width and abs(th / tw - width / height) <= 0.1 * (width / height):
            msg += f"; sizes are H W: did you mean --input-size {tw} {th}?"
        else:
            msg += "; give the frames' own shape (--input-size H W, or --height H for strips of several widths)"
        return msg

    def file_distortion(self, path: str | os.PathLike) -> str | None:
        """:meth:`distortion` of the image file at ``path``, from its header; ``None`` also when the
        file cannot be read (the dataset reports that itself)."""
        from aecnn.data import imageio

        try:
            info = imageio.probe_image(path)
        except imageio.UnreadableImageError:
            return None
        return self.distortion(info.height, info.width)

    def problem(self, height: int, width: int) -> str | None:
        """Why a ``height x width`` frame cannot be brought to shape, or ``None`` if it can."""
        th, tw = self.output_shape(height, width)
        if self.resize_mode == "pad" and (height > th or width > tw):
            return f"{height}x{width} is larger than {th}x{tw} and resize_mode='pad' never crops"
        if self.resize_mode == "crop" and (height < th or width < tw):
            return f"{height}x{width} is smaller than {th}x{tw} and resize_mode='crop' never pads"
        return None

    def to_dict(self) -> dict:
        """JSON-ready form (``input_size`` as a list)."""
        d = asdict(self)
        d["input_size"] = list(self.input_size) if self.input_size is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Geometry:
        """Inverse of :meth:`to_dict`."""
        size = d.get("input_size")
        return cls(tuple(size) if size is not None else None, d.get("height"), d.get("resize_mode", "resize"))

    @property
    def tag(self) -> str:
        """Short name for folders, e.g. ``152x1280-resize`` or ``h152-pad_crop``."""
        size = f"{self.input_size[0]}x{self.input_size[1]}" if self.input_size else f"h{self.height}"
        return f"{size}-{self.resize_mode}"


def _pad_crop_axis(img: np.ndarray, axis: int, target: int) -> np.ndarray:
    n = img.shape[axis]
    if n < target:
        before = (target - n) // 2
        pad = [(0, 0), (0, 0)]
        pad[axis] = (before, target - n - before)
        return np.pad(img, pad, mode="edge")
    if n > target:
        start = (n - target) // 2
        return img[start:start + target] if axis == 0 else img[:, start:start + target]
    return img


def apply_geometry(img: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Bring a 2-D frame to ``geometry``'s shape, keeping its dtype.

    Args:
        img: ``(H, W)`` uint8, uint16 or float array.
        geometry: the target geometry.

    Returns:
        ``geometry.output_shape(H, W)`` array of ``img.dtype`` (resized integer frames
        are rounded back).

    Raises:
        ValueError: the frame does not fit and the mode neither pads nor crops as needed.
    """
    h, w = img.shape
    th, tw = geometry.output_shape(h, w)
    if (h, w) == (th, tw):
        return img
    if geometry.resize_mode == "resize":
        x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None, None]
        y = torch.nn.functional.interpolate(x, size=(th, tw), mode="bilinear", align_corners=False,
                                            antialias=True)[0, 0].numpy()
        if img.dtype.kind in "ui":
            return np.clip(np.rint(y), 0, np.iinfo(img.dtype).max).astype(img.dtype)
        return np.clip(y, 0.0, 1.0).astype(img.dtype)
    reason = geometry.problem(h, w)
    if reason is not None:
        raise ValueError(reason)
    return np.ascontiguousarray(_pad_crop_axis(_pad_crop_axis(img, 0, th), 1, tw))
