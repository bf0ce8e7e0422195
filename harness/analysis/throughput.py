"""Achieved GFLOP/s of each strategy's gradient evaluation, against NumPy's matmul limit."""
from __future__ import annotations

import pandas as pd

from harness.analysis.flops import gradient_flops, largest_layer, matmul_flops

COLUMNS = ("config", "case", "strategy", "gflop", "execute_median_s", "gflop_per_s",
           "matmul_gflop_per_s", "fraction_of_matmul")


def _shape(row) -> tuple[int, tuple[int, ...], int, int]:
    hidden = tuple(int(h) for h in str(row["hidden"]).split("-"))
    return int(row["input"]), hidden, int(row["output"]), int(row["batch"])


def throughput_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per case × strategy with a warm execute median.

    The work counted is the same for every strategy (one forward and backward
    pass), so a strategy that repeats work shows a lower GFLOP/s. The limit is
    NumPy's (batch x in) @ (in x out) product at the case's largest layer,
    measured in the same run by the numpy_reference worker.
    """
    warm = summary[summary["cache"] == "warm"]
    execute = warm[warm["phase"] == "execute"]
    matmul = warm[warm["phase"] == "matmul"].set_index(["config", "case"])["median"]
    rows = []
    for row in execute.to_dict("records"):
        inp, hidden, out, batch = _shape(row)
        flop = gradient_flops(inp, hidden, out, batch)
        limit = None
        if (row["config"], row["case"]) in matmul.index:
            fan_in, fan_out = largest_layer(inp, hidden, out)
            limit = matmul_flops(batch, fan_in, fan_out) / matmul[(row["config"], row["case"])] / 1e9
        rate = flop / row["median"] / 1e9
        rows.append({"config": row["config"], "case": row["case"], "strategy": row["strategy"],
                     "gflop": flop / 1e9, "execute_median_s": row["median"], "gflop_per_s": rate,
                     "matmul_gflop_per_s": limit, "fraction_of_matmul": rate / limit if limit else None})
    return pd.DataFrame(rows, columns=list(COLUMNS))
