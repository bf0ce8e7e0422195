"""report.md's answer per framework and mode (each phase's ratio to that framework's own `single`), and the
summary look-ups the report shares."""

from __future__ import annotations

import pandas as pd

from harness.core.registry import EXPECTED_FAILURE, GRADIENT_STRATEGIES
from harness.report.formatting import FRAMEWORK_NAMES, format_ratio

TABLE_PHASES = (
    ("construct", "warm"),
    ("compile", "warm"),
    ("compile", "cold"),
    ("first_call", "warm"),
    ("execute", "warm"),
)


def pick(s: pd.DataFrame, case: str, cache: str, phase: str, strategy: str):
    d = s[(s["case"] == case) & (s["cache"] == cache) & (s["phase"] == phase) & (s["strategy"] == strategy)]
    return None if d.empty else d.iloc[0]


def identical_function(a, b) -> bool | None:
    """Whether two graphs.csv rows have the same fingerprint (None when either has none)."""
    fa, fb = a.get("fingerprint"), b.get("fingerprint")
    if not (isinstance(fa, str) and fa and isinstance(fb, str) and fb):
        return None
    return fa == fb


def _cell(d: pd.DataFrame, case: str, cache: str, phase: str, strategy: str) -> str:
    row = pick(d, case, cache, phase, strategy)
    if row is None:
        return ""
    return format_ratio(row["ratio_vs_single"], row["ratio_ci_low"], row["ratio_ci_high"])


def framework_table(
    config: str, summary: pd.DataFrame, graphs: pd.DataFrame, workers: pd.DataFrame | None = None
) -> list[str]:
    """The answer per framework and mode: each phase's ratio to that framework's own `single`."""
    s = summary[summary["config"] == config]
    if s.empty or s[["framework", "mode"]].drop_duplicates().shape[0] < 2:
        return []
    g = graphs[graphs["config"] == config]
    present = [(ph, c) for ph, c in TABLE_PHASES if ((s["phase"] == ph) & (s["cache"] == c)).any()]
    head = (
        ["case", "framework", "mode"]
        + [
            f"{ph}{' (cold)' if c == 'cold' else ''}: `{x}`"
            for ph, c in present
            for x in ("per_param", "per_param_separate")
            if ph != "construct" or x == "per_param"
        ]
        + ["graph size"]
    )
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    failed = {}  # case -> errors, where no gradient strategy succeeded
    if workers is not None and not workers.empty:
        w = workers[(workers["config"] == config) & workers["strategy"].isin(GRADIENT_STRATEGIES)]
        for case, d in w.groupby("case", sort=False):
            if (d["status"] != "ok").all():
                expected = "as expected: " if (d["status"] == EXPECTED_FAILURE).all() else ""
                failed[case] = expected + "; ".join(dict.fromkeys(str(e) for e in d["error"]))
    for case, d in s.groupby("case", sort=False):
        if case in failed:
            first = d.iloc[0]
            lines.append(
                f"| {case} | {FRAMEWORK_NAMES.get(first['framework'], first['framework'])} | {first['mode']} | "
                f"every worker failed: {failed[case]} |" + " |" * (len(head) - 4)
            )
            continue
        first = d.iloc[0]
        cells = [
            _cell(d, case, c, ph, x)
            for ph, c in present
            for x in ("per_param", "per_param_separate")
            if ph != "construct" or x == "per_param"
        ]
        gg = g[g["case"] == case].set_index("strategy")
        size = ""
        if {"single", "per_param"} <= set(gg.index):
            a, b = gg.loc["single"], gg.loc["per_param"]
            before = (
                f"{count_text(a['nodes_unoptimized'])} vs {count_text(b['nodes_unoptimized'])} "
                f"{unit(a, 'nodes_unoptimized_unit', 'Apply nodes')}"
            )
            after = (
                f"; {count_text(a['nodes_optimized'])} vs {count_text(b['nodes_optimized'])} "
                f"{unit(a, 'nodes_optimized_unit', 'Apply nodes after rewriting')}"
                if a["nodes_optimized"] == a["nodes_optimized"]
                else ""
            )
            size = before + after
            same = identical_function(a, b)
            if same is not None:
                size += "; `per_param` runs " + ("the same function" if same else "another function")
        lines.append(
            f"| {case} | {FRAMEWORK_NAMES.get(first['framework'], first['framework'])} | {first['mode']} | "
            + " | ".join(cells)
            + f" | {size} |"
        )
    return lines


def unit(row, column: str, default: str) -> str:
    """What a graph count counted (schema 3 rows and fake workers say nothing: Theano's Apply nodes)."""
    value = row.get(column)
    return value if isinstance(value, str) and value else default


def count_text(v) -> str:
    return "" if v != v else str(int(v))


def lazy_note(config: str, summary: pd.DataFrame) -> str:
    """Which modes compile at their first call (so first_call carries compilation)."""
    from harness.core.registry import FRAMEWORKS

    pairs = summary.loc[summary["config"] == config, ["framework", "mode"]].drop_duplicates()
    lazy = [
        f"{FRAMEWORK_NAMES.get(f, f)} {m}"
        for f, m in pairs.itertuples(index=False)
        if f in FRAMEWORKS and m in FRAMEWORKS[f].lazy_modes
    ]
    if not lazy:
        return ""
    return (
        "Compiled when first called, so `first_call` carries (part of) the compilation: "
        + ", ".join(lazy)
        + ". PyTorch has no `compile` phase (eager compiles nothing; `torch.compile` compiles at the first call)."
    )
