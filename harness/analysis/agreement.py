"""How far two runs agree (issue 22, item 4): their within-case ratios and their medians, value by value.

A within-case ratio (``per_param`` over ``single``, ``per_param_separate`` over ``single``, per phase, in
one case of one run) is what the question asks about; a whole run's shift on a noisy machine (3-14%
between runs on the project's 2-core VM) cancels in it, where it moves every median. So both are said:
how many of each moved by at most a tolerance (5% for times, the issue's target) between the two runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.core.case import PARAM_COLUMNS
from harness.core.registry import GRADIENT_STRATEGIES

TOLERANCE = 0.05
KEY = ["config", "case", *PARAM_COLUMNS, "cache", "phase", "strategy"]


def _timed_warm(summary: pd.DataFrame) -> pd.DataFrame:
    s = summary[(summary["cache"] == "warm") & (summary["unit"] != "instructions")].copy()
    params = [c for c in PARAM_COLUMNS if c in s.columns]
    s[params] = s[params].astype(str)  # NaN widths match too
    return s


def changes(base: pd.DataFrame, new: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` (``median`` or ``ratio_vs_single``) of every timed warm value both summaries have:
    ``base``, ``new`` and ``change`` (new over base, less 1)."""
    a, b = _timed_warm(base), _timed_warm(new)
    key = [c for c in KEY if c in a.columns and c in b.columns]
    if column == "ratio_vs_single":  # the per-parameter strategies' (single's own is 1 by definition)
        per_param = [s for s in GRADIENT_STRATEGIES if s != "single"]
        a, b = a[a["strategy"].isin(per_param)], b[b["strategy"].isin(per_param)]
    both = a[[*key, column]].merge(b[[*key, column]], on=key, suffixes=("_base", "_new"))
    both = both.rename(columns={f"{column}_base": "base", f"{column}_new": "new"})
    both = both[(both["base"] > 0) & (both["new"] > 0)]
    both["change"] = both["new"] / both["base"] - 1
    return both.reset_index(drop=True)


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
