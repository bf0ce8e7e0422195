"""Where the variance is (issue 34, item 3): the two levels recovered from simulated processes, and Kalibera
and Jones's repeats a process against a brute-force search of the same cost model."""

import math

import numpy as np
import pandas as pd
import pytest

from harness.analysis.allocation import allocation, components, optimal_repeats


def simulated(rng, processes, repeats, within, between):
    return [rng.normal(0, between) + rng.normal(0, within, repeats) for _ in range(processes)]


def test_components_recover_the_two_levels_of_known_variance():
    rng = np.random.default_rng(0)
    got = np.array([components(simulated(rng, 40, 20, 0.08, 0.05))[:2] for _ in range(50)])
    assert got[:, 0].mean() == pytest.approx(0.08, rel=0.03)
    assert got[:, 1].mean() == pytest.approx(0.05, rel=0.1)
    quiet = components(simulated(rng, 40, 20, 0.08, 0.0))
    assert quiet[1] <= 0.02  # processes that agree: between is floored at a tenth of within, not zero


def test_optimal_repeats_minimise_the_variance_of_the_mean_for_a_fixed_time():
    """Brute force: with T seconds, n repeats a process buy T / (c_p + n c_r) processes, and the mean's
    variance is (between² + within² / n) / processes; the formula's n is the minimum."""
    c_p, c_r, within, between, budget = 10.0, 0.2, 0.08, 0.03, 600.0

    def variance(n):
        return (between**2 + within**2 / n) / (budget / (c_p + n * c_r))

    best = min(range(1, 500), key=variance)
    assert optimal_repeats(c_p, c_r, within, between) == pytest.approx(best, abs=1)
    assert optimal_repeats(c_p, c_r, within, 0.0) != optimal_repeats(c_p, c_r, within, 0.0)  # NaN: no level


def test_allocation_reads_a_runs_rows_and_workers():
    rng = np.random.default_rng(1)
    rows, workers = [], []
    for slot in range(4):
        level = rng.normal(0, 0.05)
        values = np.exp(math.log(0.1) + level + rng.normal(0, 0.08, 30))
        rows += [
            {
                "config": "c",
                "case": "k",
                "phase": "execute",
                "strategy": "single",
                "cache": "warm",
                "slot": slot,
                "seconds": v,
                "loops": 1,
                "status": "ok",
                "stopped": "budget",
            }
            for v in values
        ]
        workers.append(
            {
                "config": "c",
                "case": "k",
                "strategy": "single",
                "cache": "warm",
                "slot": slot,
                "status": "ok",
                "wall_seconds": 10.0 + values.sum(),
            }
        )
    t = allocation(pd.DataFrame(rows), pd.DataFrame(workers)).iloc[0]
    assert t["repeats"] == 30 and t["process_cost_s"] == pytest.approx(10.0)
    assert t["repeat_cost_s"] == pytest.approx(0.1, rel=0.1)
    assert t["optimal_repeats"] == pytest.approx(optimal_repeats(10.0, t["repeat_cost_s"], t["within"], t["between"]))
