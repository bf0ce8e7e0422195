"""report.md's "Counted beside timed": where a config measured the same cases both ways (a ``metric`` sweep),
each phase's ratios to ``single`` in seconds and in instructions, side by side."""

from __future__ import annotations

import pandas as pd

from harness.report.formatting import format_count, format_ratio, format_seconds

STRATEGIES = ("per_param", "per_param_separate", "primal")
PHASES = ("construct", "compile", "first_call", "execute")


def _without_metric(case: str) -> str:
    """A case's name with its ``metric=...`` part taken out: the name both of its measurements share."""
    return ",".join(part for part in str(case).split(",") if not part.startswith("metric=")) or "(the config)"


def counted_beside_timed(config: str, summary: pd.DataFrame) -> list[str]:
    """The table, or nothing when the config has no case measured both ways."""
    s = summary[(summary["config"] == config) & (summary["cache"] == "warm") & summary["phase"].isin(PHASES)]
    if "metric" not in s or set(s["metric"]) != {"time", "instructions"}:
        return []
    s = s.assign(shared=s["case"].map(_without_metric))
    shown = [x for x in STRATEGIES if x in set(s["strategy"])]
    lines = [
        "**Counted beside timed** (instructions under callgrind, one call per repeat; time on the wall clock): "
        "`single`'s median both ways, and each strategy over `single` both ways (time with its 95% CI).",
        "",
        "| case | phase | `single`: time | `single`: instructions | "
        + " | ".join(f"`{x}` ÷ `single`: time | instructions" for x in shown)
        + " |",
        "| --- | --- | --- | --- | " + " | ".join("--- | ---" for _ in shown) + " |",
    ]
    for (shared, phase), d in s.groupby(["shared", "phase"], sort=False):
        by = {(r["metric"], r["strategy"]): r for r in d.to_dict("records")}
        timed, counted = by.get(("time", "single")), by.get(("instructions", "single"))
        if timed is None or counted is None:
            continue
        cells = [format_seconds(timed["median"]), format_count(counted["median"])]
        for x in shown:
            t, c = by.get(("time", x)), by.get(("instructions", x))
            cells.append(format_ratio(t["ratio_vs_single"], t["ratio_ci_low"], t["ratio_ci_high"]) if t else "")
            cells.append(format_ratio(c["ratio_vs_single"]) if c else "")
        lines.append(f"| {shared} | {phase} | " + " | ".join(cells) + " |")
    return lines + [""]
