"""Discovering frames and sequences in a folder tree.

Images are grouped into sequences by their parent folder (the folder's path relative
to the root, POSIX style, is the sequence name; images directly in the root form a
sequence named after the root folder) and ordered by file name in natural order
(``frame_2`` before ``frame_10``). A ``.npy``/``.npz`` stack file is its own sequence,
named by its path relative to the root (extension kept, so it can never collide with
a folder); each slice of each array is a frame, arrays taken in the order stored.

Indexing only lists files and reads stack headers; image pixels are decoded later
(see :mod:`aecnn.data.cache`), which is where corrupt images are found.
"""
from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from aecnn.data import imageio

logger = logging.getLogger(__name__)

#: File that marks a frame-cache folder; such folders are never indexed.
CACHE_MARKER = ".aecnn-frame-cache"


@dataclass(frozen=True)
class FrameRef:
    """One frame on disk.

    Attributes:
        path: the image or stack file.
        seq: sequence name.
        frame_idx: position of the frame in its sequence (0-based, natural file order;
            kept when other frames of the sequence are skipped, so gaps stay visible).
        stack_index: slice of a stack file (counted over all arrays of an npz), or
            ``None`` for an image file.
    """

    path: Path
    seq: str
    frame_idx: int
    stack_index: int | None = None


@dataclass(frozen=True)
class FrameMeta:
    """Where a cached or in-memory frame came from.

    Attributes:
        seq: sequence name.
        frame_idx: position of the frame in its sequence.
        path: source file, or ``None`` for in-memory frames.
        stack_index: slice of a stack file, or ``None``.
    """

    seq: str
    frame_idx: int
    path: Path | None = None
    stack_index: int | None = None


@dataclass
class FrameIndex:
    """All frames found under a root folder.

    Attributes:
        root: the folder (or stack file) that was indexed.
        frames: frames, sequence by sequence, each in frame order.
        sequences: sequence names in natural order.
        skipped: ``(path, reason)`` of files that could not be indexed.
        stacks: header information of each stack file, by path.
    """

    root: Path
    frames: list[FrameRef]
    sequences: list[str]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    stacks: dict[Path, list[imageio.StackMember]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.frames)

    def frames_of(self, seq: str) -> list[FrameRef]:
        """Frames of one sequence, in order."""
        return [f for f in self.frames if f.seq == seq]


def natural_key(name: str) -> tuple:
    """Sort key that orders embedded numbers numerically: ``f2 < f10``, case-insensitive."""
    parts = re.split(r"(\d+)", name)
    return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)) + (name,)


def _accepted_list() -> str:
    return ", ".join(imageio.ACCEPTED_EXTENSIONS)


def _walk(root: Path, exclude: set[Path]) -> Iterable[tuple[Path, list[str]]]:
    """Yield (folder, file names) under root, following links once, skipping hidden entries."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=_walk_error):
        real = os.path.realpath(dirpath)
        if real in seen:  # symlink loop or the same folder twice
            dirnames[:] = []
            continue
        seen.add(real)
        here = Path(dirpath)
        if (here / CACHE_MARKER).exists():
            logger.info("not indexing frame-cache folder %s", here)
            dirnames[:] = []
            continue
        dirnames[:] = sorted((d for d in dirnames if not d.startswith(".")
                              and Path(os.path.realpath(here / d)) not in exclude), key=natural_key)
        yield here, [f for f in filenames if not f.startswith(".")]


def _walk_error(exc: OSError) -> None:
    logger.warning("cannot list %s: %s", getattr(exc, "filename", "?"), exc)


def index_frames(root: str | os.PathLike, strict: bool = False,
                 exclude: Iterable[str | os.PathLike] = ()) -> FrameIndex:
    """Find every frame under ``root``.

    Hidden files and folders (name starting with ``.``, e.g. macOS ``._frame.png``)
    and files of other types are ignored.

    Args:
        root: a folder tree of images and/or stack files, or a single stack file.
        strict: raise on a stack file whose header cannot be read instead of skipping it.
        exclude: folders not to descend into (e.g. a cache folder inside ``root``).

    Returns:
        The :class:`FrameIndex`.

    Raises:
        FileNotFoundError: ``root`` does not exist.
        ValueError: ``root`` is empty or holds no accepted file; in strict mode, an
            unreadable stack file.
    """
    root = Path(root).expanduser().absolute()
    if not root.exists():
        raise FileNotFoundError(f"data folder {root} does not exist")
    skipped: list[tuple[Path, str]] = []
    frames: list[FrameRef] = []
    stacks: dict[Path, list[imageio.StackMember]] = {}

    def add_stack(path: Path, seq: str) -> None:
        try:
            members = imageio.probe_stack(path)
        except imageio.UnreadableImageError as exc:
            reason = str(exc).removeprefix(f"{path}: ")
            if strict:
                raise ValueError(f"unreadable stack file {path}: {reason}") from exc
            logger.warning("skipping unreadable stack file %s: %s", path, reason)
            skipped.append((path, reason))
            return
        stacks[path] = members
        n = sum(m.n_frames for m in members)
        frames.extend(FrameRef(path, seq, i, i) for i in range(n))

    if root.is_file():
        if root.suffix.lower() not in imageio.STACK_EXTENSIONS:
            raise ValueError(f"{root} is a file; give a folder of images or a stack file "
                             f"({', '.join(imageio.STACK_EXTENSIONS)})")
        add_stack(root, root.name)
        return _finish(root, frames, skipped, stacks)

    excluded = {Path(os.path.realpath(Path(p).expanduser())) for p in exclude}
    root_name = root.resolve().name or "."
    folders = list(_walk(root, excluded))
    if not any(files for _, files in folders):
        raise ValueError(f"data folder {root} is empty (no files; accepted extensions: {_accepted_list()})")
    rel_names = {d.relative_to(root).as_posix() for d, _ in folders}
    ignored: Counter[str] = Counter()
    for folder, files in folders:
        rel = folder.relative_to(root).as_posix()
        seq = rel if rel != "." else (root_name if root_name not in rel_names else ".")
        images = []
        for name in sorted(files, key=natural_key):
            ext = os.path.splitext(name)[1].lower()
            if ext in imageio.IMAGE_EXTENSIONS:
                images.append(folder / name)
            elif ext in imageio.STACK_EXTENSIONS:
                add_stack(folder / name, (folder / name).relative_to(root).as_posix())
            else:
                ignored[ext or "(no extension)"] += 1
        frames.extend(FrameRef(p, seq, i, None) for i, p in enumerate(images))
    if not frames and not skipped:
        found = ", ".join(f"{ext} ({n})" for ext, n in ignored.most_common(8)) or "nothing"
        raise ValueError(f"no images found under {root} (found: {found}); "
                         f"accepted extensions: {_accepted_list()}")
    if ignored:
        logger.info("ignored %d files of other types under %s: %s", sum(ignored.values()), root,
                    ", ".join(f"{ext} ({n})" for ext, n in ignored.most_common(8)))
    return _finish(root, frames, skipped, stacks)


def _finish(root: Path, frames: list[FrameRef], skipped: list[tuple[Path, str]],
            stacks: dict[Path, list[imageio.StackMember]]) -> FrameIndex:
    if not frames:
        raise ValueError(f"no readable frames under {root}: all {len(skipped)} stack files are "
                         f"unreadable (first: {skipped[0][0]}: {skipped[0][1]})")
    sequences = sorted({f.seq for f in frames}, key=natural_key)
    order = {s: i for i, s in enumerate(sequences)}
    frames.sort(key=lambda f: (order[f.seq], f.frame_idx))
    logger.info("indexed %d frames in %d sequences under %s", len(frames), len(sequences), root)
    return FrameIndex(root=root, frames=frames, sequences=sequences, skipped=skipped, stacks=stacks)
