"""Issue 21: the primal (the loss alone) in every framework, and every gradient held against it."""

import math
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from helpers import fake_worker, tiny_model
from scipy.stats import t as student_t

from harness.analysis.primal import primal_table
from harness.analysis.summary import summarize
from harness.config.schema import parse_config
from harness.core.case import PARAM_COLUMNS
from harness.core.data import init_params, make_batch
from harness.core.flops import strategy_flops, strategy_products
from harness.core.registry import FRAMEWORKS
from harness.orchestrate import runner
from harness.worker.numpy_reference import loss_and_grads, loss_only


def independent_loss(model, params, x, y):
    """The loss written out another way: explicit softmax probabilities, a loop over the layers."""
    step = 2 if model.biases else 1
    acts = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.where(z > 0, z, 0)}
    h = np.asarray(x, np.float64)
    n_layers = len(params) // step
    for i in range(n_layers):
        h = h.dot(params[i * step]) + (params[i * step + 1] if model.biases else 0)
        if i < n_layers - 1:
            h = acts[model.activation](h)
    if model.loss == "softmax_cross_entropy":
        p = np.exp(h) / np.exp(h).sum(axis=1, keepdims=True)
        return float(np.mean([-np.log(p[i, c]) for i, c in enumerate(y)]))
    return float(np.mean((h - y) ** 2))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "mse"])
@pytest.mark.parametrize("biases", [True, False])
def test_numpy_forward_alone_gives_the_loss(activation, loss, biases):
    model = tiny_model(activation=activation, loss=loss, biases=biases)
    params = init_params(model, seed=5)
    x, y = make_batch(model, seed=5)
    expected = independent_loss(model, params, x, y)
    assert loss_only(model, params, x, y) == pytest.approx(expected, rel=1e-12)
    assert loss_and_grads(model, params, x, y)[0] == pytest.approx(expected, rel=1e-12)
    assert loss_only(model, params, x, y, dtype="float32") == pytest.approx(expected, rel=1e-5)


def test_each_strategy_counts_the_products_of_its_functions():
    # Layers 6->5->5->3, batch 4. Forward: 2*4*(30+25+15) = 560. One gradient: the forward, a weight
    # product per layer (560 again) and the input gradients of the two upper layers, 2*4*(25+15) = 320.
    # per_param_separate, a function per parameter, each with its own forward pass: W1 560+320+240,
    # b1 560+320, W2 560+120+200, b2 560+120, W3 560+0+120, b3 560: 4800.
    shape = (6, (5, 5), 3, 4)
    assert strategy_flops("primal", *shape, True) == 560
    assert strategy_flops("single", *shape, True) == strategy_flops("per_param", *shape, True) == 1440
    assert strategy_flops("per_param_separate", *shape, True) == 4800
    assert strategy_flops("per_param_separate", *shape, False) == 1120 + 880 + 680  # the weights alone
    # every product a strategy needs is one the limit measures (limits.csv prices them)
    single = set(strategy_products("single", *shape, True))
    assert set(strategy_products("per_param_separate", *shape, True)) <= single
    assert set(strategy_products("primal", *shape, True)) <= single
    # Layers of one width repeat a product's shape: each is still counted (the depth sweep's 24 layers of 256
    # had a primal of one layer's work, and single "68x" its primal's FLOPs, until 2026-12-02).
    from harness.core.flops import gradient_flops, primal_flops

    deep = (256, (256,) * 24, 10, 64)
    assert strategy_flops("primal", *deep, True) == primal_flops(*deep)
    assert strategy_flops("single", *deep, True) == gradient_flops(*deep)
    assert 2.9 < strategy_flops("single", *deep, True) / strategy_flops("primal", *deep, True) < 3


def test_the_primal_has_the_phases_its_framework_gives_a_loss():
    assert FRAMEWORKS["theano"].phases("FAST_RUN", "primal") == ("compile", "first_call", "execute")
    assert FRAMEWORKS["jax"].phases("jit", "primal") == ("construct", "compile", "first_call", "execute")
    assert FRAMEWORKS["torch"].phases("eager", "primal") == ("first_call", "execute")
    assert FRAMEWORKS["pytensor"].phases("JAX", "primal") == ("compile", "first_call", "execute")  # no transfer
    assert FRAMEWORKS["theano"].phases("FAST_RUN", "numpy_reference") == ("execute", "forward", "matmul")


# --- ratios: Welch intervals over process medians, from known values ------------------------------------------


def rows(strategy, phase, per_process):
    """Measurement rows: per_process is one list of seconds per worker process (slot)."""
    base = {
        **dict.fromkeys(PARAM_COLUMNS, 1),
        "config": "c",
        "case": "depth=1",
        "cache": "warm",
        "status": "ok",
        "loops": 1,
        "framework": "theano",
    }
    return [
        {**base, "strategy": strategy, "phase": phase, "slot": slot, "repeat": i, "seconds": s}
        for slot, values in enumerate(per_process)
        for i, s in enumerate(values)
    ]


def welch_by_hand(num_levels, den_levels):
    a, b = np.log(num_levels), np.log(den_levels)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = student_t.ppf(0.975, df) * math.sqrt(va + vb)
    d = a.mean() - b.mean()
    return math.exp(d - half), math.exp(d + half)


def test_ratio_vs_primal_is_a_welch_interval_over_process_medians():
    single = [[0.30, 0.31, 0.90], [0.33, 0.32, 0.34], [0.29, 0.28, 0.30]]  # one slow outlier in process 0
    primal = [[0.11, 0.10, 0.12], [0.13, 0.12, 0.125], [0.10, 0.10, 0.11]]
    measurements = pd.DataFrame(
        rows("single", "execute", single)
        + rows("primal", "execute", primal)
        + rows("single", "construct", [[0.05], [0.06]])
        + rows("numpy_reference", "execute", [[0.2, 0.2], [0.21, 0.22]])
        + rows("numpy_reference", "forward", [[0.1, 0.1], [0.1, 0.11]])
    )
    s = summarize(measurements).set_index(["phase", "strategy"])
    got = s.loc[("execute", "single")]
    expected_median = np.median(sum(single, [])) / np.median(sum(primal, []))
    assert got["ratio_vs_primal"] == pytest.approx(expected_median)
    low, high = welch_by_hand(np.median(single, axis=1), np.median(primal, axis=1))
    assert (got["ratio_vs_primal_ci_low"], got["ratio_vs_primal_ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert s.loc[("execute", "primal"), "ratio_vs_primal"] == 1.0
    assert math.isnan(s.loc[("construct", "single"), "ratio_vs_primal"])  # held against the primal: calls only
    assert s.loc[("execute", "numpy_reference"), "ratio_vs_primal"] == pytest.approx(0.205 / 0.1)  # vs its forward


def slowed_primal(factor):
    def worker(task, env, timeouts):
        result = fake_worker(task, env, timeouts)
        if task["strategy"] == "primal":
            for row in result["measurements"]:
                row["seconds"] *= factor
        return result

    return worker


def test_a_slower_primal_lowers_every_gradients_ratio(tmp_path):
    config = parse_config(
        {"model": {**asdict(tiny_model()), "hidden": [4, 3]}, "run": {"repeats": 3, "processes": 2, "cache": "warm"}},
        source="p.yaml",
    )
    ratios = {}
    for factor in (1.0, 2.0):
        run_dir = runner.run(
            [config], tmp_path / str(factor), lambda line: None, runner=slowed_primal(factor), probe=False
        )
        s = pd.read_csv(run_dir / "summary.csv")
        ratios[factor] = s[s["phase"] == "execute"].set_index("strategy")["ratio_vs_primal"]
        assert (run_dir / "primal.csv").exists()
    for strategy in ("single", "per_param", "per_param_separate"):
        assert ratios[2.0][strategy] == pytest.approx(ratios[1.0][strategy] / 2)
    assert ratios[2.0]["primal"] == ratios[1.0]["primal"] == 1.0


# --- what arithmetic forbids ---------------------------------------------------------------------------------


def summary_row(strategy, median, ratio, low, high):
    return {
        "config": "c",
        "case": "q",
        "input": 6,
        "hidden": "5-5",
        "output": 3,
        "batch": 4,
        "biases": True,
        "framework": "theano",
        "mode": "FAST_RUN",
        "cache": "warm",
        "phase": "execute",
        "strategy": strategy,
        "median": median,
        "ratio_vs_primal": ratio,
        "ratio_vs_primal_ci_low": low,
        "ratio_vs_primal_ci_high": high,
    }


def test_ratios_arithmetic_forbids_are_flagged_with_the_numbers():
    summary = pd.DataFrame(
        [
            summary_row("primal", 1.0, 1.0, 1.0, 1.0),
            summary_row("single", 0.8, 0.8, 0.7, 0.9),  # faster than its own loss
            summary_row("per_param", 2.6, 2.6, 2.4, 2.8),
            summary_row("per_param_separate", 1.6, 1.6, 1.5, 1.7),  # 2x single, its products need 4800/1440
        ]
    )
    table = primal_table(summary).set_index("strategy")
    assert table.loc["single", "suspect"].startswith("gradient ÷ primal 0.80 < 1")
    assert table.loc["per_param", "suspect"] == ""
    assert (
        "per_param_separate ÷ single 2.00 < 3.33, the ratio of their floating-point work"
        in (table.loc["per_param_separate", "suspect"])
    )
    assert table.loc["single", "flop_ratio"] == pytest.approx(1440 / 560)
    assert math.isnan(table.loc["single", "product_time_ratio"])  # no limits.csv here

    # With the framework's own product times, the expectation is priced at its rates (forward products slow).
    limits = pd.DataFrame(
        [
            {
                "config": "c",
                "case": "q",
                "product": kind,
                "m": m,
                "k": k,
                "n": n,
                "seconds": 10.0 if kind == "forward" else 1.0,
            }
            for (kind, m, k, n) in strategy_products("single", 6, (5, 5), 3, 4, True)
        ]
    )
    table = primal_table(summary, limits=limits).set_index("strategy")
    # single: 3 forward products at 10 s + 5 others at 1 s = 35 s, over the primal's 30 s
    assert table.loc["single", "product_time_ratio"] == pytest.approx(35 / 30)
    bound = table.loc["per_param_separate", "product_time_ratio"] / table.loc["single", "product_time_ratio"]
    assert "the ratio of their products at the framework's measured rates" in table.loc["per_param_separate", "suspect"]
    assert f"< {bound:.2f}" in table.loc["per_param_separate", "suspect"]


def test_a_ratio_whose_interval_reaches_the_bound_is_not_flagged():
    rows = [
        summary_row("primal", 1.0, 1.0, 1.0, 1.0),
        summary_row("single", 3.0, 3.0, 2.9, 3.1),
        {**summary_row("per_param_separate", 9.6, 9.6, 9.0, 10.0), "ratio_ci_low": 3.0, "ratio_ci_high": 3.4},
    ]
    # 9.6 / 3.0 = 3.2 is below the work's 3.33, but single's CI for the ratio reaches 3.4: noise, not arithmetic
    assert primal_table(pd.DataFrame(rows)).set_index("strategy").loc["per_param_separate", "suspect"] == ""
    rows[2] = {**rows[2], "ratio_ci_high": 3.25}
    assert primal_table(pd.DataFrame(rows)).set_index("strategy").loc["per_param_separate", "suspect"] != ""
