"""Summary statistics of repeated timings, and ratios against ``single``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from harness.cases import PARAM_COLUMNS
from harness.config import PHASES, STRATEGIES

SUMMARY_STATS = ("n", "min", "median", "mean", "std", "iqr")


def describe(seconds) -> dict:
    """n, min, median, mean, sample std and IQR (linear-interpolated quartiles)."""
    a = np.asarray(seconds, dtype=float)
    if a.size == 0:
        return {k: (0 if k == "n" else np.nan) for k in SUMMARY_STATS}
    q1, q3 = np.percentile(a, [25, 75])
    return {"n": int(a.size), "min": float(a.min()), "median": float(np.median(a)),
            "mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
            "iqr": float(q3 - q1)}


def summarize(measurements: pd.DataFrame) -> pd.DataFrame:
    """One row per config × case × phase × strategy, from successful rows only."""
    keys = ["config", "case", *PARAM_COLUMNS, "phase", "strategy"]
    ok = measurements[measurements["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame(columns=[*keys, *SUMMARY_STATS, "unit", "ratio_vs_single"])
    rows = []
    for key, group in ok.groupby(keys, sort=False, dropna=False):
        rows.append({**dict(zip(keys, key)), **describe(group["seconds"]), "unit": "s"})
    summary = pd.DataFrame(rows)
    # Cases in the order they were run; phases and strategies in a fixed order.
    first_seen = {k: i for i, k in enumerate(dict.fromkeys(zip(ok["config"], ok["case"])))}
    summary["_case"] = [first_seen[k] for k in zip(summary["config"], summary["case"])]
    summary["_phase"] = summary["phase"].map(PHASES.index)
    summary["_strategy"] = summary["strategy"].map(STRATEGIES.index)
    summary = summary.sort_values(["_case", "_phase", "_strategy"], kind="stable")
    summary = summary.drop(columns=["_case", "_phase", "_strategy"]).reset_index(drop=True)
    return add_ratios(summary)


def add_ratios(summary: pd.DataFrame) -> pd.DataFrame:
    """ratio_vs_single = this strategy's median / single's median (same case, phase)."""
    single = summary[summary["strategy"] == "single"].set_index(["config", "case", "phase"])["median"]
    index = pd.MultiIndex.from_frame(summary[["config", "case", "phase"]])
    base = single.reindex(index).to_numpy()
    summary = summary.copy()
    summary["ratio_vs_single"] = summary["median"].to_numpy() / base
    return summary
