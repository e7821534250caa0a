"""Optional positional aliases of options: ``aecnn info CKPT`` as well as ``aecnn info --checkpoint CKPT``.

Kept apart from ``common`` (which imports the model package) because ``aecnn.cli.main`` uses it for
every command.
"""
from __future__ import annotations

import argparse


def add_positional_alias(p: argparse.ArgumentParser, dest: str, flag: str, metavar: str, help: str) -> None:
    """An optional positional ``METAVAR`` beside the option ``flag`` (``args.<dest>``), so that both
    ``aecnn info CKPT`` and ``aecnn info --checkpoint CKPT`` work; :func:`merge_positional_aliases`
    (called by ``aecnn.cli.main`` before the command runs) moves it into ``args.<dest>``."""
    p.add_argument(f"{dest}_positional", nargs="?", metavar=metavar, default=None, help=f"{help} (or {flag})")
    p.set_defaults(_positional_aliases=[*(p.get_default("_positional_aliases") or []), (dest, flag, metavar)])


def merge_positional_aliases(args: argparse.Namespace) -> None:
    """``args.<dest>`` from the positional of :func:`add_positional_alias` when it was given; both given
    with different values is a :class:`~aecnn.cli.errors.CLIError`."""
    from aecnn.cli.errors import CLIError

    for dest, flag, metavar in getattr(args, "_positional_aliases", None) or []:
        value = getattr(args, f"{dest}_positional", None)
        delattr(args, f"{dest}_positional")
        if value is None:
            continue
        if getattr(args, dest, None) not in (None, value):
            raise CLIError(f"{metavar} given twice: {value!r} and {flag} {getattr(args, dest)!r}")
        setattr(args, dest, value)
