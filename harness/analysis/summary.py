"""summary.csv: one row per config × case × cache × phase × strategy, with its ratios and their CIs.

Two ratios, each a Welch interval over process medians (``stats.ratio_ci``):
``ratio_vs_single``, every strategy against ``single`` in the same phase; and
``ratio_vs_primal``, every strategy's first call and execute against the
primal's (the loss alone, in the same framework and mode): derivative ÷
primal, the number ADBench and GradBench report. The NumPy reference's pass is
held against its own forward pass (phase ``forward``), the hand-written primal.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from harness.analysis.pairs import NONE as NO_PAIRS
from harness.analysis.pairs import PAIRED_COLUMNS, design, differences, paired_ratio
from harness.analysis.stats import SUMMARY_STATS, cores_used, describe, instability, over_cores, ratio_ci
from harness.core.case import PARAM_COLUMNS
from harness.core.registry import ALL_PHASES, NUMPY_REFERENCE, PRIMAL, RATIO_PHASES, STRATEGIES

KEYS = ["config", "case", *PARAM_COLUMNS, "cache", "phase", "strategy"]
RATIO_COLUMNS = ["ratio_vs_single", "ratio_ci_low", "ratio_ci_high"]
PRIMAL_COLUMNS = ["ratio_vs_primal", "ratio_vs_primal_ci_low", "ratio_vs_primal_ci_high"]
COLUMNS = [
    *KEYS,
    *SUMMARY_STATS,
    "cpu_median",
    "cores_used",
    "unit",
    "unstable",
    *RATIO_COLUMNS,
    *PAIRED_COLUMNS,
    *PRIMAL_COLUMNS,
]
NONE = (math.nan, math.nan, math.nan)


def summarize(measurements: pd.DataFrame) -> pd.DataFrame:
    """One row per config × case × cache × phase × strategy, from successful rows."""
    ok = measurements[measurements["status"] == "ok"]
    # A frame without a newer case column (a test's, an old file's) summarizes with it empty.
    ok = ok.assign(**{c: None for c in KEYS if c not in ok.columns})
    if ok.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows, samples = [], {}
    for key, group in ok.groupby(KEYS, sort=False, dropna=False):
        counted = dict(zip(KEYS, key)).get("metric") == "instructions"
        values = group["instructions" if counted else "seconds"].astype(float)
        stats = describe(values, group["slot"])
        raw = math.inf if counted else (values * group["loops"].fillna(1)).min()  # a count is not too short
        on_budget = "stopped" in group and bool((group["stopped"] == "budget").any())
        cpu = group["cpu_seconds"] if "cpu_seconds" in group else pd.Series(math.nan, index=group.index)
        used = math.nan if counted else cores_used(values, cpu)  # under valgrind, CPU time is callgrind's
        cpu_median = float(np.nanmedian(cpu.astype(float))) if cpu.notna().any() else math.nan
        rows.append(
            {
                **dict(zip(KEYS, key)),
                **stats,
                "cpu_median": cpu_median,
                "cores_used": used,
                "unit": "instructions" if counted else "s",
                "unstable": instability(stats, raw, on_budget, over_cores(used, dict(zip(KEYS, key)).get("threads"))),
            }
        )
        samples[_ratio_key(rows[-1])] = (values.to_numpy(), group["slot"].to_numpy())
    summary = in_display_order(pd.DataFrame(rows), ok)
    return add_paired(add_ratios(summary, samples), ok)[COLUMNS]


def in_display_order(table: pd.DataFrame, measurements: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``table`` with cases in the order they were measured, then cache, phase, strategy."""
    first_seen = {k: i for i, k in enumerate(dict.fromkeys(zip(measurements["config"], measurements["case"])))}
    order = [
        (first_seen[(r.config, r.case)], r.cache, ALL_PHASES.index(r.phase), STRATEGIES.index(r.strategy))
        for r in table.itertuples()
    ]
    return table.iloc[sorted(range(len(order)), key=order.__getitem__)].reset_index(drop=True)


def _ratio_key(row: dict) -> tuple:
    return (row["config"], row["case"], row["cache"], row["phase"], row["strategy"])


def primal_of(key: tuple) -> tuple | None:
    """The key of the primal a row is held against (itself for a primal), or None: the same case,
    cache and phase in the primal strategy; the NumPy reference's pass, against its forward pass."""
    config, case, cache, phase, strategy = key
    if strategy == NUMPY_REFERENCE:
        return (config, case, cache, "forward", NUMPY_REFERENCE) if phase in ("execute", "forward") else None
    return (config, case, cache, phase, PRIMAL) if phase in RATIO_PHASES else None


def _ratio(samples: dict, key: tuple, base: tuple | None) -> tuple[float, float, float]:
    if base is None or base not in samples:
        return NONE
    if base == key:
        return (1.0, 1.0, 1.0)
    (num, num_slots), (den, den_slots) = samples[key], samples[base]
    return ratio_ci(num, den, num_slots=num_slots, den_slots=den_slots)


def add_ratios(summary: pd.DataFrame, samples: dict) -> pd.DataFrame:
    """Each strategy's median / single's (same case, cache, phase) and / the primal's (``primal_of``),
    with Welch CIs over processes."""
    vs_single, vs_primal = [], []
    for row in summary.to_dict("records"):
        key = _ratio_key(row)
        vs_single.append(_ratio(samples, key, (*key[:-1], "single")))
        vs_primal.append(_ratio(samples, key, primal_of(key)))
    summary = summary.copy()
    summary[RATIO_COLUMNS] = vs_single or np.empty((0, 3))
    summary[PRIMAL_COLUMNS] = vs_primal or np.empty((0, 3))
    return summary


def add_paired(summary: pd.DataFrame, ok: pd.DataFrame) -> pd.DataFrame:
    """Each paired strategy's ratio to single from its pairs (``harness.analysis.pairs``): the partner's
    process median over single's in the same pair, with a t interval over the pairs; empty where the run
    did not pair its workers (``run.pairing: none``, files before schema 13). Where a strategy's processes
    timed the phase alternately with single's (``run.alternate``), the ratio is theirs, over processes."""
    summary = summary.copy()
    summary[PAIRED_COLUMNS] = [NO_PAIRS] * len(summary) or np.empty((0, 5))
    paired = "pair" in ok.columns and ok["pair"].map(lambda p: isinstance(p, str) and p).any()
    if summary.empty or not (paired or ("single_value" in ok.columns and ok["single_value"].notna().any())):
        return summary
    value = np.where(ok["metric"] == "instructions", ok.get("instructions", np.nan), ok["seconds"])
    found = {}
    for key, group in ok.assign(value=value).groupby(["config", "case", "cache", "phase"], sort=False):
        for strategy, d in differences(group).items():
            found[(*key, strategy)] = (*paired_ratio(d), design(group, strategy))
    keys = list(zip(summary["config"], summary["case"], summary["cache"], summary["phase"], summary["strategy"]))
    summary[PAIRED_COLUMNS] = [found.get(k, NO_PAIRS) for k in keys]
    summary["pairs"] = summary["pairs"].astype(int)
    return summary
