"""Derived files of a run (summary, scaling, throughput, plots) and the printed table."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.report import plots
from harness import results
from harness.config.schema import in_config_order
from harness.report.formatting import format_seconds
from harness.report.markdown import render
from harness.analysis.scaling import scaling_table
from harness.analysis.stats import summarize
from harness.analysis.throughput import throughput_table


def write_report(run_dir: Path) -> pd.DataFrame:
    """Recompute every derived file and redraw every plot from the run's own files."""
    run_dir = Path(run_dir)
    run = results.read_run(run_dir)
    # cases as the configs list them, however they finished
    summary = summarize(in_config_order(run["measurements"], run["env"]["configs"]))
    run["summary"] = summary
    run["scaling"] = scaling_table(run["env"]["configs"], summary, run["graphs"])
    run["throughput"] = throughput_table(summary, run["limits"])
    results.write_frame(run_dir / "summary.csv", summary)
    results.write_frame(run_dir / "scaling.csv", run["scaling"])
    results.write_frame(run_dir / "throughput.csv", run["throughput"])
    plot_files = plots.plot_run(run, run_dir / "plots")
    results.write_atomic(run_dir / "report.md", render(run, plot_files))
    return summary


def format_table(summary: pd.DataFrame) -> str:
    """A compact text table: median with its CI, ratio to single with its CI, cores used (CPU over wall
    time), flags."""
    if summary.empty:
        return "(no successful measurements)"
    t = summary.copy()
    t["median (95% CI)"] = [f"{format_seconds(m)} ({format_seconds(lo)}..{format_seconds(hi)})" if lo == lo else format_seconds(m)
                            for m, lo, hi in zip(t["median"], t["ci_low"], t["ci_high"])]
    t["vs single (95% CI)"] = [_ratio(r, lo, hi) for r, lo, hi in
                               zip(t["ratio_vs_single"], t["ratio_ci_low"], t["ratio_ci_high"])]
    t["unstable"] = t["unstable"].fillna("").map(lambda u: "!" if u else "")
    used = t["cores_used"] if "cores_used" in t else pd.Series(float("nan"), index=t.index)
    t["cores used"] = [f"{c:.2f}" if c == c else "" for c in pd.to_numeric(used, errors="coerce")]
    cols = ["config", "case", "cache", "phase", "strategy", "n", "median (95% CI)",
            "vs single (95% CI)", "cores used", "unstable"]
    return t[cols].to_string(index=False)


def _ratio(r: float, lo: float, hi: float) -> str:
    if r != r:
        return ""
    return f"{r:.2f}x" + (f" ({lo:.2f}..{hi:.2f})" if lo == lo and not lo == hi == r else "")
