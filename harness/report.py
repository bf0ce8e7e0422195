"""Derived files of a run (summary.csv, plots) and the printed summary table."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness import plots, results
from harness.stats import summarize


def write_report(run_dir: Path) -> pd.DataFrame:
    """Recompute summary.csv and redraw every plot from the run's own files."""
    run_dir = Path(run_dir)
    run = results.read_run(run_dir)
    summary = summarize(run["measurements"])
    results.write_frame(run_dir / "summary.csv", summary)
    run["summary"] = summary
    plots.plot_run(run, run_dir / "plots")
    return summary


def format_table(summary: pd.DataFrame) -> str:
    """A compact text table: median seconds and ratio to single, per case and phase."""
    if summary.empty:
        return "(no successful measurements)"
    t = summary.copy()
    t["median"] = t["median"].map(lambda s: _seconds(s))
    t["ratio_vs_single"] = t["ratio_vs_single"].map(lambda r: f"{r:.2f}x")
    cols = ["config", "case", "phase", "strategy", "n", "median", "ratio_vs_single"]
    return t[cols].rename(columns={"median": "median time", "ratio_vs_single": "vs single"}).to_string(index=False)


def _seconds(s: float) -> str:
    if s != s:
        return "n/a"
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"
