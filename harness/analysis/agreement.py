"""How far two runs agree (issue 22, item 4): their within-case ratios and their medians, value by value.

A within-case ratio (``per_param`` over ``single``, ``per_param_separate`` over ``single``, per phase, in
one case of one run) is what the question asks about; a whole run's shift on a noisy machine (3-14%
between runs on the project's 2-core VM) cancels in it, where it moves every median. So both are said:
how many of each moved by at most a tolerance (5% for times, the issue's target) between the two runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from harness.analysis.stats import interval_se, satterthwaite
from harness.core.case import PARAM_COLUMNS
from harness.core.registry import GRADIENT_STRATEGIES

TOLERANCE = 0.05
KEY = ["config", "case", *PARAM_COLUMNS, "cache", "phase", "strategy"]


def _timed_warm(summary: pd.DataFrame) -> pd.DataFrame:
    s = summary[(summary["cache"] == "warm") & (summary["unit"] != "instructions")].copy()
    params = [c for c in PARAM_COLUMNS if c in s.columns]
    s[params] = s[params].astype(str)  # NaN widths match too
    return s


def with_ratio(summary: pd.DataFrame) -> pd.DataFrame:
    """``ratio``, ``ratio_low``, ``ratio_high``: each row's ratio to single with its CI, from its pairs where
    the run paired its workers (two pairs at least), else the unpaired one; ``ratio_df``: the interval's
    degrees of freedom (pairs less one; processes less one for the unpaired, Welch's at most that)."""
    s = summary.copy()
    pairs = s["pairs"] if "pairs" in s else pd.Series(0, index=s.index)
    use = pairs.fillna(0).astype(int) >= 2
    processes = s["processes"] if "processes" in s else pd.Series(np.nan, index=s.index)
    s["ratio_df"] = np.where(use, pairs.fillna(0) - 1, processes - 1)
    for out, paired, unpaired in (
        ("ratio", "paired_ratio", "ratio_vs_single"),
        ("ratio_low", "paired_ci_low", "ratio_ci_low"),
        ("ratio_high", "paired_ci_high", "ratio_ci_high"),
    ):
        s[out] = np.where(use, s[paired], s[unpaired]) if paired in s else s[unpaired]
    return s


def changes(base: pd.DataFrame, new: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` (``median``, or ``ratio``: each ratio to single, paired where the runs paired it) of every
    timed warm value both summaries have: ``base``, ``new``, ``change`` (new over base, less 1), and for a
    ratio whether each lies inside the other run's CI (``inside``: both do)."""
    a, b = _timed_warm(with_ratio(base)), _timed_warm(with_ratio(new))
    key = [c for c in KEY if c in a.columns and c in b.columns]
    columns = [column]
    if column == "ratio":  # the per-parameter strategies' (single's own is 1 by definition)
        per_param = [s for s in GRADIENT_STRATEGIES if s != "single"]
        a, b = a[a["strategy"].isin(per_param)], b[b["strategy"].isin(per_param)]
        columns += ["ratio_low", "ratio_high", "ratio_df"]
    both = a[[*key, *columns]].merge(b[[*key, *columns]], on=key, suffixes=("_base", "_new"))
    both = both.rename(columns={f"{column}_base": "base", f"{column}_new": "new"})
    both = both[(both["base"] > 0) & (both["new"] > 0)]
    both["change"] = both["new"] / both["base"] - 1
    if column == "ratio":
        both["inside"] = (
            (both["ratio_low_base"] <= both["new"])
            & (both["new"] <= both["ratio_high_base"])
            & (both["ratio_low_new"] <= both["base"])
            & (both["base"] <= both["ratio_high_new"])
        )
        both["consistent"] = consistent(both)
    return both.reset_index(drop=True)


def consistent(both: pd.DataFrame, confidence: float = 0.95) -> pd.Series:
    """Whether a ratio's change between two runs lies inside the change's own 95% CI: each run's interval
    read back as a standard error on the log scale (its half-width over its t quantile), the two combined
    by Welch. Where both runs' intervals are honest and the runs differ by no more than their processes
    do, it holds 95% of the time; "each inside the other's CI" cannot (84% with 3 processes a side, 81%
    with 6: a ratio is as uncertain as the interval it is held against). NaN where a run has no CI."""
    q = 0.5 + confidence / 2
    se = {}
    for side in ("base", "new"):
        df = both[f"ratio_df_{side}"].where(both[f"ratio_df_{side}"] >= 1)
        se[side] = (
            pd.Series(
                interval_se(both[f"ratio_low_{side}"], both[f"ratio_high_{side}"], df, confidence), index=both.index
            ),
            df,
        )
    var = se["base"][0] ** 2 + se["new"][0] ** 2
    welch_df = satterthwaite(se["base"][0] ** 2, se["base"][1], se["new"][0] ** 2, se["new"][1])
    change = np.abs(np.log(both["new"] / both["base"]))
    bound = student_t.ppf(q, welch_df.fillna(1.0).clip(lower=1.0)) * np.sqrt(var)
    out = (change <= bound + 1e-12).astype(object)
    return out.where(var.notna(), np.nan)


def inside_line(table: pd.DataFrame) -> str:
    """'ratios inside the other run's 95% CI: 58 of 63 (92%)' (each run's ratio inside the other's CI)."""
    if table.empty or "inside" not in table:
        return "ratios inside the other run's 95% CI: none in both runs"
    n = int(table["inside"].sum())
    return f"ratios inside the other run's 95% CI (each in the other's): {n} of {len(table)} ({n / len(table):.0%})"


def consistent_line(table: pd.DataFrame) -> str:
    """'ratios whose change lies inside its own 95% CI ...: 60 of 63 (95%)' (``consistent``)."""
    known = table["consistent"].dropna() if "consistent" in table else pd.Series(dtype=object)
    if known.empty:
        return "ratios whose change lies inside its own 95% CI: none with a CI in both runs"
    n = int(known.astype(bool).sum())
    return (
        f"ratios whose change lies inside its own 95% CI (Welch, from both runs' intervals; about 95% when "
        f"both are honest): {n} of {len(known)} ({n / len(known):.0%})"
    )


def agreement_line(what: str, table: pd.DataFrame, tolerance: float = TOLERANCE) -> str:
    """'what: 47 of 50 within 5% between the runs (94%); median change 1.2%, largest +8.1% (where)'."""
    if table.empty:
        return f"{what}: none in both runs"
    moved = table["change"].abs()
    within = int((moved <= tolerance).sum())
    worst = table.loc[moved.idxmax()]
    return (
        f"{what}: {within} of {len(table)} within {tolerance:.0%} between the runs ({within / len(table):.0%}); "
        f"median change {float(np.median(moved)):.1%}, largest {worst['change']:+.1%} "
        f"({worst['config']} {worst['case']} {worst['phase']} {worst['strategy']})"
    )


def by_phase_line(table: pd.DataFrame, tolerance: float = TOLERANCE) -> str:
    """'by phase, within 5% / inside the other's CI: construct 9/9 / 9/9, compile ...': where two runs'
    ratios disagree (one first call a process spreads more than a phase timed many times)."""
    if table.empty:
        return "by phase: none in both runs"
    parts = []
    for phase, g in table.groupby("phase", sort=False):
        within = int((g["change"].abs() <= tolerance).sum())
        inside = f" / {int(g['inside'].sum())}" if "inside" in g else ""
        parts.append(f"{phase} {within}{inside} of {len(g)}")
    what = f"within {tolerance:.0%}" + (" / inside the other's CI" if "inside" in table else "")
    return f"by phase ({what}): " + ", ".join(parts)
