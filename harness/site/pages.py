"""The index of runs and the page of each run (its charts, its environment, its files, its report.md)."""

from __future__ import annotations

import re
from html import escape

from markdown_it import MarkdownIt

from harness.report.formatting import format_measure
from harness.site.charts import ratio_chart
from harness.site.html import cell, chart_div, factor, page, ratio_text, table
from harness.site.runs import Run

RUN_FILES = ("report.md", "summary.csv", "measurements.csv", "workers.csv", "graphs.csv", "primal.csv",
             "scaling.csv", "throughput.csv", "limits.csv", "env.json")  # fmt: skip


def run_href(run: Run, root: str = "") -> str:
    return f"{root}runs/{run.name}/index.html"


def headline_text(run: Run) -> tuple[str, str]:
    """The headline ratios as text, and the widest of their CIs as a ×/÷ factor (the precision reached)."""
    parts, widest = [], float("nan")
    for h in run.headline():
        name = f"{h['phase']} {h['strategy']} ÷ {h['over']}"
        parts.append(f"{name} {ratio_text(h['ratio'], h['low'], h['high'])}")
        f = factor(h["ratio"], h["low"], h["high"])
        widest = f if widest != widest or f > widest else widest
    return "; ".join(parts), ("" if widest != widest else f"×/÷{widest:.3f}")


def _ms(value) -> str:
    return "" if value is None else f"{value * 1e3:.0f}"


def index_page(runs: list[Run]) -> str:
    rows, texts = [], []
    for run in runs:
        if not run.ok:
            continue
        headline, widest = headline_text(run)
        cal = run.calibration()
        rows.append(
            [
                f'<a href="{run_href(run)}">{escape(run.name)}</a>',
                cell(run.date[:16].replace("T", " ")),
                f"<code>{cell(run.commit[:8])}</code>",
                cell(run.machine),
                cell(", ".join(run.configs)),
                cell(headline),
                cell(widest),
                cell(" → ".join(x for x in (_ms(cal["start"]), _ms(cal["end"])) if x)),
                cell(run.env.get("status", "")),
            ]
        )
        texts.append(" ".join([run.name, run.machine, *run.configs, headline]))
    body = [
        f"<p>{sum(r.ok for r in runs)} runs. Each ratio is a strategy's median over <code>single</code>'s (or "
        "<code>single</code> over <code>primal</code>), with its 95% CI; from pairs where the run paired its "
        "workers. The widest headline CI, as a ×/÷ factor, is the precision the run reached.</p>",
        table(
            [
                "run",
                "date (UTC)",
                "commit",
                "machine",
                "configs",
                "headline ratios (95% CI)",
                "widest CI",
                "calibration (ms, start → end)",
                "status",
            ],  # fmt: skip
            rows,
            texts,
            "runs",
        ),
    ]
    unread = [r for r in runs if not r.ok]
    if unread:
        body.append("<h2>Run folders not read</h2><ul class='unread'>")
        body += [f"<li><code>{escape(r.name)}</code>: {escape(r.reason)}</li>" for r in unread]
        body.append("</ul>")
    return page("Runs", "index", "\n".join(body))


def _label(frame):
    """A ratio's label in a run's chart: its strategy over its reference, and what measured it where a case has
    several frameworks or modes."""
    several = frame.groupby(["config", "case"])["column"].transform("nunique") > 1
    base = frame["strategy"] + " ÷ " + frame["over"]
    return base.where(~several, base + " · " + frame["column"])


def run_charts(run: Run) -> tuple[list[dict], list[str]]:
    """One chart per config and case: each ratio with its CI, a panel per phase (and cold cache)."""
    r = run.ratios
    if r.empty:
        return [], []
    r = r.assign(
        label=_label(r),
        panel=r["phase"]
        + r["cache"].map(lambda c: " (cold cache)" if c == "cold" else "")
        + r["metric"].map(lambda m: "" if m == "time" else f" [{m}]"),
        run=run.name,
        machine=run.machine,
        commit=run.commit[:8],
        median_text=[format_measure(m, u) for m, u in zip(r["median"], r["unit"])],
    )
    charts, divs = [], []
    for (config, case), d in r.groupby(["config", "case"], sort=False):
        rows = d.drop(columns=["released"]).to_dict("records")
        divs.append(chart_div(len(charts), f"{config} {case} " + " ".join(sorted(set(d["column"])))))
        charts.append(ratio_chart(rows, "label", f"{config} · {case}", row="panel"))
    return charts, divs


def environment_rows(run: Run) -> list[list[str]]:
    env = run.env
    cal = run.calibration()
    packages = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items())
    frameworks = "; ".join(
        f"{name}: " + ", ".join(f"{k} {v}" for k, v in ((info or {}).get("packages") or {}).items())
        for name, info in (env.get("frameworks") or {}).items()
    )
    blas = env.get("blas") or {}
    return [
        [cell(k), cell(v)]
        for k, v in (
            ("date", run.date),
            ("commit", run.commit + (" (dirty)" if (env.get("git") or {}).get("dirty") else "")),
            ("machine", run.machine),
            ("python", env.get("python")),
            ("platform", env.get("platform")),
            ("packages", packages),
            ("framework environments", frameworks),
            ("BLAS", f"{blas.get('choice', '')} {blas.get('library', '')}".strip()),
            ("calibration (Python workload, ms)", f"start {_ms(cal['start'])}, end {_ms(cal['end'])}"),
            ("schema version", env.get("schema_version")),
            ("status", env.get("status")),
        )
    ]


def _report_html(markdown: str) -> str:
    """report.md as HTML; a link out of the run folder (into the repository's docs) is kept as its text."""
    md = MarkdownIt("commonmark").enable("table")
    html = md.render(markdown)
    return re.sub(r'<a href="\.\./[^"]*">(.*?)</a>', r"\1 (in the gradcost repository)", html)


def run_page(run: Run) -> str:
    charts, divs = run_charts(run)
    files = " · ".join(f'<a href="{name}">{name}</a>' for name in RUN_FILES if (run.path / name).exists())
    body = [
        f"<p>Files: {files}</p>",
        "<h2>Environment</h2>",
        table(["", ""], environment_rows(run), cls="env"),
        "<h2>Ratios (hover a point: median, CI, processes, cores used, where it ran)</h2>",
        *divs,
    ]
    failed = run.statuses
    if not failed.empty:
        body.append("<h2>Workers that did not end ok</h2>")
        body.append(
            table(
                ["config", "case", "measured in", "strategy", "status", "error"],
                [[cell(v) for v in r] for r in failed.itertuples(index=False)],
                [" ".join(map(str, r)) for r in failed.itertuples(index=False)],
            )
        )
    if run.report:
        body += ["<h2>report.md</h2>", f'<div class="report">{_report_html(run.report)}</div>']
    return page(f"Run {run.name}", "run", "\n".join(body), charts, root="../../")
