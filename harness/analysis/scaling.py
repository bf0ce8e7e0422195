"""Scaling laws of a sweep: log-log slopes of time and graph size.

For construction against depth we expect a slope near 1 for ``single`` (one
backward pass) and near 2 for ``per_param`` (each of ~2·depth gradients walks
back through ~depth layers); the fit says how close, with its uncertainty.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.core.case import sweep_lines

COLUMNS = (
    "config",
    "swept",
    "fixed",
    "strategy",
    "cache",
    "quantity",
    "unit",
    "n_points",
    "slope",
    "slope_stderr",
    "slope_ci_low",
    "slope_ci_high",
    "r2",
)
MIN_POINTS = 3


def fit_slope(x, y, confidence: float = 0.95) -> dict:
    """OLS of log(y) on log(x): slope, its standard error and t-based CI, R²."""
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    n = lx.size
    fit = sps.linregress(lx, ly)
    t = sps.t.ppf(0.5 + confidence / 2, n - 2) if n > 2 else math.nan
    return {
        "n_points": n,
        "slope": fit.slope,
        "slope_stderr": fit.stderr,
        "slope_ci_low": fit.slope - t * fit.stderr,
        "slope_ci_high": fit.slope + t * fit.stderr,
        "r2": fit.rvalue**2,
    }


def sweep_series(config: dict):
    """(swept key, fixed assignment of the other keys, [(x, case name)]) for numeric sweeps."""
    for key, fixed, names in sweep_lines(config.get("sweep") or {}):
        values = [v for v, _ in names]
        if (
            all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
            and len(values) >= MIN_POINTS
            and min(values) > 0
        ):
            yield key, fixed, names


def scaling_table(configs: list[dict], summary: pd.DataFrame, graphs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for config in configs:
        s = summary[summary["config"] == config["name"]]
        g = graphs[graphs["config"] == config["name"]]
        for key, fixed, names in sweep_series(config):
            fixed_text = ",".join(f"{k}={v}" for k, v in fixed.items())
            base = {"config": config["name"], "swept": key, "fixed": fixed_text}
            xs = {name: x for x, name in names}
            for (strategy, cache, phase), d in s.groupby(["strategy", "cache", "phase"], sort=False):
                d = d[d["case"].isin(xs) & (d["median"] > 0)]
                if len(d) >= MIN_POINTS:
                    rows.append(
                        {
                            **base,
                            "strategy": strategy,
                            "cache": cache,
                            "quantity": phase,
                            "unit": "s",
                            **fit_slope(d["case"].map(xs), d["median"]),
                        }
                    )
            for strategy, d in g.groupby("strategy", sort=False):
                d = d[d["case"].isin(xs)]
                for quantity in ("nodes_unoptimized", "nodes_optimized"):
                    if len(d) >= MIN_POINTS:
                        rows.append(
                            {
                                **base,
                                "strategy": strategy,
                                "cache": "",
                                "quantity": quantity,
                                "unit": "nodes",
                                **fit_slope(d["case"].map(xs), d[quantity]),
                            }
                        )
    return pd.DataFrame(rows, columns=list(COLUMNS))
