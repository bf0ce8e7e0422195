"""Summary statistics of repeated timings, confidence intervals, ratios, flags.

The unit of independent replication is the worker process. Values from one
process share that process's luck (memory placement, what else ran), so
intervals are built from one number per process, its median: a t interval
on the log of the process medians, and for a ratio a Welch interval on the
difference of two such sets. This covers at its nominal rate however much
processes differ (``harness.analysis.coverage`` simulates it; docs/methodology.md,
"How to read the numbers"). One process cannot say what another would measure:
its values get no interval, and say so.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import t as student_t

from harness.core.order_statistics import CONFIDENCE

SUMMARY_STATS = ("n", "processes", "min", "median", "mean", "std", "iqr", "ci_low", "ci_high", "ci_method", "cv")
T_OVER_PROCESSES = "t over process medians"
ONE_PROCESS = "none: one process"
CV_LIMIT = 0.10  # spread above this flags a value as unstable (as pyperf does)
MIN_RAW_SECONDS = 1e-3  # a raw timing shorter than this is too short for the clock
UNTESTABLE = "untestable: one process"  # compare_samples with one process on a side
ALPHA = 0.05  # compare_samples: significance level of the Welch test
CORES_TOLERANCE = 0.10  # cores used above threads by more than this flags a value (it had more cores)


def process_medians(values, slots=None) -> np.ndarray:
    """The median of each process's values, in the order processes first appear.

    ``slots`` names the process of each value; without it every value is its
    own process (as a cold compile is).
    """
    values = np.asarray(values, dtype=float)
    if slots is None:
        return values
    slots = np.asarray(slots)
    return np.array([np.median(values[slots == s]) for s in dict.fromkeys(slots.tolist())])


def log_mean_and_variance(levels) -> tuple[float, float, int]:
    """Mean of log(levels), the variance of that mean, and its degrees of freedom."""
    logs = np.log(np.asarray(levels, dtype=float))
    k = logs.size
    return float(logs.mean()), float(logs.var(ddof=1) / k) if k > 1 else math.nan, k - 1


def t_interval(values, slots=None, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """CI of the typical process's median: exp(mean ± t sd/sqrt(k)) of k log process medians.

    NaN with one process. Timings are right-skewed and processes differ by a
    factor, so the interval is built on the log scale (it is a CI of the
    geometric mean of process medians, which is the median of process
    medians when their logs are symmetric).
    """
    mean, var, df = log_mean_and_variance(process_medians(values, slots))
    if df < 1:
        return math.nan, math.nan
    half = student_t.ppf(0.5 + confidence / 2, df) * math.sqrt(var)
    return math.exp(mean - half), math.exp(mean + half)


def satterthwaite(va, dfa, vb, dfb):
    """Welch-Satterthwaite degrees of freedom of a difference of two estimates with variances ``va`` and ``vb``
    known to ``dfa`` and ``dfb`` degrees of freedom (numbers or arrays alike)."""
    return (va + vb) ** 2 / (va**2 / dfa + vb**2 / dfb)


def interval_se(low, high, df, confidence: float = CONFIDENCE):
    """The standard error on the log scale that a t interval [low, high] with ``df`` degrees of freedom was
    built from: its half-width in log over its t quantile (numbers or arrays; NaN where df < 1)."""
    df = np.where(np.asarray(df, dtype=float) >= 1, df, np.nan)
    return (np.log(high) - np.log(low)) / 2 / student_t.ppf(0.5 + confidence / 2, df)


def welch(num_levels, den_levels) -> tuple[float, float, float]:
    """log(num/den) from two sets of process medians, its standard error and Welch's df.

    NaN standard error and df when either side has a single process.
    """
    ma, va, dfa = log_mean_and_variance(num_levels)
    mb, vb, dfb = log_mean_and_variance(den_levels)
    if dfa < 1 or dfb < 1:
        return ma - mb, math.nan, math.nan
    var = va + vb
    if var == 0:
        return ma - mb, 0.0, math.inf
    return ma - mb, math.sqrt(var), satterthwaite(va, dfa, vb, dfb)


def welch_p_value(num_levels, den_levels) -> float:
    """Two-sided p of Welch's t test of equal log process medians (NaN with one process a side)."""
    diff, se, df = welch(num_levels, den_levels)
    if se != se:
        return math.nan
    if se == 0:
        return 1.0 if diff == 0 else 0.0
    return float(2 * student_t.sf(abs(diff) / se, df))


def describe(seconds, slots=None) -> dict:
    """n, processes, min, median, mean, sample std, IQR (linear quartiles), CI, CV.

    The median and the spread are of all values; the CI is of the typical
    process's median (``t_interval``), absent with a single process.
    """
    a = np.asarray(seconds, dtype=float)
    if a.size == 0:
        return {k: (0 if k in ("n", "processes") else "" if k == "ci_method" else math.nan) for k in SUMMARY_STATS}
    q1, q3 = np.percentile(a, [25, 75])
    std = float(a.std(ddof=1)) if a.size > 1 else 0.0
    mean = float(a.mean())
    k = process_medians(a, slots).size
    low, high = t_interval(a, slots)
    return {
        "n": int(a.size),
        "processes": k,
        "min": float(a.min()),
        "median": float(np.median(a)),
        "mean": mean,
        "std": std,
        "iqr": float(q3 - q1),
        "ci_low": low,
        "ci_high": high,
        "ci_method": T_OVER_PROCESSES if k > 1 else ONE_PROCESS,
        "cv": std / mean if mean > 0 else math.nan,
    }


def cores_used(seconds, cpu_seconds) -> float:
    """How many cores a value's timings kept busy: the median over its timings of process CPU time
    over wall time (NaN where no CPU time was recorded: runs before schema 8)."""
    wall, cpu = np.asarray(seconds, dtype=float), np.asarray(cpu_seconds, dtype=float)
    keep = (wall > 0) & ~np.isnan(cpu)
    return float(np.median(cpu[keep] / wall[keep])) if keep.any() else math.nan


def over_cores(used: float, threads) -> str:
    """Why a value used more cores than its threads allow ('' if it did not, or cannot tell)."""
    try:
        limit = float(threads)
    except (TypeError, ValueError):
        return ""
    if used == used and limit == limit and used > limit * (1 + CORES_TOLERANCE):
        return f"cores used {used:.2f} > {limit:g} thread(s)"
    return ""


def instability(stats: dict, min_raw_seconds: float, on_budget: bool = False, cores: str = "") -> str:
    """Why a value should not be trusted ('' when it looks stable). ``cores``: ``over_cores``'s
    reason, if the value ran on more cores than its case's threads (it is not comparable).

    A value from one process is not flagged here: its missing CI says that.
    """
    reasons = [cores] if cores else []
    if stats["n"] > 1 and stats["cv"] > CV_LIMIT:
        reasons.append(f"cv {stats['cv']:.0%} > {CV_LIMIT:.0%}")
    if min_raw_seconds < MIN_RAW_SECONDS:
        reasons.append(f"shortest raw timing {min_raw_seconds * 1e3:.3g} ms < {MIN_RAW_SECONDS * 1e3:g} ms")
    if on_budget:
        reasons.append("auto repeats stopped on the time budget, short of the precision asked")
    return "; ".join(reasons)


def ratio_ci(num, den, confidence: float = CONFIDENCE, num_slots=None, den_slots=None) -> tuple[float, float, float]:
    """Ratio of medians, and a Welch CI of the ratio of typical process medians.

    Each side comes from its own workers. The CI is exp(d ± t se) with d the
    difference of mean log process medians (``welch``); NaN when a side has
    one process.
    """
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    ratio = float(np.median(num) / np.median(den))
    diff, se, df = welch(process_medians(num, num_slots), process_medians(den, den_slots))
    if se != se:
        return ratio, math.nan, math.nan
    half = student_t.ppf(0.5 + confidence / 2, df) * se if se > 0 else 0.0
    return ratio, math.exp(diff - half), math.exp(diff + half)


def compare_samples(base, new, factor: float, base_slots=None, new_slots=None) -> dict:
    """Ratio of medians, Welch's p over process medians and the verdict for one key.

    ``*_slots`` name each value's process; without them every value is its
    own process.
    """
    base, new = np.asarray(base, dtype=float), np.asarray(new, dtype=float)
    levels_base, levels_new = process_medians(base, base_slots), process_medians(new, new_slots)
    ratio = float(np.median(new) / np.median(base))
    p = welch_p_value(levels_new, levels_base)
    significant = p == p and p < ALPHA
    if p != p:
        change = UNTESTABLE
    elif significant and ratio > factor:
        change = "slower"
    elif significant and ratio < 1 / factor:
        change = "faster"
    else:
        change = ""
    return comparison_row(base, new, levels_base, levels_new, p, change)


def comparison_row(base, new, levels_base, levels_new, p: float, change: str) -> dict:
    """compare.csv's columns for one key: sizes, medians, the ratio of medians, p and the verdict."""
    return {
        "n_base": base.size,
        "n_new": new.size,
        "processes_base": levels_base.size,
        "processes_new": levels_new.size,
        "median_base_s": float(np.median(base)),
        "median_new_s": float(np.median(new)),
        "ratio": float(np.median(new) / np.median(base)),
        "p_value": p,
        "change": change,
    }
