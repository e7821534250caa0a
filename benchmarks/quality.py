"""Quality benchmark (PCA, V1, seed bottleneck, aecnn presets): same code as ``aecnn eval-quality``.

    PYTHONPATH=$PWD python3 benchmarks/quality.py --device cuda --out OUT --real-dir DIR
    python benchmarks/quality.py --quick --out /tmp/q     # CPU smoke run
"""
from __future__ import annotations

import argparse
import sys

from aecnn.cli import eval_quality


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/quality.py", description=eval_quality.__doc__.splitlines()[0])
    eval_quality.add_arguments(parser)
    return eval_quality.run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
