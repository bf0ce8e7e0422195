"""report.md's "Precision reached": how precise the run's timed values came out, and what its time budget cut."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.report.pairs_section import headline_lines

LEVELS = (0.02, 0.05)  # half-widths of a 95% CI, relative to the median, that the line counts


def half_widths(summary: pd.DataFrame) -> tuple[pd.Series, int]:
    """The relative half-widths of the 95% CIs of the timed warm values with a CI over processes, and
    how many timed warm values have none (one process)."""
    timed = summary[(summary["unit"] != "instructions") & (summary["cache"] == "warm")]
    with_ci = timed[timed["ci_low"].notna() & timed["ci_high"].notna() & (timed["median"] > 0)]
    widths = (with_ci["ci_high"] - with_ci["ci_low"]) / 2 / with_ci["median"]
    return widths.astype(float), len(timed) - len(with_ci)


def precision_section(run: dict) -> list[str]:
    """The CIs the run reached; with a time budget (env.json ``time_budget``), what it bounded."""
    summary = run.get("summary")
    lines = []
    if summary is not None and not summary.empty and "ci_low" in summary:
        widths, without = half_widths(summary)
        if len(widths) or without:
            reached = ", ".join(f"{int((widths <= level).sum())} within ±{level:.0%}" for level in LEVELS)
            median = f"; median ±{np.median(widths):.1%}" if len(widths) else ""
            lines.append(
                f"- **Timed warm values**: {len(widths) + without}; of the {len(widths)} with a 95% CI over "
                f"processes, {reached}{median}" + (f"; {without} with one process (no CI)" if without else "") + "."
            )
    if summary is not None:
        lines += headline_lines(summary)
    for budget in run["env"].get("time_budget") or []:
        lines.append(budget_line(budget))
    if not lines:
        return []
    return ["## Precision reached", "", *lines, ""]


def budget_line(budget: dict) -> str:
    """One line for a run's (or a resumed part's) time budget: what it spent and what gave way."""
    repeats = budget.get("repeat_budget_s") or {}
    added = budget.get("added_processes") or {}
    cut = repeats.get("cut") or 0
    given = (
        f"{cut} of {repeats.get('workers')} workers were given fewer seconds of auto repeats per value than their "
        f"config's `budget_s` (median {repeats.get('median'):.2f} s, least {repeats.get('min'):.2f} s)"
        if cut
        else f"no worker's auto repeats were cut ({repeats.get('workers')} workers)"
    )
    return (
        f"- **Time budget** {budget.get('budget_s'):.0f} s: the workers took {budget.get('spent_s'):.0f} s; "
        f"{given}; processes added where a median would move: {added.get('ran', 0)} of {added.get('wanted', 0)} "
        f"wanted; planned workers skipped: {budget.get('planned_skipped', 0)}."
    )
