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
import math
import sys

import numpy as np
import pandas as pd

from harness.analysis.pairs import alternated, compare_pairs, paired_ratio
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


def simulate_pairs(
    rng: np.random.Generator,
    pairs: int,
    per_process: int,
    spread: float,
    noise: float,
    drift: float,
    ratio: float = 1.0,
    pair_drift: float = 0.01,
    correlation: float = 0.8,
    run_sd: float = 0.05,
) -> tuple[list, list]:
    """One paired run's single and partner processes, pair by pair (each a list of value arrays).

    The machine drifts: its log pace follows an AR(1) walk over the pairs (sd ``drift``, ``correlation``
    from one pair to the next: a slow or fast minute spans several), with a shift of the whole run (sd
    ``run_sd``: runs differ, not only processes); the two processes of a pair, measured together, share
    the walk but for ``pair_drift`` (what it moves in the seconds between them, or what two cores do not
    share). Every process has its own level (sd ``spread``: memory layout), its values scatter (``noise``).
    """
    walk = np.empty(pairs)
    walk[0] = rng.normal(0.0, drift)
    for j in range(1, pairs):
        walk[j] = correlation * walk[j - 1] + rng.normal(0.0, drift * math.sqrt(1 - correlation**2))
    walk += rng.normal(0.0, run_sd)
    sides = ([], [])
    for j in range(pairs):
        for side, level in enumerate((0.0, math.log(ratio))):
            process = level + walk[j] + rng.normal(0.0, pair_drift) + rng.normal(0.0, spread)
            sides[side].append(np.exp(process + rng.normal(0.0, noise, per_process)))
    return sides


def _diffs(single: list, partner: list) -> np.ndarray:
    return np.array([math.log(np.median(b) / np.median(a)) for a, b in zip(single, partner)])


def paired_coverage(rng, trials: int, ratio: float = 1.5, **shape) -> dict:
    """Of ``trials`` paired runs: the fraction of paired 95% CIs that contain the true ratio, their median
    half-width, and the same two of the unpaired (Welch) interval on the same processes."""
    hits = unpaired_hits = 0
    halves, unpaired_halves = [], []
    for _ in range(trials):
        single, partner = simulate_pairs(rng, ratio=ratio, **shape)
        _, low, high, _ = paired_ratio(_diffs(single, partner))
        hits += low <= ratio <= high
        halves.append(math.sqrt(high / low) - 1)
        slots = [np.repeat(np.arange(len(side)), len(side[0])) for side in (single, partner)]
        _, ulow, uhigh = ratio_ci(
            np.concatenate(partner), np.concatenate(single), num_slots=slots[1], den_slots=slots[0]
        )
        unpaired_hits += ulow <= ratio <= uhigh
        unpaired_halves.append(math.sqrt(uhigh / ulow) - 1)
    return {
        "paired_coverage": hits / trials,
        "paired_half_width": float(np.median(halves)),
        "unpaired_coverage": unpaired_hits / trials,
        "unpaired_half_width": float(np.median(unpaired_halves)),
    }


def paired_flagged(rng, trials: int, change: float = 1.0, factor: float = 1.05, **shape) -> float:
    """Fraction of comparisons of two paired runs (the new one's ratio ``change`` times the base's) that
    ``pairs.compare_pairs`` flags as moved beyond ``factor``: at change 1, the A/A rate."""
    hits = 0
    for _ in range(trials):
        base = _diffs(*simulate_pairs(rng, ratio=1.5, **shape))
        new = _diffs(*simulate_pairs(rng, ratio=1.5 * change, **shape))
        hits += compare_pairs(base, new, factor)["verdict"] in ("larger", "smaller")
    return hits / trials


def simulate_alternated(
    rng: np.random.Generator,
    processes: int,
    per_process: int,
    spread: float,
    noise: float,
    drift: float,
    ratio: float = 1.0,
    second: float = 0.03,
    correlation: float = 0.8,
) -> pd.DataFrame:
    """One run's workers that each timed a phase in turn with single's (``run.alternate``), as rows of
    measurements.csv (strategy, slot, value, single_value).

    Each process has its own level for each side (sd ``spread``: a memory layout helps one build more
    than the other, so the process's ratio is off by sd ``spread`` × √2); within a process the machine's
    pace follows an AR(1) walk over the timings (sd ``drift``, ``correlation`` from one timing to the
    next), every timing scatters (``noise``), and the second of two timings in a row is ``second``
    faster (a warmer cache: ABBA's order puts each side second in every other pair).
    """
    rows = []
    for slot in range(processes):
        sides = rng.normal(0.0, spread, 2) + np.array([math.log(ratio), 0.0])  # partner, single
        pace, values = rng.normal(0.0, drift), {0: [], 1: []}
        for j in range(per_process):
            for position, side in enumerate((0, 1) if j % 2 == 0 else (1, 0)):
                pace = correlation * pace + rng.normal(0.0, drift * math.sqrt(1 - correlation**2))
                log = sides[side] + pace + rng.normal(0.0, noise) - second * position
                values[side].append(math.exp(log))
        rows += [
            {"strategy": "per_param", "slot": slot, "value": v, "single_value": b} for v, b in zip(values[0], values[1])
        ]
    return pd.DataFrame(rows)


def alternated_coverage(rng, trials: int, ratio: float = 4.0, **shape) -> dict:
    """Of ``trials`` runs: the fraction of alternated ratios' 95% CIs (``pairs.alternated`` over the
    processes, a t interval) that contain the true ratio, and their median CI factor (×/÷)."""
    hits, factors = 0, []
    for _ in range(trials):
        _, low, high, _ = paired_ratio(alternated(simulate_alternated(rng, ratio=ratio, **shape))["per_param"])
        hits += low <= ratio <= high
        factors.append(math.sqrt(high / low))
    return {"alternated_coverage": hits / trials, "ci_factor": float(np.median(factors))}


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


PAIRED_SHAPES = ((0.0, 0.0), (0.03, 0.0), (0.03, 0.10), (0.08, 0.20))  # (spread, drift)


def paired_table(trials: int = 2000, pairs: int = 6, seed: int = 0, shapes=PAIRED_SHAPES) -> pd.DataFrame:
    """Paired and unpaired coverage and half-widths, compare's A/A rate and its power at 30%, per process
    spread and machine drift (noise 8% within a process, 8 values a process: issue 34's noisy run)."""
    rows = []
    for spread, drift in shapes:
        shape = {"pairs": pairs, "per_process": 8, "spread": spread, "noise": 0.08, "drift": drift}
        rng = np.random.default_rng([seed, int(spread * 1000), int(drift * 1000), pairs])
        rows.append(
            {
                **shape,
                "trials": trials,
                **paired_coverage(rng, trials, **shape),
                "aa_flagged": paired_flagged(rng, trials, **shape),
                "flagged_30pct": paired_flagged(rng, trials, change=1.3, **shape),
            }
        )
    return pd.DataFrame(rows)


ALTERNATED_SHAPES = ((0.0, 0.0), (0.02, 0.10), (0.05, 0.10), (0.05, 0.25))  # (spread, drift)


def alternated_table(trials: int = 2000, processes: int = 6, seed: int = 0, shapes=ALTERNATED_SHAPES) -> pd.DataFrame:
    """Coverage and CI factor of alternated ratios, per process spread and drift (8 pairs a process,
    noise 8%, the second timing of two 3% faster)."""
    rows = []
    for spread, drift in shapes:
        shape = {"processes": processes, "per_process": 8, "spread": spread, "noise": 0.08, "drift": drift}
        rng = np.random.default_rng([seed, int(spread * 1000), int(drift * 1000), processes, 1])
        rows.append({**shape, "trials": trials, **alternated_coverage(rng, trials, **shape)})
    return pd.DataFrame(rows)


def _markdown(t: pd.DataFrame) -> None:
    print("| " + " | ".join(t.columns) + " |")
    print("|" + " --- |" * len(t.columns))
    for row in t.itertuples(index=False):
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")


def main(argv: list[str] | None = None) -> int:
    """``[PROCESSES]``: the unpaired table; ``pairs [PAIRS]``: the paired one; ``alternated [PROCESSES]``:
    the in-process one."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "alternated":
        _markdown(alternated_table(processes=int(argv[1]) if len(argv) > 1 else 6))
        return 0
    if argv and argv[0] == "pairs":
        _markdown(paired_table(pairs=int(argv[1]) if len(argv) > 1 else 6))
        return 0
    _markdown(table(processes=int(argv[0]) if argv else 3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
