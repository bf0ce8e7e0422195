"""Do the intervals and compare's test mean what they say? Simulated against known truth.

Timings are simulated the way real runs are clustered: each worker process
has its own level (a log-normal offset of sd ``spread``), and its values
scatter around it (log-normal, sd ``noise``). The harness's own functions
(``stats.describe``, ``stats.ratio_ci``, ``stats.compare_samples``) are
applied to each simulated run exactly as the summary and compare apply them,
and the fraction of intervals that contain the true value, and of A/A
comparisons flagged as a change, is counted.

``python -m harness.analysis.coverage`` prints the table docs/methodology.md quotes.
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pandas as pd

from harness.analysis.stats import compare_samples, describe, ratio_ci

SPREADS = (0.0, 0.02, 0.05, 0.10)  # sd of log process offsets: processes 0-10% apart
NOISES = (0.01, 0.03)  # sd of log values within a process
FACTOR = 1.10  # compare's default


def simulate(
    rng: np.random.Generator, processes: int, per_process: int, spread: float, noise: float, level: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Values of one run's worker processes and the process of each; the typical median is ``level``."""
    offsets = rng.normal(0.0, spread, processes)
    logs = np.log(level) + np.repeat(offsets, per_process) + rng.normal(0.0, noise, processes * per_process)
    return np.exp(logs), np.repeat(np.arange(processes), per_process)


def median_coverage(rng, trials: int, **shape) -> float:
    """Fraction of 95% CIs of the median that contain the true typical median (1.0)."""
    hits = 0
    for _ in range(trials):
        d = describe(*simulate(rng, **shape))
        hits += d["ci_low"] <= 1.0 <= d["ci_high"]
    return hits / trials


def ratio_coverage(rng, trials: int, ratio: float = 1.5, **shape) -> float:
    """Fraction of 95% CIs of a ratio of medians (two strategies' workers) that contain the true ratio."""
    hits = 0
    for _ in range(trials):
        num, num_slots = simulate(rng, level=ratio, **shape)
        den, den_slots = simulate(rng, **shape)
        _, low, high = ratio_ci(num, den, num_slots=num_slots, den_slots=den_slots)
        hits += low <= ratio <= high
    return hits / trials


def flagged(rng, trials: int, change: float = 1.0, **shape) -> float:
    """Fraction of comparisons of two runs, the new one ``change`` times the base, that compare flags."""
    hits = 0
    for _ in range(trials):
        base, base_slots = simulate(rng, **shape)
        new, new_slots = simulate(rng, level=change, **shape)
        verdict = compare_samples(base, new, FACTOR, base_slots, new_slots)["change"]
        hits += verdict in ("slower", "faster")
    return hits / trials


def table(
    trials: int = 2000, processes: int = 3, per_process: int = 5, seed: int = 0, spreads=SPREADS, noises=NOISES
) -> pd.DataFrame:
    """Coverage, A/A false-positive rate and power to flag a 30% change, per spread and noise."""
    rows = []
    for spread, noise in itertools.product(spreads, noises):
        shape = {"processes": processes, "per_process": per_process, "spread": spread, "noise": noise}
        rng = np.random.default_rng([seed, int(spread * 1000), int(noise * 1000), processes])
        rows.append(
            {
                **shape,
                "trials": trials,
                "median_ci_coverage": median_coverage(rng, trials, **shape),
                "ratio_ci_coverage": ratio_coverage(rng, trials, **shape),
                "aa_flagged": flagged(rng, trials, **shape),
                "flagged_30pct_slower": flagged(rng, trials, change=1.3, **shape),
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    processes = int(argv[0]) if argv else 3
    t = table(processes=processes)
    print("| " + " | ".join(t.columns) + " |")
    print("|" + " --- |" * len(t.columns))
    for row in t.itertuples(index=False):
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
