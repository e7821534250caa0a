"""Small text helpers for messages."""
from __future__ import annotations


def plural(n: int, noun: str) -> str:
    """``'1 sequence'``, ``'2 sequences'``: ``n`` and ``noun`` with an ``s`` unless ``n`` is 1."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
