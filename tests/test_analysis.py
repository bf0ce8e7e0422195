"""FLOP counts, scaling fits and throughput, against worked examples."""

import math

import numpy as np
import pandas as pd
import pytest

from harness.analysis.scaling import fit_slope, scaling_table
from harness.analysis.throughput import throughput_table
from harness.core.flops import gradient_flops, largest_layer, matmul_flops


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
    fit = fit_slope(x, 3.0 * x**2)
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
    graphs = pd.DataFrame(
        [
            {
                "config": "sweep",
                "case": f"depth={d}",
                "strategy": "per_param",
                "nodes_unoptimized": 50 * d * d,
                "nodes_optimized": 30 * d,
            }
            for d in depths
        ]
    )
    config = {"name": "sweep", "sweep": {"depth": depths}}
    t = scaling_table([config], _summary(rows), graphs).set_index(["strategy", "quantity"])
    assert t.loc[("single", "construct"), "slope"] == pytest.approx(1.0)
    assert t.loc[("per_param", "construct"), "slope"] == pytest.approx(2.0)
    assert t.loc[("per_param", "nodes_unoptimized"), "slope"] == pytest.approx(2.0)
    assert t.loc[("per_param", "nodes_optimized"), "slope"] == pytest.approx(1.0)
    assert set(t["swept"]) == {"depth"} and set(t["n_points"]) == {4}


def test_scaling_skips_non_numeric_and_short_sweeps():
    config = {"name": "sweep", "sweep": {"mode": ["FAST_RUN", "NO_OPT"], "depth": [1, 2]}}
    rows = [
        {"case": f"mode={m},depth={d}", "strategy": "single", "phase": "construct", "median": 0.1 * d}
        for m in ("FAST_RUN", "NO_OPT")
        for d in (1, 2)
    ]
    empty = scaling_table([config], _summary(rows), pd.DataFrame(columns=["config", "case", "strategy"]))
    assert empty.empty and "slope" in empty.columns


def test_throughput_against_numpy_limit():
    rows = [
        {
            "case": "k",
            "hidden": "20",
            "input": 10,
            "output": 5,
            "batch": 4,
            "strategy": "single",
            "phase": "execute",
            "median": 5600 / 2e9,
        },  # 5600 flop (see above) in 2.8 us: 2 GFLOP/s
        {
            "case": "k",
            "hidden": "20",
            "input": 10,
            "output": 5,
            "batch": 4,
            "strategy": "numpy_reference",
            "phase": "matmul",
            "median": 1600 / 8e9,
        },
    ]  # 8 GFLOP/s
    t = throughput_table(_summary(rows)).set_index("strategy")
    assert t.loc["single", "gflop_per_s"] == pytest.approx(2.0)
    assert t.loc["single", "matmul_gflop_per_s"] == pytest.approx(8.0)
    assert t.loc["single", "fraction_of_matmul"] == pytest.approx(0.25)


def test_products_of_the_pass_follow_the_models_layers():
    from harness.core.flops import gradient_flops, operands, products

    # 10 -> 20 -> 5, batch 4: each layer one forward product and one weight gradient; the second
    # layer also the gradient of its input (the first layer's input needs none).
    assert products(10, (20,), 5, 4) == [
        ("forward", 4, 10, 20, 1),
        ("weight_grad", 10, 4, 20, 1),
        ("forward", 4, 20, 5, 1),
        ("weight_grad", 20, 4, 5, 1),
        ("input_grad", 4, 5, 20, 1),
    ]
    # A deep network of one width repeats its hidden products: counted, not listed twice.
    deep = products(8, (6, 6, 6), 3, 2)
    assert ("forward", 2, 6, 6, 2) in deep and ("input_grad", 2, 6, 6, 2) in deep
    for model in ((10, (20,), 5, 4), (8, (6, 6, 6), 3, 2), (16384, (5000, 3000, 512), 40, 64)):
        assert sum(2 * m * k * n * c for _, m, k, n, c in products(*model)) == gradient_flops(*model)
    # Operands as the gradient graph stores them: h.T @ delta and delta @ W.T.
    assert operands("weight_grad", 10, 4, 20) == ((4, 10), (4, 20), True, False)
    assert operands("input_grad", 4, 5, 20) == ((4, 5), (20, 5), False, True)


def test_throughput_against_the_frameworks_own_products():
    # Case k: one product of 1 GFLOP in 10 ms (median of 9, 10, 11) and three of 1 GFLOP in
    # 10 ms each: 4 GFLOP in 40 ms = 100 GFLOP/s. Case j: 1 GFLOP at 100 GFLOP/s and 1 GFLOP at
    # 33 GFLOP/s take 40 ms together: 50 GFLOP/s, not the mean of the two rates.
    base = {"config": "sweep", "case": "k", "strategy": "single", "slot": 0, "loops": 1}
    limits = pd.DataFrame(
        [
            {**base, "product": "forward", "m": 1000, "k": 500, "n": 1000, "count": 1, "repeat": r, "seconds": s}
            for r, s in enumerate([0.010, 0.011, 0.009])
        ]
        + [
            {
                **base,
                "product": "weight_grad",
                "m": 1000,
                "k": 500,
                "n": 1000,
                "count": 3,
                "repeat": r,
                "seconds": 0.010,
            }
            for r in range(3)
        ]
        + [
            {
                **base,
                "case": "j",
                "product": "forward",
                "m": 1000,
                "k": 500,
                "n": 1000,
                "count": 1,
                "repeat": 0,
                "seconds": 0.010,
            },
            {
                **base,
                "case": "j",
                "product": "weight_grad",
                "m": 1000,
                "k": 500,
                "n": 1000,
                "count": 1,
                "repeat": 0,
                "seconds": 0.030,
            },
        ]
    )
    from harness.analysis.throughput import limits_by_case

    got = limits_by_case(limits)
    assert got[("sweep", "k")] == pytest.approx(100.0)
    assert got[("sweep", "j")] == pytest.approx(2.0 / 0.040)  # FLOP-weighted: 50, not the mean rate 66.7
    rows = [
        {
            "case": "k",
            "hidden": "20",
            "input": 10,
            "output": 5,
            "batch": 4,
            "strategy": "single",
            "phase": "execute",
            "median": 5600 / 2e9,
        }
    ]
    # The primal does the forward pass's work alone (2400 flop here, not the gradient's 5600) and is held against
    # the forward products' rate (a run measured 166 GFLOP/s for Theano's primal against a 73 GFLOP/s limit
    # when it was counted with the gradient's work).
    rows.append({**rows[0], "case": "j", "strategy": "primal", "median": 2400 / 4e9})
    t = throughput_table(_summary(rows), limits).set_index("strategy")
    assert t.loc["single", "limit_gflop_per_s"] == pytest.approx(100.0)
    assert t.loc["single", "fraction_of_limit"] == pytest.approx(0.02)
    assert t.loc["primal", "gflop"] == pytest.approx(2400 / 1e9) and t.loc["primal", "gflop_per_s"] == pytest.approx(
        4.0
    )
    assert t.loc["primal", "limit_gflop_per_s"] == pytest.approx(100.0)  # case j's forward product, not its 50
