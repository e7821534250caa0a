"""The pre-registered recipe test (planned in the sixteenth session; QUALITY.md): small, spatial 512,
391,168 crops, lr 1e-3, beta2 0.99, seeds 81-84 with the benchmark's own loop (``--recipe bench``) and
with ``aecnn train``'s optimiser and schedule (``--recipe train``).

The rule, fixed before the trainings ran: the benchmark's default recipe becomes ``train`` if, over the
complete pairs (at least three), the ``train`` arm has no more trainings with a loss spike (>= 10x) than the
``bench`` arm **and** its mean validation PSNR is not lower by more than 0.1 dB. Otherwise it stays
``bench``; a ``train`` arm more than 0.5 dB lower is a finding against ``aecnn train``'s defaults, for a
test of its own. The pairing, spike count and report are ``beta2_pairs.py``'s.

    PYTHONPATH=$PWD python3 benchmarks/recipe_pairs.py <the calls' results folder> --out recipe_pairs.md \\
        --figure recipe_loss_curves.png
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import beta2_pairs as pairs

RECIPE = pairs.PairedTest("recipe", ("bench", "train"), (81, 82, 83, 84), lambda cfg: cfg.get("recipe", "bench"),
                          fewer_spikes=False, also=lambda cfg: cfg.get("beta2", 0.999) == 0.99)


def main(argv: list[str] | None = None) -> int:
    return pairs.main(argv, RECIPE, __doc__)


if __name__ == "__main__":
    sys.exit(main())
