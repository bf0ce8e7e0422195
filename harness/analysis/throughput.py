"""Achieved GFLOP/s of each strategy's gradient evaluation, against what its matrix products can reach."""

from __future__ import annotations

import pandas as pd

from harness.core.flops import gradient_flops, largest_layer, matmul_flops, primal_flops
from harness.core.registry import PRIMAL

COLUMNS = (
    "config",
    "case",
    "strategy",
    "gflop",
    "execute_median_s",
    "gflop_per_s",
    "limit_gflop_per_s",
    "fraction_of_limit",
    "matmul_gflop_per_s",
    "fraction_of_matmul",
)


def shape(row) -> tuple[int, tuple[int, ...], int, int]:
    """(input, hidden layers, output, batch) of a summary row's case."""
    hidden = tuple(int(h) for h in str(row["hidden"]).split("-"))
    return int(row["input"]), hidden, int(row["output"]), int(row["batch"])


def limits_by_case(limits: pd.DataFrame | None, kinds: tuple[str, ...] | None = None) -> dict:
    """(config, case) -> GFLOP/s of the pass's matrix products at the framework's own measured rates
    (``kinds``: only those products, e.g. ``("forward",)`` for the primal).

    FLOP-weighted over the distinct products: total operations of the pass's
    products over the time they take at their median measured times,
    sum(count * 2mkn) / sum(count * median seconds). A gradient does at
    least this work and more (elementwise ops), so it cannot beat this rate
    by more than the noise of the two measurements.
    """
    if limits is None or limits.empty:
        return {}
    if kinds is not None:
        limits = limits[limits["product"].isin(kinds)]
    medians = (
        limits.groupby(["config", "case", "product", "m", "k", "n", "count"], sort=False)["seconds"]
        .median()
        .reset_index()
    )
    medians["flop"] = 2 * medians["m"] * medians["k"] * medians["n"] * medians["count"]
    medians["time"] = medians["seconds"] * medians["count"]
    totals = medians.groupby(["config", "case"], sort=False)[["flop", "time"]].sum()
    return {key: row.flop / row.time / 1e9 for key, row in totals.iterrows()}


def throughput_table(summary: pd.DataFrame, limits: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per case × strategy with a warm execute median.

    The work counted is the same for every gradient strategy (one forward and
    backward pass), so a strategy that repeats work shows a lower GFLOP/s; the
    primal's is its forward pass alone, held against the forward products'
    rate. The limit is the framework's own matrix products at the pass's
    shapes, in the same run (``limits_by_case``). NumPy's (batch x in) @ (in x out) product at
    the largest layer, from the numpy_reference worker, is kept beside it: it
    may use another BLAS than the framework (Theano links the system's).
    """
    warm = summary[summary["cache"] == "warm"]
    counted = warm["unit"] == "instructions" if "unit" in warm else False
    execute = warm[(warm["phase"] == "execute") & ~counted]  # a count has no GFLOP/s
    matmul = warm[warm["phase"] == "matmul"].set_index(["config", "case"])["median"]
    limit_of = {"gradient": limits_by_case(limits), PRIMAL: limits_by_case(limits, ("forward",))}
    rows = []
    for row in execute.to_dict("records"):
        inp, hidden, out, batch = shape(row)
        pass_ = PRIMAL if row["strategy"] == PRIMAL else "gradient"
        flop = (primal_flops if pass_ == PRIMAL else gradient_flops)(inp, hidden, out, batch)
        numpy_rate = None
        if (row["config"], row["case"]) in matmul.index:
            fan_in, fan_out = largest_layer(inp, hidden, out)
            numpy_rate = matmul_flops(batch, fan_in, fan_out) / matmul[(row["config"], row["case"])] / 1e9
        limit = limit_of[pass_].get((row["config"], row["case"]))
        rate = flop / row["median"] / 1e9
        rows.append(
            {
                "config": row["config"],
                "case": row["case"],
                "strategy": row["strategy"],
                "gflop": flop / 1e9,
                "execute_median_s": row["median"],
                "gflop_per_s": rate,
                "limit_gflop_per_s": limit,
                "fraction_of_limit": rate / limit if limit else None,
                "matmul_gflop_per_s": numpy_rate,
                "fraction_of_matmul": rate / numpy_rate if numpy_rate else None,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))
