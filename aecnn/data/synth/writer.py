"""Writing the synthetic dataset to disk in the layout of a user's data (PNG folders per
sequence plus CSV ground truth), atomically. See :mod:`aecnn.data.synth`."""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aecnn.data.synth.params import KINDS, SynthConfig
from aecnn.data.synth.render import _check_kinds, iter_sequences
from aecnn.io import atomic_write, atomic_write_text


def _atomic_write_png(path: Path, array: np.ndarray) -> None:
    from PIL import Image

    image = Image.fromarray(array)
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG", compress_level=3), fsync=False)


def _atomic_write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else [])
            writer.writeheader()
            writer.writerows(rows)

    atomic_write(path, write, fsync=False)


def _prepare_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise _os_error(NotADirectoryError, f"cannot write synthetic dataset to {path}: "
                        "it exists and is not a folder") from None
    except OSError as exc:
        raise _os_error(type(exc), f"cannot create output folder {path}: {exc.strerror or exc}",
                        exc.errno) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise _os_error(PermissionError, f"cannot write synthetic dataset to {path}: folder is not writable")


#: what write_dataset writes at the top of its folder (and removes again with overwrite=True)
_OWN = ("crops", "strips", "metadata.csv", "frames.csv", "synth_config.json")


def _clear_earlier(out: Path, overwrite: bool) -> None:
    if not out.is_dir() or not any(out.iterdir()):
        return
    names = sorted(p.name for p in out.iterdir())
    # a finished dataset has synth_config.json; an unfinished one (stopped mid-way) only synth's own names
    if not all(n in _OWN or n.startswith(".") for n in names):
        others = [n for n in names if n not in _OWN and not n.startswith(".")][:5]
        raise FileExistsError(f"{out} is not empty and holds more than a synthetic dataset (found "
                              f"{', '.join(others)}): pick a new or empty folder, so nothing of yours is replaced")
    if not overwrite:
        raise FileExistsError(f"{out} holds a synthetic dataset already: pass --overwrite to replace it "
                              "(its frames and CSVs are removed first), or pick another folder")
    (out / "synth_config.json").unlink(missing_ok=True)  # first: the folder reads as unfinished until done
    for name in _OWN:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _os_error(cls: type[OSError], message: str, errno: int | None = None) -> OSError:
    """``cls(message)``: its ``str`` is just the message (which names the path); ``errno`` kept."""
    err = cls(message)
    if errno is not None:
        err.errno = errno
    return err


def write_dataset(out_dir: str | os.PathLike[str], cfg: SynthConfig | None = None,
                  kinds: Iterable[str] = ("strip", "crop"), progress: bool = True, overwrite: bool = False) -> Path:
    """Write the synthetic dataset in the same layout as a user's data and return ``out_dir``.

    Layout::

        out_dir/strips/seq_000/frame_000000.png ...   (one folder per sequence = experiment)
        out_dir/crops/seq_000/frame_000000.png ...
        out_dir/metadata.csv   one row per sequence (viscosity, volume, ...)
        out_dir/frames.csv     one row per frame (sequence, frame, x_px, velocity_px, ...)
        out_dir/synth_config.json   the SynthConfig (``SynthConfig(**json.load(f))`` rebuilds it)

    Every file is written to a temporary name and moved into place with ``os.replace``;
    ``synth_config.json`` comes last, so a folder without it is an unfinished dataset.

    ``out_dir`` must be empty or new. A folder that holds an earlier synthetic dataset (it has
    ``synth_config.json``) is replaced with ``overwrite=True``: its ``crops/``, ``strips/`` and CSV
    files are removed first, so no frame or label of the earlier run mixes into the new one. A
    non-empty folder without that file is never written into (it may hold the user's own data).

    Raises:
        FileExistsError: ``out_dir`` is not empty (see above).
        OSError: e.g. ``PermissionError``, naming the path, when ``out_dir`` cannot be written.
    """
    cfg = cfg or SynthConfig()
    kinds = _check_kinds(kinds)
    out = Path(out_dir).expanduser()
    _clear_earlier(out, overwrite)
    _prepare_dir(out)
    sub = {k: out / KINDS[k] for k in kinds}
    for d in sub.values():
        _prepare_dir(d)

    from tqdm.auto import tqdm

    total = cfg.n_sequences * cfg.frames_per_sequence * len(kinds)
    seq_rows: list[dict[str, Any]] = []
    frame_rows: list[dict[str, Any]] = []
    written: set[str] = set()
    with tqdm(total=total, desc="synth", unit="frame", disable=not progress, leave=False) as bar:
        for seq in iter_sequences(cfg, kinds=kinds):
            written.add(seq.name)
            rows = seq.frame_rows()
            for kind in kinds:
                folder = sub[kind] / seq.name
                _prepare_dir(folder)
                arrays = seq.strips if kind == "strip" else seq.crops
                for t, arr in enumerate(arrays):
                    fname = f"frame_{t:06d}.png"
                    _atomic_write_png(folder / fname, arr)
                    rows[t][f"{kind}_file"] = f"{KINDS[kind]}/{seq.name}/{fname}"
                    bar.update(1)
            seq_row = seq.params.row()
            seq_row["n_frames"] = len(seq)
            seq_row["seed"] = cfg.seed
            seq_rows.append(seq_row)
            frame_rows.extend(rows)
    _atomic_write_csv(out / "metadata.csv", seq_rows)
    _atomic_write_csv(out / "frames.csv", frame_rows)
    # the generator settings, so the dataset can be regenerated (SynthConfig(**json.load(...)))
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}
    atomic_write_text(out / "synth_config.json", json.dumps(config, indent=1) + "\n", fsync=False)
    return out
