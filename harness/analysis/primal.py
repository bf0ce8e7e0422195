"""primal.csv: every gradient held against its primal, and against what arithmetic allows.

One row per config × case × strategy with a warm execute. The measured
derivative ÷ primal ratio (``ratio_vs_primal`` of summary.csv, with its CI)
stands beside two arithmetic expectations: ``flop_ratio``, the strategy's
least floating-point work over the primal's (``core.flops.strategy_flops``:
between 2 and 3 for one gradient of an MLP), and ``product_time_ratio``, the
same products priced at the framework's own measured product times
(limits.csv), since products of different shapes run at different rates.
Peak memory of the gradient's workers beside the primal's shows what reverse
mode keeps (every layer's activations). ``suspect`` names ratios below
what arithmetic allows or expects: a gradient faster than its primal
(impossible), or a per_param_separate ÷ single below the ratio of their
products' work (an expectation: products timed alone, the elementwise work
between them not counted).
"""

from __future__ import annotations

import math

import pandas as pd

from harness.analysis import throughput
from harness.core.flops import strategy_flops, strategy_products
from harness.core.registry import GRADIENT_STRATEGIES, NUMPY_REFERENCE, PRIMAL

COLUMNS = (
    "config",
    "case",
    "framework",
    "mode",
    "strategy",
    "primal_median_s",
    "median_s",
    "unit",
    "ratio_vs_primal",
    "ratio_vs_primal_ci_low",
    "ratio_vs_primal_ci_high",
    "first_call_ratio_vs_primal",
    "flop_ratio",
    "product_time_ratio",
    "peak_rss_mb",
    "primal_peak_rss_mb",
    "suspect",
)


def shape(row) -> tuple[int, tuple[int, ...], int, int, bool]:
    """``throughput.shape`` and whether the layers have biases (their gradients are sums, no products)."""
    return (*throughput.shape(row), str(row["biases"]).lower() in ("true", "1"))


def work(strategy: str, row) -> int:
    """Floating-point operations of a strategy's products for the case of ``row``."""
    return strategy_flops(_as_framework(strategy), *shape(row))


def _as_framework(strategy: str) -> str:
    # The NumPy reference's pass is one forward and backward pass; its forward, the primal's products.
    return "single" if strategy == NUMPY_REFERENCE else strategy


def product_seconds(limits: pd.DataFrame | None) -> dict:
    """(config, case) -> {(kind, m, k, n): median seconds of that product} from limits.csv."""
    if limits is None or limits.empty:
        return {}
    medians = limits.groupby(["config", "case", "product", "m", "k", "n"], sort=False)["seconds"].median()
    out: dict = {}
    for (config, case, kind, m, k, n), seconds in medians.items():
        out.setdefault((config, case), {})[(kind, int(m), int(k), int(n))] = float(seconds)
    return out


def product_time(strategy: str, row, seconds: dict) -> float:
    """Seconds of a strategy's products at the measured product times (NaN without them all)."""
    products = strategy_products(_as_framework(strategy), *shape(row))
    if not seconds or any(p not in seconds for p in products):
        return math.nan
    return sum(count * seconds[p] for p, count in products.items())


def peak_memory(measurements: pd.DataFrame) -> dict:
    """(config, case, strategy) -> median over warm processes of each process's peak RSS (MiB)."""
    if measurements is None or measurements.empty or "peak_rss_mb" not in measurements:
        return {}
    warm = measurements[(measurements["status"] == "ok") & (measurements["cache"] == "warm")]
    per_process = warm.groupby(["config", "case", "strategy", "slot"], sort=False)["peak_rss_mb"].max()
    return per_process.groupby(level=[0, 1, 2], sort=False).median().to_dict()


def suspicion(row: dict, single: dict | None) -> str:
    """Why a ratio is below what arithmetic allows or expects ('' if none): judged on the CI's upper end where
    there is one (with one process, on the median)."""
    reasons = []
    top = row["ratio_vs_primal_ci_high"] if row["ratio_vs_primal_ci_high"] == row["ratio_vs_primal_ci_high"] else None
    if row["strategy"] in GRADIENT_STRATEGIES and (top if top is not None else row["ratio_vs_primal"]) < 1:
        reasons.append(f"gradient ÷ primal {row['ratio_vs_primal']:.2f} < 1: a gradient cannot cost less than its loss")
    if row["strategy"] == "per_param_separate" and single is not None:
        measured = row["median_s"] / single["median_s"]
        high = row.get("vs_single_ci_high", math.nan)  # the ratio to single's CI, where it has one
        bound = row["product_time_ratio"] / single["product_time_ratio"]
        what = "their products at the framework's measured rates"
        if bound != bound:
            bound, what = row["flop_ratio"] / single["flop_ratio"], "their floating-point work"
        if (high if high == high else measured) < bound:
            reasons.append(f"per_param_separate ÷ single {measured:.2f} < {bound:.2f}, the ratio of {what}")
    return "; ".join(reasons)


def primal_table(
    summary: pd.DataFrame, measurements: pd.DataFrame | None = None, limits: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per config × case × strategy with a warm execute and a primal to hold it against."""
    warm = summary[(summary["cache"] == "warm") & summary["ratio_vs_primal"].notna()]
    execute = warm[warm["phase"].isin(["execute", "forward"])]
    first = warm[warm["phase"] == "first_call"].set_index(["config", "case", "strategy"])["ratio_vs_primal"]
    medians = execute.set_index(["config", "case", "strategy", "phase"])["median"]
    seconds, memory = product_seconds(limits), peak_memory(measurements)
    rows = []
    for r in execute.to_dict("records"):
        if r["strategy"] == NUMPY_REFERENCE and r["phase"] == "forward":
            continue  # the hand-written primal: the denominator of its own pass
        key = (r["config"], r["case"], r["strategy"])
        own = (NUMPY_REFERENCE, "forward") if key[2] == NUMPY_REFERENCE else (PRIMAL, "execute")
        primal_key = (r["config"], r["case"], *own)
        primal_work = work(PRIMAL, r)
        rows.append(
            {
                "config": r["config"],
                "case": r["case"],
                "framework": r.get("framework"),
                "mode": r.get("mode"),
                "strategy": r["strategy"],
                "primal_median_s": medians.get(primal_key, math.nan),
                "median_s": r["median"],
                "unit": r.get("unit", "s"),  # instructions for a counted case: the medians are counts
                "ratio_vs_primal": r["ratio_vs_primal"],
                "ratio_vs_primal_ci_low": r["ratio_vs_primal_ci_low"],
                "ratio_vs_primal_ci_high": r["ratio_vs_primal_ci_high"],
                "first_call_ratio_vs_primal": first.get(key, math.nan),
                "flop_ratio": work(r["strategy"], r) / primal_work if primal_work else math.nan,
                "product_time_ratio": _time_ratio(r, seconds.get((r["config"], r["case"]), {})),
                "peak_rss_mb": memory.get(key, math.nan),
                # The NumPy reference times its forward pass in the same process as its gradient.
                "vs_single_ci_high": r.get("ratio_ci_high", math.nan),  # for suspicion, not a column
                "primal_peak_rss_mb": memory.get(primal_key[:3], math.nan) if key[2] != NUMPY_REFERENCE else math.nan,
            }
        )
    singles = {(x["config"], x["case"]): x for x in rows if x["strategy"] == "single"}
    for x in rows:
        x["suspect"] = suspicion(x, singles.get((x["config"], x["case"])))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _time_ratio(row: dict, seconds: dict) -> float:
    if row["strategy"] == NUMPY_REFERENCE:
        return math.nan  # NumPy's products are not the framework's: limits.csv times the framework's own
    primal = product_time(PRIMAL, row, seconds)
    return product_time(row["strategy"], row, seconds) / primal if primal == primal and primal > 0 else math.nan
