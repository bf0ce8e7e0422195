"""Where the variance is, and how many repeats a process should time (Kalibera & Jones, 2013).

A value's timings vary at two levels: repeats within a worker process (sd ``within``, on the log scale) and
the processes' own levels (sd ``between``: memory layout, the machine's minute). Repeats average the first
only; a process costs its start-up, data and checks (``process_cost_s``: its wall time less its timed
seconds) and a repeat its call (``repeat_cost_s``). For a given time, the mean over processes is most
precise with ``sqrt(process_cost / repeat_cost × within² / between²)`` repeats a process (Kalibera & Jones,
"Rigorous Benchmarking in Reasonable Time", ISMM 2013, eq. for two levels), and the rest spent on processes.
``between`` is estimated as in a one-way ANOVA: the variance of process means less the part their repeats
explain (at least 1% of ``within``², so a value whose processes agree gets many repeats, not infinitely many).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

KEYS = ["config", "case", "phase", "strategy"]


def components(logs_by_process: list) -> tuple[float, float, float]:
    """(sd within processes, sd between process levels, mean repeats a process) of log timings."""
    groups = [np.asarray(g, dtype=float) for g in logs_by_process if len(g) >= 2]
    if len(groups) < 2:
        return math.nan, math.nan, math.nan
    within = float(np.mean([g.var(ddof=1) for g in groups]))
    repeats = float(np.mean([g.size for g in groups]))
    means = np.array([g.mean() for g in groups])
    between = max(float(means.var(ddof=1)) - within / repeats, 0.01 * within)
    return math.sqrt(within), math.sqrt(between), repeats


def optimal_repeats(process_cost_s: float, repeat_cost_s: float, within: float, between: float) -> float:
    """Kalibera & Jones's repeats a process: sqrt(cost ratio × variance ratio), at least 1."""
    if not (process_cost_s > 0 and repeat_cost_s > 0 and between > 0) or within != within:
        return math.nan
    return max(1.0, math.sqrt(process_cost_s / repeat_cost_s * within**2 / between**2))


def allocation(measurements: pd.DataFrame, workers: pd.DataFrame) -> pd.DataFrame:
    """Per warm timed value (config, case, phase, strategy) with auto repeats in two processes or more: the
    two sds, the costs, the repeats it had and those Kalibera & Jones would give it."""
    ok = measurements[(measurements["status"] == "ok") & (measurements["cache"] == "warm")]
    if "stopped" in ok:
        ok = ok[ok["stopped"].notna() & (ok["stopped"].astype(str) != "")]  # auto-repeated values only
    if ok.empty:
        return pd.DataFrame(columns=[*KEYS, "within", "between", "repeats", "repeat_cost_s", "process_cost_s"])
    ok = ok.assign(spent=ok["seconds"].astype(float) * ok["loops"].fillna(1).astype(float))
    timed = ok.groupby(["config", "case", "strategy", "slot"])["spent"].sum()
    w = workers[(workers["status"] == "ok") & (workers["cache"] == "warm")].set_index(
        ["config", "case", "strategy", "slot"]
    )["wall_seconds"]
    overhead = (w - timed.reindex(w.index).fillna(0)).groupby(level=["config", "case", "strategy"]).median()
    rows = []
    for key, g in ok.groupby(KEYS, sort=False):
        logs = [np.log(p["seconds"].astype(float).to_numpy()) for _, p in g.groupby("slot")]
        within, between, repeats = components(logs)
        if within != within:
            continue
        repeat_cost = float(g["spent"].median())
        process_cost = float(overhead.get((key[0], key[1], key[3]), math.nan))
        rows.append(
            {
                **dict(zip(KEYS, key)),
                "within": within,
                "between": between,
                "repeats": repeats,
                "repeat_cost_s": repeat_cost,
                "process_cost_s": process_cost,
                "optimal_repeats": optimal_repeats(process_cost, repeat_cost, within, between),
            }
        )
    return pd.DataFrame(rows)
