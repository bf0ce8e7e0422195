"""The pages across runs: the matrix of questions × what answered them, the lineage across releases, one
machine's history across runs."""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from harness.report.formatting import format_measure
from harness.report.lineage import LINEAGES
from harness.site.charts import calibration_chart, timeline_chart
from harness.site.html import STATUS_CLASS, chart_div, page, ratio_text
from harness.site.runs import Run

CLAMP = 10.0  # the matrix's colours saturate at 10× either way


def all_ratios(runs: list[Run]) -> pd.DataFrame:
    """Every readable run's ratios, newest run first, with the run's name, date, machine and commit."""
    frames = [
        r.ratios.assign(
            run=r.name,
            date=r.date,
            machine=r.machine,
            commit=r.commit[:8],
            median_text=[format_measure(m, u) for m, u in zip(r.ratios["median"], r.ratios["unit"])],
        )
        for r in runs
        if r.ok and not r.ratios.empty
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def colour(ratio: float) -> str:
    """A cell's background: white at 1×, red above, blue below, on a log scale saturating at CLAMP."""
    t = max(-1.0, min(1.0, math.log(ratio) / math.log(CLAMP)))
    base = (214, 39, 40) if t > 0 else (31, 119, 180)
    mix = [round(255 + (c - 255) * abs(t)) for c in base]
    return f"rgb({mix[0]},{mix[1]},{mix[2]})"


def column_order(ratios: pd.DataFrame) -> list[str]:
    """Columns by lineage (Theano → Aesara → PyTensor, then JAX, then PyTorch), mode, then release date."""
    lineages = {name: i for i, name in enumerate(dict.fromkeys(LINEAGES.values()))}
    keys = {}
    for row in ratios[["column", "lineage", "mode", "released"]].to_dict("records"):
        keys.setdefault(
            row["column"], (lineages.get(row["lineage"], 99), row["mode"], row["released"] or "", row["column"])
        )
    return sorted(keys, key=keys.get)


def matrix_page(runs: list[Run]) -> str:
    """Questions (network × phase × ratio, gradient ÷ primal among them) × framework/release/mode: the newest run's
    answer in each cell, coloured by the ratio; failed, timed-out and expected-failure cells marked."""
    r = all_ratios(runs)
    if r.empty:
        return page("Matrix", "matrix", "<p>No run has ratios yet.</p>")
    latest = r.drop_duplicates(["question", "column"])  # newest run first
    columns = column_order(latest)
    questions = list(dict.fromkeys(latest["question"]))
    cells = {(q, c): row for q, c, row in zip(latest["question"], latest["column"], latest.to_dict("records"))}
    marks = {}
    for run in runs:
        for s in run.statuses.to_dict("records") if run.ok else []:
            for q in questions:
                if q.startswith(f"{s['network']} · ") and f"· {s['strategy']} ÷ " in q:
                    marks.setdefault((q, s["column"]), (s["status"], s["error"], run.name))
    toggles = " ".join(
        f'<label><input type="checkbox" class="col-toggle" data-col="{i}" checked> {escape(c)}</label>'
        for i, c in enumerate(columns)
    )
    head = "<th>ratio of</th>" + "".join(f'<th data-col="{i}">{escape(c)}</th>' for i, c in enumerate(columns))
    body = []
    for q in questions:
        tds = []
        for i, c in enumerate(columns):
            row = cells.get((q, c))
            if row is not None:
                tip = f"{ratio_text(row['ratio'], row['low'], row['high'])}, {row['kind']}, run {row['run']}"
                tds.append(
                    f'<td data-col="{i}" class="ratio" style="background:{colour(row["ratio"])}" '
                    f'title="{escape(tip)}">{row["ratio"]:.2f}×</td>'
                )
            elif (q, c) in marks:
                status, error, name = marks[(q, c)]
                tds.append(
                    f'<td data-col="{i}" class="{STATUS_CLASS.get(status, "failed")}" '
                    f'title="{escape(f"{status} in run {name}: {error}")}">{escape(status)}</td>'
                )
            else:
                tds.append(f'<td data-col="{i}"></td>')
        body.append(f'<tr data-text="{escape(q)}"><th>{escape(q)}</th>{"".join(tds)}</tr>')
    text = (
        f"<p>{len(questions)} ratios × {len(columns)} framework releases and modes, from {r['run'].nunique()} runs: "
        "each cell the newest run's answer (hover: its 95% CI and run), coloured on a log scale (red: dearer than "
        f"the reference, blue: cheaper; saturating at {CLAMP:.0f}×). Grey cells: the workers failed, timed out, or "
        "failed as their framework declares (expected failure).</p>"
        f'<details><summary>Columns shown</summary><div class="toggles">{toggles}</div></details>'
    )
    grid = (
        f'<div class="scroll"><table class="matrix"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
    return page("Matrix", "matrix", text + grid)


def _series(frame: pd.DataFrame) -> pd.Series:
    """A lineage's line per mode: 'Theano…PyTensor C', 'JAX jit'."""
    return frame["lineage"].str.replace(r" → .* → ", "…", regex=True) + " " + frame["mode"]


def releases_page(runs: list[Run]) -> str:
    """Each ratio across the releases of the lineages (Theano → Aesara → PyTensor, JAX, PyTorch): a release-date
    axis, one line per lineage and mode, where a question was measured in two releases or more."""
    r = all_ratios(runs)
    if r.empty:
        return page("Releases", "releases", "<p>No run has ratios yet.</p>")
    r = r[r["released"].notna() & (r["metric"] == "time")]
    r = r.drop_duplicates(["question", "column"]).assign(series=lambda d: _series(d))
    charts, divs = [], []
    for q, d in r.groupby("question", sort=False):
        if d["version"].nunique() < 2:
            continue
        divs.append(chart_div(len(charts), q + " " + " ".join(sorted(set(d["column"])))))
        d = d.sort_values("released")
        charts.append(timeline_chart(d.to_dict("records"), "released", "release date", "series", q))
    text = (
        f"<p>{len(charts)} ratios measured in two releases or more, on each release's date (its package upload); "
        "one line per lineage and mode, the newest run's answer for each release, with its 95% CI.</p>"
    )
    return page("Releases", "releases", text + "\n".join(divs), charts)


def history_page(runs: list[Run]) -> str:
    """One machine's answers across its runs: each ratio measured in two runs or more, on the runs' dates, and the
    calibration workload's time at each run's start and end."""
    r = all_ratios(runs)
    charts, divs = [], []
    for machine in dict.fromkeys(r["machine"]) if not r.empty else []:
        mine = r[r["machine"] == machine]
        cal = [
            {"run": run.name, "date": run.date, "when": when, "ms": value * 1e3}
            for run in runs
            if run.ok and run.machine == machine
            for when, value in run.calibration().items()
            if value is not None
        ]
        divs.append(f"<h2>{escape(machine)}</h2>")
        if cal:
            divs.append(chart_div(len(charts), f"{machine} calibration"))
            charts.append(calibration_chart(cal, f"{machine}: the machine's pace at each run"))
        for q, d in mine.groupby("question", sort=False):
            if d.groupby("column")["run"].nunique().max() < 2:
                continue
            divs.append(chart_div(len(charts), f"{q} {machine} " + " ".join(sorted(set(d["column"])))))
            d = d.assign(series=d["column"]).sort_values("date")
            charts.append(timeline_chart(d.to_dict("records"), "date", "run date", "series", q))
    text = (
        "<p>Each ratio that two runs or more of one machine measured, on the runs' dates, with its 95% CI (one line "
        "per framework, release and mode); above "
        "them the calibration workload's time at each run's start and end (a slower machine is not a regression: "
        "a ratio within a case cancels most of it).</p>"
    )
    return page(
        "History", "history", text + ("\n".join(divs) if divs else "<p>No ratio was measured twice.</p>"), charts
    )
