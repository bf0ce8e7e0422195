"""report.md's gradient ÷ primal section: each framework's gradient against its own loss and the arithmetic."""

from __future__ import annotations

import pandas as pd

from harness.core.registry import NUMPY_REFERENCE
from harness.report.formatting import FRAMEWORK_NAMES, format_measure, format_ratio

# The cheap gradient principle (Griewank & Walther): reverse mode costs a small constant times the function,
# often quoted as at most 5 for the whole gradient.
CHEAP_GRADIENT = 5.0


def _who(row) -> str:
    if row["strategy"] == NUMPY_REFERENCE:
        return "NumPy by hand"
    return f"{FRAMEWORK_NAMES.get(row['framework'], row['framework'])} {row['mode']}"


def _strategy_ratio(d: pd.DataFrame, strategy: str) -> str:
    row = d[d["strategy"] == strategy]
    if row.empty:
        return ""
    r = row.iloc[0]
    return format_ratio(r["ratio_vs_primal"], r["ratio_vs_primal_ci_low"], r["ratio_vs_primal_ci_high"])


def _memory(r) -> str:
    if r["peak_rss_mb"] != r["peak_rss_mb"] or r["primal_peak_rss_mb"] != r["primal_peak_rss_mb"]:
        return ""
    return (
        f"{r['peak_rss_mb']:.0f} vs {r['primal_peak_rss_mb']:.0f} (+{r['peak_rss_mb'] - r['primal_peak_rss_mb']:.0f})"
    )


def primal_table(config: str, primal: pd.DataFrame, cases: list[str]) -> list[str]:
    """Per case and framework/mode: primal, `single`, their ratio (CI), the arithmetic, the other strategies."""
    p = primal[(primal["config"] == config) & primal["case"].isin(cases)]
    if p.empty:
        return []
    head = [
        "case",
        "framework, mode",
        "primal (execute)",
        "`single`",
        "`single` ÷ primal (95% CI)",
        "FLOPs ÷ primal's",
        "products at measured rates",
        "`per_param` ÷ primal",
        "`per_param_separate` ÷ primal",
        "peak RSS, MiB: `single` vs primal",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for _, d in p.groupby(["case", "framework", "mode"], sort=False, dropna=False):
        gradient = d[d["strategy"].isin(["single", NUMPY_REFERENCE])]
        for r in gradient.to_dict("records"):
            own = d if r["strategy"] == "single" else d.iloc[0:0]
            flag = " ⚠" if r["suspect"] else ""
            lines.append(
                f"| {r['case']} | {_who(r)} | {format_measure(r['primal_median_s'], r['unit'])} | "
                f"{format_measure(r['median_s'], r['unit'])} | "
                f"{format_ratio(r['ratio_vs_primal'], r['ratio_vs_primal_ci_low'], r['ratio_vs_primal_ci_high'])}"
                f"{flag} | {format_ratio(r['flop_ratio'])} | {format_ratio(r['product_time_ratio'])} | "
                f"{_strategy_ratio(own, 'per_param')} | {_strategy_ratio(own, 'per_param_separate')} | {_memory(r)} |"
            )
    return lines


def primal_answer(config: str, primal: pd.DataFrame, cases: list[str]) -> list[str]:
    """Where each framework's gradient stands against its primal and the bound, one line per case and mode."""
    p = primal[(primal["config"] == config) & primal["case"].isin(cases) & (primal["strategy"] == "single")]
    out = []
    for r in p.to_dict("records"):
        ratio = r["ratio_vs_primal"]
        if ratio != ratio:
            continue
        ci = format_ratio(ratio, r["ratio_vs_primal_ci_low"], r["ratio_vs_primal_ci_high"], label="95% CI ")
        where = "within" if ratio <= CHEAP_GRADIENT else "beyond"
        arithmetic = (
            f"; its products alone need {r['flop_ratio']:.2f}× the primal's floating-point work"
            + (
                f" ({r['product_time_ratio']:.2f}× at the measured product rates)"
                if r["product_time_ratio"] == r["product_time_ratio"]
                else ""
            )
            if r["flop_ratio"] == r["flop_ratio"]
            else ""
        )
        out.append(
            f"- {_who(r)}, {r['case']}: one gradient costs {ci} its loss alone "
            f"({format_measure(r['median_s'], r['unit'])} vs {format_measure(r['primal_median_s'], r['unit'])}), "
            f"{where} the cheap-gradient "
            f"principle's factor of {CHEAP_GRADIENT:g}{arithmetic}."
        )
    suspects = primal[(primal["config"] == config) & primal["suspect"].fillna("").astype(bool)]
    for r in suspects.to_dict("records"):
        out.append(f"- ⚠ {_who(r)} `{r['strategy']}`, {r['case']}: {r['suspect']}.")
    return out
