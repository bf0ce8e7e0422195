"""Vega-Lite specifications of the site's charts, data inline: ratios with their 95% CIs (points and rules on a
log axis, 1 marked), across releases (a release-date axis, one line per lineage and mode) and across runs (a run-
date axis). ``usermeta.log`` names the fields whose scale the page's log toggle switches."""

from __future__ import annotations

import math

# One colour per framework on every page (Tableau 10's first five).
FRAMEWORK_COLOURS = {
    "theano": "#4c78a8",
    "aesara": "#72b7b2",
    "pytensor": "#f58518",
    "jax": "#54a24b",
    "torch": "#e45756",
}
COLOUR = {
    "field": "framework",
    "type": "nominal",
    "title": "framework",
    "scale": {"domain": list(FRAMEWORK_COLOURS), "range": list(FRAMEWORK_COLOURS.values())},
}
RATIO_FIELDS = ("ratio", "low", "high")
TOOLTIP = [
    {"field": "question", "title": "ratio of"},
    {"field": "column", "title": "measured in"},
    {"field": "ratio", "title": "ratio (×)", "format": ".3f"},
    {"field": "low", "title": "95% CI low (×)", "format": ".3f"},
    {"field": "high", "title": "95% CI high (×)", "format": ".3f"},
    {"field": "kind", "title": "CI from"},
    {"field": "processes", "title": "processes"},
    {"field": "median_text", "title": "median"},
    {"field": "cores_used", "title": "cores used (CPU ÷ wall)", "format": ".2f"},
    {"field": "run", "title": "run"},
    {"field": "machine", "title": "machine"},
    {"field": "commit", "title": "commit"},
]


def clean(rows: list[dict]) -> list[dict]:
    """Rows as JSON can carry them: NaN and infinities become null (a ratio without a CI has no rule)."""
    out = []
    for row in rows:
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()})
    return out


def _axis(field: str, title: str | None = None, domain: list | None = None) -> dict:
    scale = {"type": "log", "zero": False} | ({"domain": domain} if domain else {})
    return {"field": field, "type": "quantitative", "scale": scale, "title": title}


def domain(rows: list[dict]) -> list[float] | None:
    """The ratio axis: the points and 1, ×/÷3 around them; wider CIs are clipped at its ends (say so)."""
    values = [
        r["ratio"] for r in rows if isinstance(r.get("ratio"), float) and math.isfinite(r["ratio"]) and r["ratio"] > 0
    ]
    if not values:
        return None
    return [min(*values, 1.0) / 3, max(*values, 1.0) * 3]


def _legend(rows: list[dict]) -> dict:
    present = [f for f in FRAMEWORK_COLOURS if any(r.get("framework") == f for r in rows)]
    return {**COLOUR, "legend": {"values": present}}


def ratio_chart(rows: list[dict], y: str, title: str, row: str | None = None) -> dict:
    """Each row's ratio as a point, its CI as a rule, ``y`` a category; one panel per ``row`` value if given."""
    rows = clean(rows)
    ends = domain(rows)
    yenc = {"field": y, "type": "nominal", "sort": None, "title": None}
    layer = {
        "layer": [
            {"mark": {"type": "rule", "strokeDash": [4, 3], "color": "#888"}, "encoding": {"x": {"datum": 1}}},
            {
                "mark": {"type": "rule", "strokeWidth": 2, "clip": True},
                "encoding": {"y": yenc, "x": _axis("low", None, ends), "x2": {"field": "high"}, "color": _legend(rows)},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 60},
                "encoding": {
                    "y": yenc,
                    "x": _axis("ratio", "ratio to the reference strategy (×; 95% CI, clipped at the axis' ends)", ends),
                    "color": _legend(rows),
                    "shape": {"field": "kind", "type": "nominal", "title": "CI from"},
                    "tooltip": TOOLTIP,
                },
            },
        ],
        "width": 460,
        "height": {"step": 16},
    }
    spec = {"data": {"values": rows}, "title": title, "usermeta": {"log": list(RATIO_FIELDS)}}
    if row:
        header = {"labelAngle": 0, "labelOrient": "top", "labelAnchor": "start", "labelFontWeight": "bold"}
        spec |= {"facet": {"row": {"field": row, "type": "nominal", "title": None, "sort": None, "header": header}}}
        spec |= {"spec": layer, "resolve": {"scale": {"y": "independent"}}}
    else:
        spec |= layer
    return spec


def timeline_chart(rows: list[dict], x: str, x_title: str, series: str, title: str) -> dict:
    """Ratios over time (``x`` a date field: a release's date or a run's), one grey line per ``series``, points
    coloured by framework and shaped by series, CIs as rules (clipped at the axis' ends)."""
    rows = clean(rows)
    ends = domain(rows)
    tip = [{"field": x, "title": x_title, "type": "temporal", "format": "%Y-%m-%d"}, *TOOLTIP]
    xenc = {"field": x, "type": "temporal", "title": x_title}
    return {
        "data": {"values": rows},
        "title": title,
        "usermeta": {"log": list(RATIO_FIELDS)},
        "width": 560,
        "height": 220,
        "layer": [
            {"mark": {"type": "rule", "strokeDash": [4, 3], "color": "#888"}, "encoding": {"y": {"datum": 1}}},
            {
                "mark": {"type": "line", "strokeWidth": 1, "color": "#999"},
                "encoding": {"x": xenc, "y": _axis("ratio", None, ends), "detail": {"field": series}},
            },
            {
                "mark": {"type": "rule", "strokeWidth": 2, "clip": True},
                "encoding": {"x": xenc, "y": _axis("low", None, ends), "y2": {"field": "high"}, "color": _legend(rows)},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 50},
                "encoding": {
                    "x": xenc,
                    "y": _axis("ratio", "ratio (×; 95% CI, clipped at the axis' ends)", ends),
                    "color": _legend(rows),
                    "shape": {"field": series, "type": "nominal", "title": "line"},
                    "tooltip": tip,
                },
            },
        ],
    }


def calibration_chart(rows: list[dict], title: str) -> dict:
    """The calibration workload's Python time at each run's start and end: a slow machine is not a regression."""
    return {
        "data": {"values": clean(rows)},
        "title": title,
        "width": 560,
        "height": 140,
        "mark": {"type": "point", "filled": True, "size": 50},
        "encoding": {
            "x": {"field": "date", "type": "temporal", "title": "run date"},
            "y": {"field": "ms", "type": "quantitative", "title": "calibration, Python (ms)", "scale": {"zero": False}},
            "shape": {"field": "when", "type": "nominal", "title": "timed at the run's"},
            "tooltip": [
                {"field": "run", "title": "run"},
                {"field": "when", "title": "at the run's"},
                {"field": "ms", "title": "Python workload (ms)", "format": ".1f"},
            ],
        },
    }
