"""``aecnn track DATA --out track.csv``: where the drop is in every frame, for the sequence stage.

Writes one row per frame, in sequence and frame order, with the columns ``sequence, frame, path,
drop_x, drop_y, dark_fraction``: the centroid of the drop's dark pixels (``aecnn.data.track``) in
pixels of the frame as stored, and the share of dark pixels. The sequence names and frame numbers
are those ``aecnn embed`` gives the latents, so the file feeds the drop's displacement straight into
``aecnn fit-sequence LATENTS TARGETS --frame-features track.csv --frame-columns drop_x drop_y``.

A frame that cannot be read is reported and left out (``--strict`` stops instead); a frame without a
dark pixel gets ``nan`` (``fit-sequence`` refuses those rows, naming them). The file is written
atomically: an interrupted run leaves no partial file and keeps an older one.
"""
from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

COLUMNS = ("sequence", "frame", "path", "drop_x", "drop_y", "dark_fraction")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", metavar="DATA", help="folder of frames (one sub-folder per sequence) or a stack file")
    p.add_argument("--out", "-o", required=True, help="CSV file to write")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="a pixel is dark below this fraction of the full scale (default 0.5, i.e. 128 of 255)")
    p.add_argument("--row-fraction", type=float, default=0.5,
                   help="leave out rows dark across more than this share of the width: the baseline and the "
                   "substrate (default 0.5)")
    p.add_argument("--strict", action="store_true", help="stop at the first unreadable frame instead of skipping it")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from aecnn.cli.errors import CLIError
    from aecnn.data.imageio import to_unit_float
    from aecnn.data.index import index_frames
    from aecnn.data.track import drop_centre
    from aecnn.inference.frame_sources import FileFrames
    from aecnn.inference.reconstruct import check_writable_dir
    from aecnn.io import atomic_write_text

    if not 0.0 < args.threshold < 1.0:
        raise CLIError(f"--threshold must be between 0 and 1 (a fraction of the full scale), got {args.threshold}")
    if not 0.0 < args.row_fraction <= 1.0:
        raise CLIError(f"--row-fraction must be in (0, 1], got {args.row_fraction}")
    out = Path(args.out).expanduser()
    if out.is_dir():  # found before the frames are tracked, not after
        raise CLIError(f"--out {out} is a folder: give a CSV file name, e.g. {out / 'track.csv'}")
    check_writable_dir(out.parent)
    if not Path(args.data).exists():
        raise FileNotFoundError(f"data folder {args.data} does not exist")
    index = index_frames(args.data, strict=args.strict)
    for path, reason in index.skipped:
        print(f"aecnn track: skipping {path}: {reason}", file=sys.stderr)
    frames = FileFrames(index, geometry=None)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    unreadable, no_drop = [], []
    for i in tqdm(range(len(frames)), desc="track", unit="frame", disable=args.no_progress, leave=False):
        seq, frame_idx, path, stack_index = frames.meta(i)
        where = path if stack_index < 0 else f"{path} [{stack_index}]"
        try:
            img = to_unit_float(frames.read_native(i))
        except (ValueError, OSError, IndexError) as exc:
            if args.strict:
                raise CLIError(f"cannot read {where}: {exc}") from None
            unreadable.append(where)
            reason = str(exc).removeprefix(f"{path}: ")  # the reader's message often starts with the path
            print(f"aecnn track: skipping {where}: {reason}", file=sys.stderr)
            continue
        x, y, dark = drop_centre(img, args.threshold, args.row_fraction)
        if math.isnan(x):
            no_drop.append(where)
        writer.writerow((seq, frame_idx, where, f"{x:.3f}", f"{y:.3f}", f"{dark:.6f}"))
    n_rows = len(frames) - len(unreadable)
    if n_rows == 0:
        raise CLIError(f"no readable frame under {args.data}: nothing written")
    atomic_write_text(out, buf.getvalue())
    msg = f"tracked {n_rows} frames in {len(index.sequences)} sequence(s) -> {out}"
    if unreadable:
        msg += f"; {len(unreadable)} unreadable frame(s) left out"
    if no_drop:
        msg += f"; {len(no_drop)} frame(s) without a dark pixel (drop_x/drop_y = nan; first: {no_drop[0]})"
    print(msg)
    return 0
