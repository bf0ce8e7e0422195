"""The HTML every page shares: the shell (navigation, filter, log toggle, theme), tables, and inline JSON."""

from __future__ import annotations

import json
import math
from html import escape

NAV = (
    ("index.html", "Runs"),
    ("matrix.html", "Matrix"),
    ("releases.html", "Releases"),
    ("history.html", "History"),
    ("compare.html", "Compare"),
)
STATUS_CLASS = {"failed": "failed", "timeout": "timeout", "expected failure": "xfail", "skipped": "skipped"}


def inline_json(data) -> str:
    """JSON for a <script type="application/json"> element: no '</' can close it early."""
    return json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def page(title: str, kind: str, body: str, charts: list[dict] | None = None, data=None, root: str = "") -> str:
    """A whole page: ``root`` is the way back to the site's top folder ('' or '../../')."""
    links = " ".join(f'<a href="{root}{href}">{escape(name)}</a>' for href, name in NAV)
    scripts = f'<script id="charts" type="application/json">{inline_json(charts or [])}</script>\n'
    if data is not None:
        scripts += f'<script id="data" type="application/json">{inline_json(data)}</script>\n'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · gradcost</title>
<link rel="stylesheet" href="{root}assets/site.css">
<script src="{root}assets/vega-bundle.js"></script>
</head>
<body data-page="{escape(kind)}">
<header>
<nav><strong>gradcost</strong> {links}</nav>
<div class="tools">
<input id="search" type="search" placeholder="filter (text in a row or chart)" aria-label="filter">
<label><input id="log" type="checkbox" checked> log scale</label>
<button id="theme" type="button" title="light or dark">◐ theme</button>
</div>
</header>
<main>
<h1>{escape(title)}</h1>
{body}
</main>
{scripts}<script src="{root}assets/site.js"></script>
</body>
</html>
"""


def cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return escape(str(value))


def table(headers: list[str], rows: list[list[str]], row_text: list[str] | None = None, cls: str = "") -> str:
    """A table of already-escaped cells; ``row_text`` lets the filter find each row by its words."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers) if any(headers) else ""
    body = []
    for i, r in enumerate(rows):
        text = f' data-text="{escape(row_text[i])}"' if row_text else ""
        body.append(f"<tr{text}>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>")
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f'<table class="{cls}">{thead}<tbody>{"".join(body)}</tbody></table>'


def chart_div(index: int, text: str) -> str:
    """Where chart ``index`` of the page's charts is drawn; ``text`` for the filter."""
    return f'<div class="block" data-text="{escape(text)}"><div class="chart" data-chart="{index}"></div></div>'


def ratio_text(ratio: float, low: float, high: float) -> str:
    """'4.47× (4.40–4.55)', or '4.47×' without a CI."""
    if ratio is None or ratio != ratio:
        return ""
    if low is None or high is None or low != low or high != high:
        return f"{ratio:.2f}×"
    return f"{ratio:.2f}× ({low:.2f}–{high:.2f})"


def factor(ratio: float, low: float, high: float) -> float:
    """A CI as a ×/÷ factor around its ratio: the larger of high/ratio and ratio/low (NaN without one)."""
    try:
        return max(high / ratio, ratio / low)
    except (TypeError, ZeroDivisionError):
        return float("nan")
