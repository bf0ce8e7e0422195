"""report.md: one page that answers the question with this run's own numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.core.registry import STRATEGIES
from harness.report.counts_section import counted_beside_timed
from harness.report.environment import environment_section, outcome_section
from harness.report.formatting import format_measure, format_seconds
from harness.report.frameworks import count_text, framework_table, identical_function, lazy_note, pick, unit
from harness.report.lineage import lineage_section
from harness.report.pairs_section import control_line, paired, primal_line, ratio_text
from harness.report.precision_section import precision_section
from harness.report.primal_section import primal_answer, primal_table
from harness.report.status_section import status_section

QUESTION = (
    "Is one gradient call over all parameters (`T.grad(loss, [w1, ..., wn])`) cheaper than n separate "
    "calls (`T.grad(loss, wi)`) — to build the gradient graph, to compile it, and to run it? Asked of "
    "Theano and, where a run has them, PyTensor, JAX and PyTorch."
)


def answer(config: str, case: str, summary: pd.DataFrame, graphs: pd.DataFrame) -> list[str]:
    """Sentences for one case, each figure taken from this run's files."""
    s = summary[summary["config"] == config]
    out = []
    for phase, verb in (
        ("construct", "builds its gradients"),
        ("compile", "compiles (warm cache)"),
        ("execute", "runs"),
    ):
        for strategy in ("per_param", "per_param_separate"):
            row = pick(s, case, "warm", phase, strategy)
            base = pick(s, case, "warm", phase, "single")
            if row is None or base is None:
                continue
            out.append(
                f"- `{strategy}` {verb} in {format_measure(row['median'], row['unit'])} against "
                f"{format_measure(base['median'], base['unit'])} for `single`: {ratio_text(row)}."
            )
    out += [line for line in (primal_line(s, case), control_line(s, case)) if line]
    copy, run = pick(s, case, "warm", "transfer", "single"), pick(s, case, "warm", "execute", "single")
    if copy is not None and run is not None:
        out.append(
            f"- Each call copies the parameters from the host to the device first (shared variables of "
            f"PyTensor's JAX backend): {format_seconds(copy['median'])} of `single`'s "
            f"{format_seconds(run['median'])} ({copy['median'] / run['median']:.0%})."
        )
    g = graphs[(graphs["config"] == config) & (graphs["case"] == case)].set_index("strategy")
    if {"single", "per_param"} <= set(g.index):
        a, b = g.loc["single"], g.loc["per_param"]
        text = (
            f"- {unit(a, 'nodes_unoptimized_unit', 'Apply nodes')} before the compiler: "
            f"{count_text(a['nodes_unoptimized'])} (`single`) vs {count_text(b['nodes_unoptimized'])} (`per_param`)"
        )
        if a["nodes_optimized"] == a["nodes_optimized"]:
            text += (
                f"; {unit(a, 'nodes_optimized_unit', 'Apply nodes after rewriting')}: "
                f"{count_text(a['nodes_optimized'])} vs {count_text(b['nodes_optimized'])}"
            )
        out.append(text + ".")
        same = identical_function(a, b)
        if same is not None:
            out.append(
                f"- `per_param`'s compiled function is {'identical to' if same else 'not the same as'} "
                f"`single`'s (fingerprint of {a['fingerprint_of']}: {a['fingerprint']} vs "
                f"{b['fingerprint']}){': the two strategies run the same computation' if same else ''}."
            )
    return out


def case_table(config: str, summary: pd.DataFrame) -> list[str]:
    """Markdown table: one row per case × cache × phase, median and ratio per strategy."""
    s = summary[summary["config"] == config]
    strategies = [x for x in STRATEGIES if x in set(s["strategy"])]
    lines = [
        "| case | cache | phase | " + " | ".join(f"`{x}`" for x in strategies) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in strategies) + " |",
    ]
    for (case, cache, phase), d in s.groupby(["case", "cache", "phase"], sort=False):
        d = d.set_index("strategy")
        cells = []
        for x in strategies:
            if x not in d.index:
                cells.append("")
                continue
            r = d.loc[x]
            value = r["paired_ratio"] if paired(r) else r["ratio_vs_single"]  # from its pairs, where it has them
            ratio = "" if x == "single" or value != value else f" ({value:.2f}×)"
            flag = " !" if isinstance(r["unstable"], str) and r["unstable"] else ""
            cells.append(f"{format_measure(r['median'], r['unit'])}{ratio}{flag}")
        lines.append(f"| {case} | {cache} | {phase} | " + " | ".join(cells) + " |")
    return lines


def slopes(config: str, scaling: pd.DataFrame) -> list[str]:
    d = scaling[(scaling["config"] == config) & (scaling["quantity"].isin(["construct", "nodes_unoptimized"]))]
    d = d[d["strategy"].isin(["single", "per_param"])]
    return [
        f"- {r.quantity} of `{r.strategy}` against {r.swept}"
        + (f" ({r.fixed})" if isinstance(r.fixed, str) and r.fixed else "")
        + f": slope {r.slope:.2f} ± {r.slope_stderr:.2f} (time or size ∝ {r.swept}^slope)"
        for r in d.itertuples()
    ]


def how_measured(config: dict) -> str:
    """One sentence: the settings of a config that shape its numbers."""
    run = config.get("run", {})
    threads = "swept" if "threads" in config.get("sweep", {}) else run.get("threads")
    processes, repeats = run.get("processes", 1), run.get("repeats", {})
    per = ", ".join(f"{p} {n}" for p, n in repeats.items())
    sweep = config.get("sweep", {})
    framework = "swept" if "framework" in sweep else run.get("framework", "theano")
    mode = "swept" if "mode" in sweep else (run.get("mode") or "each framework's default")
    pairing = run.get("pairing", "none")
    alternate = run.get("alternate", [])
    inside = (
        f" {' and '.join(alternate)} timed in turn with `single`'s in each worker of another strategy (ABBA): "
        + ("that ratio's CI is a t interval" if len(alternate) == 1 else "those ratios' CIs are t intervals")
        + " over those processes."
        if alternate
        else ""
    )
    if pairing != "none":
        control = "(and `single_aa`, a second `single`: the A/A control)"
        if pairing == "block":
            who = f"a worker process of `single` and one of each other strategy {control}, back to back in random order"
        else:
            how = "at once, one core each (duet)" if pairing == "duet" else "back to back, in random order"
            who = f"each other strategy's worker process {control} beside a `single` of its own, {how}"
        return (
            f"Measured with {threads} thread(s) per worker, framework {framework}, mode {mode}; in pairs "
            f"({pairing}): in each of {processes} rounds, {who}, each timing {per} "
            "repeats. A ratio to `single` is the geometric mean of its pairs' ratios of process medians, its CI a "
            "t interval over the pairs (the unpaired one, over processes, beside it); medians' CIs are over "
            "processes." + inside
        )
    return (
        f"Measured with {threads} thread(s) per worker, framework {framework}, mode {mode}; "
        f"{processes} warm worker process(es) per strategy, each timing {per} repeats "
        f"(pooled). CIs are t intervals over the processes' medians, the independent replicates"
        + (
            "; with one process a value has none: it cannot say what another process would measure."
            if processes == 1
            else "."
        )
    )


def primal_lines(name: str, primal: pd.DataFrame | None, shown: list[str]) -> list[str]:
    """Gradient ÷ primal: the answer per framework and mode, then the table (when the run has a primal)."""
    if primal is None or primal.empty or not (primal["config"] == name).any():
        return []
    return (
        [
            "**Gradient ÷ primal** (warm execute over the loss alone in the same framework and mode, as "
            "ADBench and GradBench report it; 95% CIs over worker processes). ⚠ marks a suspect ratio, to "
            "check before quoting: a gradient below its primal is impossible; a `per_param_separate` ÷ `single` "
            "below the ratio of their products' work is unexpected (the products are timed alone, without the "
            "work between them):",
            "",
        ]
        + primal_answer(name, primal, shown)
        + [""]
        + primal_table(name, primal, shown)
        + [""]
    )


def render(run: dict, plot_files: list[Path], run_dir: Path | str | None = None) -> str:
    """report.md: how the run ended where it did not simply complete, the question, then per config its
    answer, tables and plots; workers that did not succeed; the environment."""
    env = run["env"]
    lines = [f"# gradcost run {env.get('run_id', '')}", ""]
    lines += status_section(run, str(run_dir or env.get("run_id", "RUN_DIR")))
    lines += [f"**The question.** {QUESTION}", ""]
    for config in env["configs"]:
        lines += config_section(run, config, plot_files)
    lines += precision_section(run)
    lines += outcome_section(run.get("workers"))
    lines += environment_section(run)
    return "\n".join(lines)


def config_section(run: dict, config: dict, plot_files: list[Path]) -> list[str]:
    summary, graphs, name = run["summary"], run["graphs"], config["name"]
    cases = list(dict.fromkeys(summary.loc[summary["config"] == name, "case"]))
    if not cases:
        return []
    lines = [f"## {name}", "", config.get("description") or "", "", how_measured(config), ""]
    shown = cases if len(cases) <= 2 else [cases[0], cases[-1]]
    for case in shown:
        lines += [
            f"**Answer for {case}** (medians of this run; ratios to `single` with 95% CIs over worker processes, "
            "or over pairs where the run paired them):",
            "",
        ]
        lines += answer(name, case, summary, graphs) + [""]
    if config.get("sweep"):
        fitted = slopes(name, run.get("scaling", pd.DataFrame(columns=["config"])))
        if fitted:
            lines += ["**Scaling** (log-log fits over the sweep):", ""] + fitted + [""]
    lines += counted_beside_timed(name, summary)
    lines += primal_lines(name, run.get("primal"), cases)  # every case: one line each
    table = framework_table(name, summary, graphs, run.get("workers"))
    if table:
        lines += [
            "**Per framework and mode**: median time of each strategy over the same framework's `single` "
            "(95% CI); graph size of `single` vs `per_param` before and after the framework's compiler.",
            "",
        ]
        lines += table + [""]
        note = lazy_note(name, summary)
        lines += [note, ""] if note else []
    lines += lineage_section(name, summary, graphs, run["env"])
    lines += (
        [
            "Median time (or instructions, where counted) per call; in brackets the ratio to `single`; `!` "
            "marks an unstable value "
            "(see summary.csv, column `unstable`).",
            "",
        ]
        + case_table(name, summary)
        + [""]
    )
    for path in plot_files:
        if path.suffix == ".png" and path.name.startswith(f"{name}-"):
            lines += [f"![{path.stem}](plots/{path.name})", ""]
    return lines
