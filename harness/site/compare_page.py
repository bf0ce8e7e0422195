"""The compare page: any two runs that measured a case in common, as ``gradcost compare`` compares them (its
table, its agreement lines, the differences of their environments), computed when the site is built."""

from __future__ import annotations

from html import escape

import pandas as pd

from harness.report.compare import KEY, agreement, compare_runs
from harness.report.formatting import format_measure
from harness.site.html import cell, page, table
from harness.site.runs import Run

SHOWN = [*KEY, "framework_version", "processes", "base", "new", "new/base", "÷machine", "p", "change"]


def cases(run: Run) -> set:
    return set(zip(run.ratios["config"], run.ratios["case"])) if run.ok and not run.ratios.empty else set()


def comparable_pairs(runs: list[Run]) -> list[tuple[Run, Run]]:
    """(older, newer) for every two readable runs with a case in common."""
    ok = [r for r in runs if r.ok]
    out = []
    for i, a in enumerate(ok):
        for b in ok[i + 1 :]:
            if cases(a) & cases(b):
                older, newer = sorted((a, b), key=lambda r: r.date)
                out.append((older, newer))
    return out


def comparison_html(base: Run, new: Run) -> str:
    """``gradcost compare BASE NEW`` as HTML; a pair that cannot be compared says why."""
    try:
        frame, notes = compare_runs(base.path, new.path)
        lines = agreement(base.path, new.path)
    except (OSError, ValueError, KeyError) as error:
        return f"<p>Not comparable: {escape(f'{type(error).__name__}: {error}')}</p>"
    parts = [f"<h2>{escape(base.name)} → {escape(new.name)}</h2>"]
    parts.append("<h3>Environments</h3>")
    parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>" if notes else "<p>the same</p>")
    parts.append("<h3>Agreement</h3><ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>")
    if frame.empty:
        return "\n".join([*parts, "<p>No measurement in common.</p>"])
    t = _shown(frame)
    rows = [[cell(v) for v in r] for r in t.itertuples(index=False)]
    texts = [" ".join(map(str, r)) for r in t.itertuples(index=False)]
    parts.append("<h3>Medians (Welch over process medians, beyond 1.10×)</h3>")
    parts.append(table(SHOWN, rows, texts, "compare"))
    return "\n".join(parts)


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    t = frame.copy()
    t["processes"] = t["processes_base"].astype(str) + "/" + t["processes_new"].astype(str)
    t["base"] = [format_measure(m, u) for m, u in zip(t["median_base_s"], t["unit"])]
    t["new"] = [format_measure(m, u) for m, u in zip(t["median_new_s"], t["unit"])]
    t["new/base"] = t["ratio"].map(lambda r: f"{r:.3f}×")
    t["÷machine"] = t["ratio_adjusted"].map(lambda r: "" if r != r else f"{r:.3f}×")
    t["p"] = t["p_value"].map(lambda p: "" if p != p else f"{p:.3f}")
    return t[SHOWN]


def compare_page(runs: list[Run]) -> str:
    """Two run pickers; the comparison of the chosen pair (state in the URL hash: #a=RUN&b=RUN)."""
    pairs = comparable_pairs(runs)
    names = [r.name for r in runs if r.ok]
    options = "".join(f'<option value="{escape(n)}">{escape(n)}</option>' for n in names)
    blocks = [
        f'<section class="pair" data-a="{escape(a.name)}" data-b="{escape(b.name)}" hidden>{comparison_html(a, b)}'
        "</section>"
        for a, b in pairs
    ]
    body = (
        f"<p>{len(pairs)} pairs of runs measured a case in common; each is compared here as <code>gradcost compare "
        "BASE NEW</code> compares them (the older run as the base).</p>"
        f'<p><label>base <select id="a">{options}</select></label> '
        f'<label>new <select id="b">{options}</select></label></p>'
        '<p id="nopair" hidden>These two runs measured no case in common.</p>' + "\n".join(blocks)
    )
    return page("Compare", "compare", body)
