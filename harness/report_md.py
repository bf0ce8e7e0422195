"""report.md: one page that answers the question with this run's own numbers."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.config import ALL_PHASES, STRATEGIES
from harness.report import format_seconds

QUESTION = ("Is one `T.grad(loss, [w1, ..., wn])` call cheaper than n separate `T.grad(loss, wi)` calls — "
            "to build the gradient graph, to compile it with `theano.function`, and to run it?")


def _ratio(row) -> str:
    text = f"{row['ratio_vs_single']:.2f}×"
    if row["ratio_ci_low"] == row["ratio_ci_low"] and row["strategy"] != "single":
        text += f" (95% CI {row['ratio_ci_low']:.2f}–{row['ratio_ci_high']:.2f})"
    return text


def _pick(s: pd.DataFrame, case: str, cache: str, phase: str, strategy: str):
    d = s[(s["case"] == case) & (s["cache"] == cache) & (s["phase"] == phase) & (s["strategy"] == strategy)]
    return None if d.empty else d.iloc[0]


def answer(config: str, case: str, summary: pd.DataFrame, graphs: pd.DataFrame) -> list[str]:
    """Sentences for one case, each figure taken from this run's files."""
    s = summary[summary["config"] == config]
    out = []
    for phase, verb in (("construct", "builds its gradients"), ("compile", "compiles (warm cache)"),
                        ("execute", "runs")):
        for strategy in ("per_param", "per_param_separate"):
            row = _pick(s, case, "warm", phase, strategy)
            base = _pick(s, case, "warm", phase, "single")
            if row is None or base is None:
                continue
            out.append(f"- `{strategy}` {verb} in {format_seconds(row['median'])} against "
                       f"{format_seconds(base['median'])} for `single`: {_ratio(row)}.")
    g = graphs[(graphs["config"] == config) & (graphs["case"] == case)].set_index("strategy")
    if {"single", "per_param"} <= set(g.index):
        out.append(f"- Apply nodes before optimization: {g.loc['single', 'nodes_unoptimized']} (`single`) vs "
                   f"{g.loc['per_param', 'nodes_unoptimized']} (`per_param`); after compilation: "
                   f"{g.loc['single', 'nodes_optimized']} vs {g.loc['per_param', 'nodes_optimized']}.")
    return out


def case_table(config: str, summary: pd.DataFrame) -> list[str]:
    """Markdown table: one row per case × cache × phase, median and ratio per strategy."""
    s = summary[summary["config"] == config]
    strategies = [x for x in STRATEGIES if x in set(s["strategy"])]
    lines = ["| case | cache | phase | " + " | ".join(f"`{x}`" for x in strategies) + " |",
             "| --- | --- | --- | " + " | ".join("---" for _ in strategies) + " |"]
    for (case, cache, phase), d in s.groupby(["case", "cache", "phase"], sort=False):
        d = d.set_index("strategy")
        cells = []
        for x in strategies:
            if x not in d.index:
                cells.append("")
                continue
            r = d.loc[x]
            ratio = "" if x == "single" or r["ratio_vs_single"] != r["ratio_vs_single"] \
                else f" ({r['ratio_vs_single']:.2f}×)"
            flag = " !" if isinstance(r["unstable"], str) and r["unstable"] else ""
            cells.append(f"{format_seconds(r['median'])}{ratio}{flag}")
        lines.append(f"| {case} | {cache} | {phase} | " + " | ".join(cells) + " |")
    return lines


def slopes(config: str, scaling: pd.DataFrame) -> list[str]:
    d = scaling[(scaling["config"] == config) & (scaling["quantity"].isin(["construct", "nodes_unoptimized"]))]
    d = d[d["strategy"].isin(["single", "per_param"])]
    return [f"- {r.quantity} of `{r.strategy}` against {r.swept}"
            + (f" ({r.fixed})" if isinstance(r.fixed, str) and r.fixed else "")
            + f": slope {r.slope:.2f} ± {r.slope_stderr:.2f} (time or size ∝ {r.swept}^slope)"
            for r in d.itertuples()]


def how_measured(config: dict) -> str:
    """One sentence: the settings of a config that shape its numbers."""
    run = config.get("run", {})
    threads = "swept" if "threads" in config.get("sweep", {}) else run.get("threads")
    processes, repeats = run.get("processes", 1), run.get("repeats", {})
    per = ", ".join(f"{p} {n}" for p, n in repeats.items())
    return (f"Measured with {threads} BLAS thread(s) per worker, optimizer mode {run.get('mode')}; "
            f"{processes} warm worker process(es) per strategy, each timing {per} repeats "
            f"(pooled; with several processes the median's CI is a bootstrap over processes).")


def render(run: dict, plot_files: list[Path]) -> str:
    env, summary, graphs = run["env"], run["summary"], run["graphs"]
    lines = [f"# gradbench run {env.get('run_id', '')}", "", f"**The question.** {QUESTION}", ""]
    for config in env["configs"]:
        name = config["name"]
        cases = list(dict.fromkeys(summary.loc[summary["config"] == name, "case"]))
        if not cases:
            continue
        lines += [f"## {name}", "", config.get("description") or "", "", how_measured(config), ""]
        shown = cases if len(cases) <= 2 else [cases[0], cases[-1]]
        for case in shown:
            lines += [f"**Answer for {case}** (medians of this run; ratios to `single` with bootstrap CIs):", ""]
            lines += answer(name, case, summary, graphs) + [""]
        if config.get("sweep"):
            fitted = slopes(name, run.get("scaling", pd.DataFrame(columns=["config"])))
            if fitted:
                lines += ["**Scaling** (log-log fits over the sweep):", ""] + fitted + [""]
        lines += ["Median time per call; in brackets the ratio to `single`; `!` marks an unstable value "
                  "(see summary.csv, column `unstable`).", ""] + case_table(name, summary) + [""]
        for path in plot_files:
            if path.suffix == ".png" and path.name.startswith(f"{name}-"):
                lines += [f"![{path.stem}](plots/{path.name})", ""]
    git = env.get("git") or {}
    packages = env.get("packages") or {}
    lines += ["## Environment", "",
              f"- {env.get('date')}; {(env.get('cpu') or {}).get('model')} × {(env.get('cpu') or {}).get('count')} "
              f"CPUs; load average {env.get('loadavg_start')} at start, {env.get('loadavg_end')} at end",
              f"- Python {env.get('python')}, theano-pymc {packages.get('theano-pymc')}, "
              f"numpy {packages.get('numpy')}; BLAS: {(env.get('blas') or {}).get('choice')}",
              f"- gradbench commit {git.get('commit')}" + (" (with uncommitted changes)" if git.get("dirty") else ""),
              "- Everything else: env.json. Raw data: measurements.csv; statistics: summary.csv.", ""]
    return "\n".join(lines)
