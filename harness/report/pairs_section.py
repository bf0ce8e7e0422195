"""report.md's paired ratios: a ratio's text from its pairs, the headline ratios, and the A/A control's verdict."""

from __future__ import annotations

import math

import pandas as pd

from harness.analysis.pairs import ALTERNATED, covers_one
from harness.core.registry import CONTROL
from harness.report.formatting import format_ratio
from harness.report.frameworks import pick

HEADLINE = (  # (phase, strategy): the question's ratios to single, as issue 34 names them
    ("construct", "per_param"),
    ("execute", "per_param"),
    ("execute", "per_param_separate"),
)
TARGETS = (0.05, 0.10)  # ×/÷ factors the headline ratios' CIs are held against (a quiet and a noisy hour)


def paired(row) -> bool:
    return "pairs" in row and row["pairs"] == row["pairs"] and int(row["pairs"]) >= 2


def alternated(row) -> bool:
    return row.get("pair_design") == ALTERNATED


def over(row) -> str:
    """What a paired ratio's interval is over: processes that each timed both in turn, or pairs."""
    n = int(row["pairs"])
    return f"over {n} processes timing it in turn with `single`" if alternated(row) else f"over {n} pairs"


def ratio_text(row) -> str:
    """A ratio to single: from its pairs where the run paired its workers, with the unpaired one beside it;
    otherwise the unpaired Welch interval over processes."""
    unpaired = format_ratio(row["ratio_vs_single"], row["ratio_ci_low"], row["ratio_ci_high"], label="95% CI ")
    if row["strategy"] == "single":
        return format_ratio(row["ratio_vs_single"])
    if paired(row):
        text = format_ratio(row["paired_ratio"], row["paired_ci_low"], row["paired_ci_high"], label="95% CI ")
        return f"{text} {over(row)} (unpaired: {unpaired or 'n/a'})"
    return unpaired if row["ratio_ci_low"] == row["ratio_ci_low"] else unpaired + " (no CI: one process)"


def spread_factor(low: float, high: float, ratio: float) -> float:
    """How far a CI reaches from its ratio, as a factor: max(high/ratio, ratio/low) (×/÷ that)."""
    if not (low == low and high == high and ratio > 0 and low > 0):
        return math.nan
    return max(high / ratio, ratio / low)


def primal_line(summary: pd.DataFrame, case: str) -> str | None:
    """`single` over `primal` in execute, from their pairs (the inverse of the primal row's paired ratio)."""
    row = pick(summary, case, "warm", "execute", "primal")
    if row is None or not paired(row) or not row["paired_ratio"] > 0:
        return None
    r, lo, hi = (1 / row[c] for c in ("paired_ratio", "paired_ci_high", "paired_ci_low"))
    return (
        f"- `single`'s gradient runs in {format_ratio(r, lo, hi, label='95% CI ')} the time of its primal "
        f"(the loss alone), {over(row)}."
    )


def control_line(summary: pd.DataFrame, case: str) -> str | None:
    """The A/A control: a second `single` against `single` through the same pairing, per phase; it should
    cover 1, and a miss says the machine broke the pairing."""
    parts, missed = [], []
    for phase in ("construct", "compile", "execute"):
        row = pick(summary, case, "warm", phase, CONTROL)
        if row is None or not paired(row):
            continue
        where = " (in turn, in one process)" if alternated(row) else ""
        parts.append(f"{phase} {format_ratio(row['paired_ratio'], row['paired_ci_low'], row['paired_ci_high'])}{where}")
        if covers_one(row["paired_ci_low"], row["paired_ci_high"]) is False:
            missed.append(phase)
    if not parts:
        return None
    verdict = (
        f"**misses 1 in {', '.join(missed)}**: the machine moved between the two workers of a pair more than "
        "the pairs allow; read this case's paired ratios with care"
        if missed
        else "covers 1, as it should"
    )
    return f"- A/A control (`{CONTROL}`, a second `single` paired like the others): {'; '.join(parts)}: {verdict}."


def headline_lines(summary: pd.DataFrame) -> list[str]:
    """Precision reached by the first case's headline ratios (each over single, and single over primal):
    their CIs as ×/÷ factors against the targets."""
    if summary is None or summary.empty or "pairs" not in summary:
        return []
    first = summary[summary["cache"] == "warm"]
    if first.empty:
        return []
    config, case = first.iloc[0]["config"], first.iloc[0]["case"]
    s = summary[summary["config"] == config]
    parts = []
    for phase, strategy in (*HEADLINE, ("execute", "primal")):
        row = pick(s, case, "warm", phase, strategy)
        if row is None:
            continue
        kind = ("alternated" if alternated(row) else "paired") if paired(row) else "unpaired"
        cols = (
            ("paired_ratio", "paired_ci_low", "paired_ci_high")
            if paired(row)
            else (
                "ratio_vs_single",
                "ratio_ci_low",
                "ratio_ci_high",
            )
        )
        factor = spread_factor(row[cols[1]], row[cols[2]], row[cols[0]])
        name = "`single` over `primal`" if strategy == "primal" else f"{phase} `{strategy}`"
        parts.append(f"{name} ×/÷{factor:.3f} ({kind})" if factor == factor else f"{name}: no CI")
    if not parts:
        return []
    met = ", ".join(f"×/÷{1 + t:.2f}" for t in TARGETS)
    return [f"- **Headline ratios of {config}/{case}** (95% CI as a factor; targets {met}): {'; '.join(parts)}."]
