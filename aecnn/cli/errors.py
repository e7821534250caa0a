"""The one exception type the CLI turns into a one-line message and exit status 2."""
from __future__ import annotations


class CLIError(Exception):
    """A user-facing error: the message says what went wrong and where."""
