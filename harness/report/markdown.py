"""report.md: one page that answers the question with this run's own numbers."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.core.registry import EXPECTED_FAILURE, STRATEGIES
from harness import results
from harness.report import machines
from harness.report.formatting import format_seconds

QUESTION = ("Is one gradient call over all parameters (`T.grad(loss, [w1, ..., wn])`) cheaper than n separate "
            "calls (`T.grad(loss, wi)`) — to build the gradient graph, to compile it, and to run it? Asked of "
            "Theano and, where a run has them, PyTensor, JAX and PyTorch.")
FRAMEWORK_NAMES = {"theano": "Theano", "pytensor": "PyTensor", "jax": "JAX", "torch": "PyTorch"}
TABLE_PHASES = (("construct", "warm"), ("compile", "warm"), ("compile", "cold"), ("first_call", "warm"),
                ("execute", "warm"))


def _ratio(row) -> str:
    text = f"{row['ratio_vs_single']:.2f}×"
    if row["ratio_ci_low"] == row["ratio_ci_low"] and row["strategy"] != "single":
        text += f" (95% CI {row['ratio_ci_low']:.2f}–{row['ratio_ci_high']:.2f})"
    elif row["strategy"] != "single":
        text += " (no CI: one process)"
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
    copy, run = _pick(s, case, "warm", "transfer", "single"), _pick(s, case, "warm", "execute", "single")
    if copy is not None and run is not None:
        out.append(f"- Each call copies the parameters from the host to the device first (shared variables of "
                   f"PyTensor's JAX backend): {format_seconds(copy['median'])} of `single`'s "
                   f"{format_seconds(run['median'])} ({copy['median'] / run['median']:.0%}).")
    g = graphs[(graphs["config"] == config) & (graphs["case"] == case)].set_index("strategy")
    if {"single", "per_param"} <= set(g.index):
        a, b = g.loc["single"], g.loc["per_param"]
        text = (f"- {_unit(a, 'nodes_unoptimized_unit', 'Apply nodes')} before the compiler: "
                f"{_int(a['nodes_unoptimized'])} (`single`) vs {_int(b['nodes_unoptimized'])} (`per_param`)")
        if a["nodes_optimized"] == a["nodes_optimized"]:
            text += (f"; {_unit(a, 'nodes_optimized_unit', 'Apply nodes after rewriting')}: "
                     f"{_int(a['nodes_optimized'])} vs {_int(b['nodes_optimized'])}")
        out.append(text + ".")
        same = identical_function(a, b)
        if same is not None:
            out.append(f"- `per_param`'s compiled function is {'identical to' if same else 'not the same as'} "
                       f"`single`'s (fingerprint of {a['fingerprint_of']}: {a['fingerprint']} vs "
                       f"{b['fingerprint']}){': the two strategies run the same computation' if same else ''}.")
    return out


def identical_function(a, b) -> bool | None:
    """Whether two graphs.csv rows have the same fingerprint (None when either has none)."""
    fa, fb = a.get("fingerprint"), b.get("fingerprint")
    if not (isinstance(fa, str) and fa and isinstance(fb, str) and fb):
        return None
    return fa == fb


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


def _cell(d: pd.DataFrame, case: str, cache: str, phase: str, strategy: str) -> str:
    row = _pick(d, case, cache, phase, strategy)
    if row is None or row["ratio_vs_single"] != row["ratio_vs_single"]:
        return ""
    text = f"{row['ratio_vs_single']:.2f}×"
    if row["ratio_ci_low"] == row["ratio_ci_low"]:
        text += f" ({row['ratio_ci_low']:.2f}–{row['ratio_ci_high']:.2f})"
    return text


def framework_table(config: str, summary: pd.DataFrame, graphs: pd.DataFrame,
                    workers: pd.DataFrame | None = None) -> list[str]:
    """The answer per framework and mode: each phase's ratio to that framework's own `single`."""
    s = summary[summary["config"] == config]
    if s.empty or s[["framework", "mode"]].drop_duplicates().shape[0] < 2:
        return []
    g = graphs[graphs["config"] == config]
    present = [(ph, c) for ph, c in TABLE_PHASES if ((s["phase"] == ph) & (s["cache"] == c)).any()]
    head = ["case", "framework", "mode"] + [f"{ph}{' (cold)' if c == 'cold' else ''}: `{x}`"
                                              for ph, c in present for x in ("per_param", "per_param_separate")
                                              if ph != "construct" or x == "per_param"] + ["graph size"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    failed = {}  # case -> errors, where no gradient strategy succeeded
    if workers is not None and not workers.empty:
        w = workers[(workers["config"] == config) & (workers["strategy"] != "numpy_reference")]
        for case, d in w.groupby("case", sort=False):
            if (d["status"] != "ok").all():
                expected = "as expected: " if (d["status"] == EXPECTED_FAILURE).all() else ""
                failed[case] = expected + "; ".join(dict.fromkeys(str(e) for e in d["error"]))
    for case, d in s.groupby("case", sort=False):
        if case in failed:
            first = d.iloc[0]
            lines.append(f"| {case} | {FRAMEWORK_NAMES.get(first['framework'], first['framework'])} | {first['mode']} | "
                         f"every worker failed: {failed[case]} |" + " |" * (len(head) - 4))
            continue
        first = d.iloc[0]
        cells = [_cell(d, case, c, ph, x) for ph, c in present for x in ("per_param", "per_param_separate")
                 if ph != "construct" or x == "per_param"]
        gg = g[g["case"] == case].set_index("strategy")
        size = ""
        if {"single", "per_param"} <= set(gg.index):
            a, b = gg.loc["single"], gg.loc["per_param"]
            before = (f"{_int(a['nodes_unoptimized'])} vs {_int(b['nodes_unoptimized'])} "
                      f"{_unit(a, 'nodes_unoptimized_unit', 'Apply nodes')}")
            after = (f"; {_int(a['nodes_optimized'])} vs {_int(b['nodes_optimized'])} "
                     f"{_unit(a, 'nodes_optimized_unit', 'Apply nodes after rewriting')}"
                     if a["nodes_optimized"] == a["nodes_optimized"] else "")
            size = before + after
            same = identical_function(a, b)
            if same is not None:
                size += "; `per_param` runs " + ("the same function" if same else "another function")
        lines.append(f"| {case} | {FRAMEWORK_NAMES.get(first['framework'], first['framework'])} | {first['mode']} | "
                     + " | ".join(cells) + f" | {size} |")
    return lines


def _unit(row, column: str, default: str) -> str:
    """What a graph count counted (schema 3 rows and fake workers say nothing: Theano's Apply nodes)."""
    value = row.get(column)
    return value if isinstance(value, str) and value else default


def _int(v) -> str:
    return "" if v != v else str(int(v))


def lazy_note(config: str, summary: pd.DataFrame) -> str:
    """Which modes compile at their first call (so first_call carries compilation)."""
    from harness.core.registry import FRAMEWORKS
    pairs = summary.loc[summary["config"] == config, ["framework", "mode"]].drop_duplicates()
    lazy = [f"{FRAMEWORK_NAMES.get(f, f)} {m}" for f, m in pairs.itertuples(index=False)
            if f in FRAMEWORKS and m in FRAMEWORKS[f].lazy_modes]
    if not lazy:
        return ""
    return ("Compiled when first called, so `first_call` carries (part of) the compilation: " + ", ".join(lazy)
            + ". PyTorch has no `compile` phase (eager compiles nothing; `torch.compile` compiles at the first call).")


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
    sweep = config.get("sweep", {})
    framework = "swept" if "framework" in sweep else run.get("framework", "theano")
    mode = "swept" if "mode" in sweep else (run.get("mode") or "each framework's default")
    return (f"Measured with {threads} thread(s) per worker, framework {framework}, mode {mode}; "
            f"{processes} warm worker process(es) per strategy, each timing {per} repeats "
            f"(pooled). CIs are t intervals over the processes' medians, the independent replicates"
            + ("; with one process a value has none: it cannot say what another process would measure."
               if processes == 1 else "."))


def cores_lines(env: dict, summary: pd.DataFrame) -> list[str]:
    """Whether workers were pinned to their threads' cores, and the values that used more cores anyway."""
    pinning = env.get("affinity")
    if pinning is None:
        out = ["- Cores: this run predates pinning (results schema < 8): a worker may have used more cores "
               "than its threads, and no CPU time was recorded to tell."]
    elif pinning.get("pinning"):
        out = [f"- Cores: every worker was pinned to its case's `threads` cores (cores it could be given: "
               f"{pinning.get('cpus_allowed')}; each worker's in workers.csv, `cpus`)."]
    else:
        out = [f"- Cores: workers were **not** pinned ({pinning.get('reason')}): a framework may run on more "
               "cores than its `threads`; `cores_used` in summary.csv says how many it used."]
    used = pd.to_numeric(summary.get("cores_used", pd.Series(dtype=float)), errors="coerce")
    if used.notna().any():
        out.append(f"- Process CPU time over wall time (`cores_used` in summary.csv) per value: {used.min():.2f} to "
                   f"{used.max():.2f}.")
    if "unstable" in summary:
        over = summary[summary["unstable"].fillna("").astype(str).str.contains("cores used")]
        if len(over):
            shown = "; ".join(f"{r.config}/{r.case} `{r.strategy}` {r.phase} {r.cores_used:.2f}"
                              for r in over.head(6).itertuples())
            out.append(f"- **{len(over)} value(s) used more cores than their `threads`** (flagged `!`, not "
                       f"comparable with one-core values): {shown}" + (" ..." if len(over) > 6 else "") + ".")
    return out


def render(run: dict, plot_files: list[Path]) -> str:
    """report.md: the question, then per config its answer, tables and plots; workers that did not
    succeed; the environment."""
    env = run["env"]
    lines = [f"# gradbench run {env.get('run_id', '')}", "", f"**The question.** {QUESTION}", ""]
    for config in env["configs"]:
        lines += config_section(run, config, plot_files)
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
        lines += [f"**Answer for {case}** (medians of this run; ratios to `single` with 95% CIs over worker processes):", ""]
        lines += answer(name, case, summary, graphs) + [""]
    if config.get("sweep"):
        fitted = slopes(name, run.get("scaling", pd.DataFrame(columns=["config"])))
        if fitted:
            lines += ["**Scaling** (log-log fits over the sweep):", ""] + fitted + [""]
    table = framework_table(name, summary, graphs, run.get("workers"))
    if table:
        lines += ["**Per framework and mode**: median time of each strategy over the same framework's `single` "
                  "(95% CI); graph size of `single` vs `per_param` before and after the framework's compiler.", ""]
        lines += table + [""]
        note = lazy_note(name, summary)
        lines += [note, ""] if note else []
    lines += ["Median time per call; in brackets the ratio to `single`; `!` marks an unstable value "
              "(see summary.csv, column `unstable`).", ""] + case_table(name, summary) + [""]
    for path in plot_files:
        if path.suffix == ".png" and path.name.startswith(f"{name}-"):
            lines += [f"![{path.stem}](plots/{path.name})", ""]
    return lines


def outcome_section(workers: pd.DataFrame | None) -> list[str]:
    """Workers that failed, were skipped or failed as declared; framework modes that passed although
    declared to fail."""
    if workers is None or workers.empty:
        return []
    failures, passes = results.failures(workers), results.unexpected_passes(workers)
    if not failures and not passes:
        return []
    counts = workers["status"].value_counts()
    lines = ["## Workers that did not succeed", "",
             ", ".join(f"{n} {status}" for status, n in counts.items() if status != "ok") + ":", ""]
    lines += [f"- {line}" for line in failures[:20]] + (["- ..."] if len(failures) > 20 else [])
    lines += [f"- **unexpected pass**: {line}" for line in passes]
    return lines + [""]


def environment_section(run: dict) -> list[str]:
    env, summary = run["env"], run["summary"]
    git = env.get("git") or {}
    packages = env.get("packages") or {}
    return ["## Environment", "",
            f"- {env.get('date')}; {(env.get('cpu') or {}).get('model')} × {(env.get('cpu') or {}).get('count')} "
            f"CPUs; load average {env.get('loadavg_start')} at start, {env.get('loadavg_end')} at end",
            f"- Python {env.get('python')}, theano-pymc {packages.get('theano-pymc')}, "
            f"numpy {packages.get('numpy')}; BLAS: {(env.get('blas') or {}).get('choice')}",
            *[f"- {FRAMEWORK_NAMES.get(n, n)}: Python {i.get('python')}, "
              + ", ".join(f"{k} {v}" for k, v in (i.get("packages") or {}).items() if v)
              + f"; NumPy's BLAS {(i.get('numpy_blas') or {}).get('name')}; interpreter from {i.get('interpreter_from')}"
              for n, i in (env.get("frameworks") or {}).items()],
            *[f"- GPU: {g.get('name')}, {g.get('memory')}, driver {g.get('driver')}, CUDA {g.get('cuda')}"
              for g in (env.get("gpu") or [])],
            *[f"- {FRAMEWORK_NAMES.get(n, n)} sees GPU(s): {', '.join(i['gpus'])}"
              for n, i in (env.get("frameworks") or {}).items() if i.get("gpus")],
            *cores_lines(env, summary),
            f"- gradbench commit {git.get('commit')}" + (" (with uncommitted changes)" if git.get("dirty") else ""),
            *machines.lines(env, run.get("workers")),
            "- Everything else: env.json. Raw data: measurements.csv; statistics: summary.csv.", ""]
