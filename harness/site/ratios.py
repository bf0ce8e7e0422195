"""One row per ratio a run measured, with its 95% CI and where it came from: the site's one table of answers.

A ratio is a strategy's median over `single`'s (each phase, cache and case) or over `primal`'s (gradient ÷ primal).
Where the run paired its workers (summary.csv ``pairs`` ≥ 2) the paired ratio and its CI are the answer, as in
report.md; otherwise the unpaired ratio of medians. A ratio's *question* names what was asked (case, phase, cache,
strategy, over what, and the metric where it is not time); its *column* names what answered it (framework, release,
mode, device).
"""

from __future__ import annotations

import pandas as pd

from harness.report.formatting import FRAMEWORK_NAMES
from harness.report.lineage import LINEAGES, release_dates, released
from harness.report.pairs_section import alternated, paired

COLUMNS = (
    "config", "case", "framework", "version", "mode", "device", "metric", "cache", "phase", "strategy", "over",
    "ratio", "low", "high", "kind", "processes", "median", "unit", "cores_used", "released", "lineage",
    "network", "question", "column",
)  # fmt: skip
OVER = {"single": ("ratio_vs_single", "ratio_ci_low", "ratio_ci_high"),
        "primal": ("ratio_vs_primal", "ratio_vs_primal_ci_low", "ratio_vs_primal_ci_high")}  # fmt: skip
STATUS_COLUMNS = ("config", "case", "column", "network", "strategy", "status", "error")
PAIRED = ("paired_ratio", "paired_ci_low", "paired_ci_high")


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _text(value, default: str = "") -> str:
    """A CSV cell as text; an empty cell (NaN) as ``default``."""
    return default if value is None or value != value or value == "" else str(value)


def network(r: dict) -> str:
    """'16384-5000-3000-512-40, batch 64': the MLP's layer widths (a run of equal hidden layers as 256×16)."""
    hidden = [h for h in _text(r.get("hidden")).split("-") if h]
    runs: list[list] = []
    for h in hidden:
        if runs and runs[-1][0] == h:
            runs[-1][1] += 1
        else:
            runs.append([h, 1])
    layers = [_text(r.get("input"), "?"), *(h if n == 1 else f"{h}×{n}" for h, n in runs), _text(r.get("output"), "?")]
    batch = _text(r.get("batch"))
    return "-".join(layers) + (f", batch {batch}" if batch else "")


def question(net: str, phase: str, cache: str, strategy: str, over: str, metric: str) -> str:
    """'16384-5000-3000-512-40, batch 64 · execute · per_param ÷ single'; a cold compile and a counted metric
    say so."""
    where = f"{phase} (cold cache)" if cache == "cold" else phase
    counted = "" if metric in ("", "time") else f" [{metric}]"
    return f"{net} · {where} · {strategy} ÷ {over}{counted}"


def column(framework: str, version: str, mode: str, device: str, threads: str = "1") -> str:
    """'Theano 1.1.2 FAST_RUN', 'PyTorch 2.15.0 eager cuda', '... 2 threads' where not one."""
    name = FRAMEWORK_NAMES.get(framework, framework)
    parts = [name, version, mode, "" if device in ("", "cpu") else device]
    parts.append("" if threads in ("", "1", "1.0") else f"{threads} threads")
    return " ".join(p for p in parts if p)


def ratio_rows(summary: pd.DataFrame | None, env: dict) -> pd.DataFrame:
    """Every ratio of a run's summary.csv with its CI and kind ('paired', 'alternated', 'unpaired')."""
    if summary is None or summary.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    dates, rows = release_dates(env), []
    for r in summary.to_dict("records"):
        for over, cols in OVER.items():
            if cols[0] not in r or r["strategy"] == over:
                continue
            value = _float(r.get(cols[0]))
            if value != value:
                continue
            pair = over == "single" and paired(pd.Series(r))
            value, low, high = (_float(r.get(c)) for c in (PAIRED if pair else cols))
            version, mode, device = (_text(r.get(k)) for k in ("framework_version", "mode", "device"))
            metric = _text(r.get("metric"), "time")
            rows.append(
                {
                    "config": r["config"],
                    "case": r["case"],
                    "framework": r["framework"],
                    "version": version,
                    "mode": mode,
                    "device": device or "cpu",
                    "metric": metric,
                    "cache": r["cache"],
                    "phase": r["phase"],
                    "strategy": r["strategy"],
                    "over": over,
                    "ratio": value,
                    "low": low,
                    "high": high,
                    "kind": ("alternated" if alternated(pd.Series(r)) else "paired") if pair else "unpaired",
                    "processes": _float(r.get("processes")),
                    "median": _float(r.get("median")),
                    "unit": _text(r.get("unit"), "s"),
                    "cores_used": _float(r.get("cores_used")),
                    "released": released(r["framework"], version, dates) if version else None,
                    "lineage": LINEAGES.get(r["framework"], r["framework"]),
                    "network": network(r),
                    "question": question(network(r), r["phase"], r["cache"], r["strategy"], over, metric),
                    "column": column(r["framework"], version, mode, device, _text(r.get("threads"), "1")),
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def statuses(workers: pd.DataFrame | None) -> pd.DataFrame:
    """(case, column, strategy) -> the status of its workers that did not end 'ok' (failed, timeout, expected
    failure, skipped): the matrix marks the cells that have no ratio because of them."""
    if workers is None or workers.empty or "status" not in workers:
        return pd.DataFrame(columns=list(STATUS_COLUMNS))
    bad = workers[workers["status"] != "ok"]
    rows = []
    for r in bad.to_dict("records"):
        version, mode, device = (_text(r.get(k)) for k in ("framework_version", "mode", "device"))
        rows.append(
            {
                "config": r["config"],
                "case": r["case"],
                "column": column(r["framework"], version, mode, device, _text(r.get("threads"), "1")),
                "network": network(r),
                "strategy": r["strategy"],
                "status": r["status"],
                "error": _text(r.get("error"))[:300],
            }
        )
    out = pd.DataFrame(rows, columns=list(STATUS_COLUMNS))
    return out.drop_duplicates(["config", "case", "column", "strategy", "status"])
