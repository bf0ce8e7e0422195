"""Summary statistics of repeated timings, confidence intervals, ratios, flags."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from harness.config.cases import PARAM_COLUMNS
from harness.config.schema import ALL_PHASES, STRATEGIES

SUMMARY_STATS = ("n", "min", "median", "mean", "std", "iqr", "ci_low", "ci_high", "ci_method", "cv")
ORDER_STATISTICS = "order statistics"
PROCESS_BOOTSTRAP = "bootstrap over processes"
CV_LIMIT = 0.10          # spread above this flags a value as unstable (as pyperf does)
MIN_RAW_SECONDS = 1e-3   # a raw timing shorter than this is too short for the clock
BOOTSTRAP = 2000
CONFIDENCE = 0.95


def median_ci(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Distribution-free CI of the median from order statistics.

    The interval [x_(l), x_(n-l+1)] covers the median with probability
    1 - 2 P(B <= l - 1), B ~ Binomial(n, 1/2); l is the largest index whose
    coverage is still >= ``confidence`` (Conover, Practical Nonparametric
    Statistics, 3rd ed., section 3.2). NaN when n is too small (n < 6 at 95%).
    """
    a = np.sort(np.asarray(values, dtype=float))
    n = a.size
    alpha = 1.0 - confidence
    cdf, l = 0.0, 0
    for k in range(n + 1):
        cdf += math.comb(n, k) / 2.0 ** n
        if 2 * cdf > alpha:
            l = k  # P(B <= l - 1) is the last tail small enough
            break
    if l < 1:
        return math.nan, math.nan
    return float(a[l - 1]), float(a[n - l])


def clustered(slots) -> bool:
    """True when values come from several processes, some with several values each.

    Values from one process share that process's luck (memory placement, what
    else ran), so they are not independent draws; their CI must come from
    resampling processes (see bootstrap_medians).
    """
    if slots is None:
        return False
    counts = np.unique(np.asarray(slots), return_counts=True)[1]
    return counts.size > 1 and counts.max() > 1


def bootstrap_medians(values, slots, rng: np.random.Generator, n_boot: int = BOOTSTRAP) -> np.ndarray:
    """Medians of ``n_boot`` bootstrap resamples of ``values``.

    Plain (values drawn with replacement) unless the values are clustered by
    process: then a two-level bootstrap draws processes with replacement,
    then values within each drawn process, so the spread between processes
    widens the interval as it should (Davison & Hinkley 1997, section 3.8).
    """
    values = np.asarray(values, dtype=float)
    if not clustered(slots):
        return np.median(rng.choice(values, (n_boot, values.size)), axis=1)
    slots = np.asarray(slots)
    groups = [values[slots == s] for s in dict.fromkeys(slots)]
    k, sizes = len(groups), np.array([g.size for g in groups])
    table = np.full((k, sizes.max()), np.nan)  # one row per process, padded
    for row, g in zip(table, groups):
        row[:g.size] = g
    picks = rng.integers(0, k, (n_boot, k))
    drawn_sizes = sizes[picks][:, :, None]
    drawn = table[picks[:, :, None], rng.integers(0, drawn_sizes, (n_boot, k, table.shape[1]))]
    drawn[np.arange(table.shape[1]) >= drawn_sizes] = np.nan  # a process gives as many values as it has
    return np.nanmedian(drawn.reshape(n_boot, -1), axis=1)


def percentile_interval(boot: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The central ``confidence`` interval of bootstrap replicates (percentile method)."""
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(boot, [tail, 100 - tail])
    return float(low), float(high)


def describe(seconds, slots=None, seed: int = 0) -> dict:
    """n, min, median, mean, sample std, IQR (linear quartiles), median CI, CV.

    ``slots`` names the process of each value; when values come from several
    processes the median's CI is a two-level bootstrap over processes
    (seeded), otherwise the distribution-free order-statistics interval.
    """
    a = np.asarray(seconds, dtype=float)
    if a.size == 0:
        return {k: (0 if k == "n" else "" if k == "ci_method" else math.nan) for k in SUMMARY_STATS}
    q1, q3 = np.percentile(a, [25, 75])
    std = float(a.std(ddof=1)) if a.size > 1 else 0.0
    mean = float(a.mean())
    if clustered(slots):
        boot = bootstrap_medians(a, slots, np.random.default_rng(seed))
        (low, high), method = percentile_interval(boot), PROCESS_BOOTSTRAP
    else:
        (low, high), method = median_ci(a), ORDER_STATISTICS
    return {"n": int(a.size), "min": float(a.min()), "median": float(np.median(a)),
            "mean": mean, "std": std, "iqr": float(q3 - q1), "ci_low": float(low),
            "ci_high": float(high), "ci_method": method, "cv": std / mean if mean > 0 else math.nan}


def instability(stats: dict, min_raw_seconds: float) -> str:
    """Why a value should not be trusted ('' when it looks stable)."""
    reasons = []
    if stats["n"] > 1 and stats["cv"] > CV_LIMIT:
        reasons.append(f"cv {stats['cv']:.0%} > {CV_LIMIT:.0%}")
    if min_raw_seconds < MIN_RAW_SECONDS:
        reasons.append(f"shortest raw timing {min_raw_seconds * 1e3:.3g} ms < {MIN_RAW_SECONDS * 1e3:g} ms")
    if stats["n"] < 6:
        reasons.append(f"n={stats['n']} too small for a 95% CI")
    return "; ".join(reasons)


def ratio_ci(num, den, seed: int = 0, n_boot: int = BOOTSTRAP, confidence: float = CONFIDENCE,
             num_slots=None, den_slots=None) -> tuple[float, float, float]:
    """Ratio of medians and its percentile-bootstrap CI (seeded, so reproducible).

    Each side is resampled on its own (they come from different workers), over
    processes when its values are clustered by process (see bootstrap_medians).
    """
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    ratio = float(np.median(num) / np.median(den))
    if num.size < 2 or den.size < 2:
        return ratio, math.nan, math.nan
    rng = np.random.default_rng(seed)
    a = bootstrap_medians(num, num_slots, rng, n_boot)
    b = bootstrap_medians(den, den_slots, rng, n_boot)
    low, high = percentile_interval(a / b, confidence)
    return ratio, float(low), float(high)


def summarize(measurements: pd.DataFrame) -> pd.DataFrame:
    """One row per config × case × cache × phase × strategy, from successful rows."""
    keys = ["config", "case", *PARAM_COLUMNS, "cache", "phase", "strategy"]
    columns = [*keys, *SUMMARY_STATS, "unit", "unstable", "ratio_vs_single",
               "ratio_ci_low", "ratio_ci_high"]
    ok = measurements[measurements["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    rows, samples = [], {}
    for key, group in ok.groupby(keys, sort=False, dropna=False):
        stats = describe(group["seconds"], group["slot"])
        raw = (group["seconds"] * group["loops"].fillna(1)).min()
        rows.append({**dict(zip(keys, key)), **stats, "unit": "s",
                     "unstable": instability(stats, raw)})
        samples[_ratio_key(rows[-1])] = (group["seconds"].to_numpy(), group["slot"].to_numpy())
    summary = in_display_order(pd.DataFrame(rows), ok)
    return add_ratios(summary, samples)[columns]


def in_display_order(table: pd.DataFrame, measurements: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``table`` with cases in the order they were measured, then cache, phase, strategy."""
    first_seen = {k: i for i, k in enumerate(dict.fromkeys(zip(measurements["config"], measurements["case"])))}
    order = [(first_seen[(r.config, r.case)], r.cache, ALL_PHASES.index(r.phase),
              STRATEGIES.index(r.strategy)) for r in table.itertuples()]
    return table.iloc[sorted(range(len(order)), key=order.__getitem__)].reset_index(drop=True)


def _ratio_key(row: dict) -> tuple:
    return (row["config"], row["case"], row["cache"], row["phase"], row["strategy"])


def add_ratios(summary: pd.DataFrame, samples: dict) -> pd.DataFrame:
    """Each strategy's median / single's (same case, cache, phase), with a bootstrap CI."""
    out = []
    for row in summary.to_dict("records"):
        key = _ratio_key(row)
        base = samples.get((*key[:-1], "single"))
        if row["strategy"] == "single":
            out.append((1.0, 1.0, 1.0))
        elif base is None:
            out.append((math.nan, math.nan, math.nan))
        else:
            (num, num_slots), (den, den_slots) = samples[key], base
            out.append(ratio_ci(num, den, num_slots=num_slots, den_slots=den_slots))
    summary = summary.copy()
    summary[["ratio_vs_single", "ratio_ci_low", "ratio_ci_high"]] = out
    return summary
