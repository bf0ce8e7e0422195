"""FLOP counts, scaling fits and throughput, against worked examples."""
import math

import numpy as np
import pandas as pd
import pytest

from harness.analysis.flops import gradient_flops, largest_layer, matmul_flops
from harness.analysis.scaling import fit_slope, scaling_table
from harness.analysis.throughput import throughput_table


def test_gradient_flops_worked_example():
    # 10-20-5, batch 4. Layer 1 (10x20): forward + weight gradient = 2 products
    # of 2*4*10*20 = 1600 each; layer 2 (20x5): 3 products of 2*4*20*5 = 800.
    assert gradient_flops(10, (20,), 5, 4) == 2 * 1600 + 3 * 800
    assert largest_layer(10, (20,), 5) == (10, 20)
    assert matmul_flops(4, 10, 20) == 1600


def test_gradient_flops_of_the_question_network():
    # 16384-5000-3000-512-40 at batch 64: the first layer dominates.
    flops = gradient_flops(16384, (5000, 3000, 512), 40, 64)
    first = 2 * 2 * 64 * 16384 * 5000
    rest = 3 * 2 * 64 * (5000 * 3000 + 3000 * 512 + 512 * 40)
    assert flops == first + rest
    assert 27.3e9 < flops < 27.4e9  # 21.0 GFLOP in the first layer, 6.4 in the rest


def test_fit_slope_recovers_exact_power_laws():
    x = np.array([1, 2, 4, 8, 16])
    fit = fit_slope(x, 3.0 * x ** 2)
    assert fit["slope"] == pytest.approx(2.0) and fit["slope_stderr"] == pytest.approx(0, abs=1e-12)
    assert fit["r2"] == pytest.approx(1.0) and fit["n_points"] == 5


def test_fit_slope_uncertainty_worked_example():
    # log2-spaced x and y = x * (1, 2, 1, 2) : log y = log x + log2 * (0, 1, 0, 1).
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = x * np.array([1.0, 2.0, 1.0, 2.0])
    fit = fit_slope(x, y)
    # With u = log2(x) = 0..3 and v = log2(y) = 0, 2, 2, 4: slope 1.2, and the
    # residuals (-0.2, 0.6, -0.6, 0.2) give s^2 = 0.8/2, stderr = sqrt(0.4/5).
    assert fit["slope"] == pytest.approx(1.2)
    assert fit["slope_stderr"] == pytest.approx(math.sqrt(0.4 / 5))
    t = 4.302652729911275  # t(0.975, 2 degrees of freedom)
    assert fit["slope_ci_low"] == pytest.approx(1.2 - t * math.sqrt(0.08))


def _summary(rows):
    base = {"config": "sweep", "cache": "warm", "input": 8, "output": 2, "batch": 4}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_scaling_table_per_strategy_phase_and_nodes():
    depths = [1, 2, 4, 8]
    rows = []
    for d in depths:
        case = f"depth={d}"
        rows.append({"case": case, "strategy": "single", "phase": "construct", "median": 0.01 * d})
        rows.append({"case": case, "strategy": "per_param", "phase": "construct", "median": 0.01 * d * d})
    graphs = pd.DataFrame([{"config": "sweep", "case": f"depth={d}", "strategy": "per_param",
                            "nodes_unoptimized": 50 * d * d, "nodes_optimized": 30 * d} for d in depths])
    config = {"name": "sweep", "sweep": {"depth": depths}}
    t = scaling_table([config], _summary(rows), graphs).set_index(["strategy", "quantity"])
    assert t.loc[("single", "construct"), "slope"] == pytest.approx(1.0)
    assert t.loc[("per_param", "construct"), "slope"] == pytest.approx(2.0)
    assert t.loc[("per_param", "nodes_unoptimized"), "slope"] == pytest.approx(2.0)
    assert t.loc[("per_param", "nodes_optimized"), "slope"] == pytest.approx(1.0)
    assert set(t["swept"]) == {"depth"} and set(t["n_points"]) == {4}


def test_scaling_skips_non_numeric_and_short_sweeps():
    config = {"name": "sweep", "sweep": {"mode": ["FAST_RUN", "NO_OPT"], "depth": [1, 2]}}
    rows = [{"case": f"mode={m},depth={d}", "strategy": "single", "phase": "construct", "median": 0.1 * d}
            for m in ("FAST_RUN", "NO_OPT") for d in (1, 2)]
    empty = scaling_table([config], _summary(rows), pd.DataFrame(columns=["config", "case", "strategy"]))
    assert empty.empty and "slope" in empty.columns


def test_throughput_against_numpy_limit():
    rows = [{"case": "k", "hidden": "20", "input": 10, "output": 5, "batch": 4, "strategy": "single",
             "phase": "execute", "median": 5600 / 2e9},  # 5600 flop (see above) in 2.8 us: 2 GFLOP/s
            {"case": "k", "hidden": "20", "input": 10, "output": 5, "batch": 4,
             "strategy": "numpy_reference", "phase": "matmul", "median": 1600 / 8e9}]  # 8 GFLOP/s
    t = throughput_table(_summary(rows)).set_index("strategy")
    assert t.loc["single", "gflop_per_s"] == pytest.approx(2.0)
    assert t.loc["single", "matmul_gflop_per_s"] == pytest.approx(8.0)
    assert t.loc["single", "fraction_of_matmul"] == pytest.approx(0.25)
