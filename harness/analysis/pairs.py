"""Ratios from pairs: two workers measured close together in time, their ratio's interval over the pairs.

A pair is two worker processes of one case that the run measured together
(``run.pairing``: back to back, or at once on two cores) and labelled alike
(column ``pair``): ``single`` and one other strategy, or ``single`` and
``single_aa``, a second ``single`` (the A/A control). Each pair gives one
difference, log(median of the partner's process) - log(median of single's);
the ratio is exp(mean difference) and its 95% interval a t interval over the
pairs. Whatever the host does on the scale of a pair (a slow minute, a
neighbour's job) moves both sides and leaves the difference, where the
unpaired interval (``stats.ratio_ci``) holds it as spread; what differs
between two processes (memory layout) stays in the difference, so pairs are
the clusters and the interval covers at its nominal rate
(``harness.analysis.coverage``; docs/methodology.md, "Ratios from pairs").
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import t as student_t

from harness.analysis.stats import welch_p_value
from harness.core.order_statistics import CONFIDENCE

BASE = "single"  # every paired ratio is taken against single, as the unpaired one is
ALTERNATED = "alternated"  # summary.csv pair_design: timed in turn with single in each process, over processes
PROCESSES = "processes"  # ... from pairs of processes measured together (run.pairing)
PAIRED_COLUMNS = ["paired_ratio", "paired_ci_low", "paired_ci_high", "pairs", "pair_design"]
NONE = (math.nan, math.nan, math.nan, 0, "")


def label(round_index: int, partner: str) -> str:
    """The ``pair`` column of the workers measured together: 'per_param:2' is round 2's pair of single with
    per_param; 'block:2' is round 2's block (``run.pairing: block``: single and every other strategy)."""
    return f"{partner}:{round_index}"


def differences(rows) -> dict[str, np.ndarray]:
    """Per strategy, its log differences to single in one phase of one case and cache (``rows``: columns
    strategy, slot, pair, value and, from schema 14, single_value): from its processes' alternated
    timings where it has them (``alternated``), else from its pairs of processes (``process_pairs``)."""
    found = process_pairs(rows)
    found.update(alternated(rows))
    return found


def design(rows, strategy: str) -> str:
    """How ``strategy``'s paired ratio in ``rows`` was measured: ALTERNATED, PROCESSES or '' (unpaired)."""
    if strategy in alternated(rows):
        return ALTERNATED
    return PROCESSES if strategy in process_pairs(rows) else ""


def alternated(rows) -> dict[str, np.ndarray]:
    """Per strategy, one log difference per process that timed this phase alternately with single's
    (``run.alternate``: each row's single_value is single's timing next to it): the median over the
    process's pairs of log(value / single_value). The processes are the clusters: what one process's
    memory layout does to both sides stays in its difference, and the t interval over processes holds it."""
    if "single_value" not in rows or not rows["single_value"].notna().any():
        return {}
    rows = rows[rows["single_value"].notna()]
    out: dict[str, list] = {}
    for (strategy, _), g in rows.groupby(["strategy", "slot"], sort=False):
        logs = np.log(g["value"].astype(float).to_numpy() / g["single_value"].astype(float).to_numpy())
        out.setdefault(strategy, []).append(float(np.median(logs)))
    return {k: np.asarray(v) for k, v in out.items()}


def process_pairs(rows) -> dict[str, np.ndarray]:
    """Per strategy, the log differences of its pairs of processes: log(its process median) - log(single's
    in the same pair or block), one per pair or block that has both."""
    out: dict[str, list] = {}
    for pair, group in rows.groupby("pair", sort=False):
        if not (isinstance(pair, str) and pair):
            continue
        sides = {s: g["value"].astype(float).to_numpy() for s, g in group.groupby("strategy", sort=False)}
        if BASE not in sides:
            continue
        base = np.median(sides[BASE])
        for strategy, values in sides.items():
            if strategy != BASE:
                out.setdefault(strategy, []).append(math.log(np.median(values) / base))
    return {k: np.asarray(v) for k, v in out.items()}


def paired_ratio(diffs, confidence: float = CONFIDENCE) -> tuple[float, float, float, int]:
    """exp(mean log difference) and its t interval over the pairs; NaN interval with one pair."""
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        return NONE[:4]
    mean = float(d.mean())
    if d.size < 2:
        return math.exp(mean), math.nan, math.nan, 1
    half = float(student_t.ppf(0.5 + confidence / 2, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half), int(d.size)


def covers_one(low: float, high: float) -> bool | None:
    """Whether an A/A interval contains 1 (None without an interval): a miss says the pairing broke."""
    if low != low or high != high:
        return None
    return low <= 1.0 <= high


def compare_pairs(base_diffs, new_diffs, factor: float, alpha: float = 0.05) -> dict:
    """Has a paired ratio moved between two runs? Its change (new over base, from the mean log
    differences), Welch's p over the two runs' pairs, and the verdict: 'larger' or 'smaller' where p <
    ``alpha`` and the change is beyond ``factor``, 'untestable' with fewer than two pairs a side."""
    a, b = np.asarray(base_diffs, dtype=float), np.asarray(new_diffs, dtype=float)
    if a.size == 0 or b.size == 0:
        return {"change": math.nan, "p_value": math.nan, "verdict": "untestable"}
    change = math.exp(b.mean() - a.mean())
    if a.size < 2 or b.size < 2:
        return {"change": change, "p_value": math.nan, "verdict": "untestable"}
    p = welch_p_value(np.exp(b), np.exp(a))  # Welch over the two runs' pairs (it takes levels, logs them)
    verdict = ""
    if p < alpha and change > factor:
        verdict = "larger"
    elif p < alpha and change < 1 / factor:
        verdict = "smaller"
    return {"change": change, "p_value": p, "verdict": verdict}
