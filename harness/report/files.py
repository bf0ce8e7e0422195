"""Derived files of a run (summary, scaling, throughput, primal, plots) and the printed table."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from harness import results
from harness.analysis.primal import primal_table
from harness.analysis.scaling import scaling_table
from harness.analysis.summary import summarize
from harness.analysis.throughput import throughput_table
from harness.config.recorded import in_config_order
from harness.core.registry import CONTROL
from harness.report.formatting import format_measure, format_ratio
from harness.report.markdown import render


def write_report(run_dir: Path) -> pd.DataFrame:
    """Recompute every derived file and redraw every plot from the run's own files."""
    run_dir = Path(run_dir)
    run = results.read_run(run_dir)
    # cases as the configs list them, however they finished
    summary = summarize(in_config_order(run["measurements"], run["env"]["configs"]))
    run["summary"] = summary
    run["scaling"] = scaling_table(run["env"]["configs"], summary, run["graphs"])
    run["throughput"] = throughput_table(summary, run["limits"])
    run["primal"] = primal_table(summary, run["measurements"], run["limits"])
    results.write_frame(run_dir / "summary.csv", summary)
    results.write_frame(run_dir / "scaling.csv", run["scaling"])
    results.write_frame(run_dir / "throughput.csv", run["throughput"])
    results.write_frame(run_dir / "primal.csv", run["primal"])
    plot_files = plot_run(timed_only(run), run_dir / "plots") if plots_wanted() else []
    results.write_atomic(run_dir / "report.md", render(run, plot_files, run_dir))
    return summary


def timed_only(run: dict) -> dict:
    """The run's timed rows alone: plots have seconds on their axes (counted values are in report.md);
    and without the A/A control's, a second single that checks the pairing (report.md says how it did)."""
    out = dict(run)
    for name in ("measurements", "summary", "primal"):
        frame = run.get(name)
        if frame is not None and "strategy" in frame:
            frame = frame[frame["strategy"] != CONTROL]
        if frame is not None and "metric" in frame:
            out[name] = frame[frame["metric"] != "instructions"]
        elif frame is not None and "unit" in frame:
            out[name] = frame[frame["unit"] != "instructions"]
        else:
            out[name] = frame
    return out


def plots_wanted() -> bool:
    """``GRADCOST_PLOTS=off`` skips the plots (report.md then has none): a quick look at a run, a machine
    without a display library's fonts, the test suite's fake runs."""
    return os.environ.get("GRADCOST_PLOTS", "on").lower() not in ("off", "0", "no")


def format_table(summary: pd.DataFrame) -> str:
    """A compact text table: median with its CI, ratio to single with its CI, cores used (CPU over wall
    time), flags."""
    if summary.empty:
        return "(no successful measurements)"
    t = summary.copy()
    units = t["unit"] if "unit" in t else pd.Series("s", index=t.index)
    t["median (95% CI)"] = [
        f"{format_measure(m, u)} ({format_measure(lo, u)}..{format_measure(hi, u)})"
        if lo == lo
        else format_measure(m, u)
        for m, lo, hi, u in zip(t["median"], t["ci_low"], t["ci_high"], units)
    ]
    t["vs single (95% CI)"] = [
        format_ratio(r, *((lo, hi) if strategy != "single" else ()), times="x", dash="..")
        for r, lo, hi, strategy in zip(t["ratio_vs_single"], t["ratio_ci_low"], t["ratio_ci_high"], t["strategy"])
    ]
    t["unstable"] = t["unstable"].fillna("").map(lambda u: "!" if u else "")
    used = t["cores_used"] if "cores_used" in t else pd.Series(float("nan"), index=t.index)
    t["cores used"] = [f"{c:.2f}" if c == c else "" for c in pd.to_numeric(used, errors="coerce")]
    cols = [
        "config",
        "case",
        "cache",
        "phase",
        "strategy",
        "n",
        "median (95% CI)",
        "vs single (95% CI)",
        "cores used",
        "unstable",
    ]
    return t[cols].to_string(index=False)


def plot_run(run: dict, out_dir: Path) -> list[Path]:
    """Every figure of a run (as loaded by results.read_run)."""
    from harness.report import lineage_plot, plots, sweep_plots  # matplotlib: only when figures are drawn

    q = plots.quartiles(run["measurements"])
    paths = []
    if q.empty:  # nothing finished a timing: no figure to draw (report.md says so)
        return paths
    for config in run["env"]["configs"]:
        if q[q["config"] == config["name"]].empty:
            continue
        paths += plots.plot_phases(config, q, out_dir)
        paths += plots.plot_frameworks(config, run["summary"], out_dir)
        paths += lineage_plot.plot_lineage(config, run["summary"], run["graphs"], run["env"], out_dir)
        if config.get("sweep"):
            paths += sweep_plots.plot_sweep(config, q, run["graphs"], out_dir, run.get("scaling"))
            paths += sweep_plots.plot_ratios(config, run["summary"], out_dir)
            if run.get("primal") is not None:
                paths += sweep_plots.plot_primal(config, run["primal"], out_dir)
    return paths
