"""``CONFIG-lineage.png``: the answer against release date, one line per lineage and network, and per mode where
a framework is measured in several (docs/lineage.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.report.lineage import LINEAGES, PHASES, lineage_rows
from harness.report.plots import legend, plt, save

LINE_COLORS = dict(zip(dict.fromkeys(LINEAGES.values()), ("tab:blue", "tab:orange", "tab:green")))
MARKERS = ("o", "s", "^", "D", "v", "P")
LINE_STYLES = ("-", "--", ":", "-.")  # one per mode, where a lineage is measured in several


def short(hidden: str) -> str:
    """'256-256-256-256' -> '256x4'; other layouts as they are."""
    layers = str(hidden).split("-")
    return f"{layers[0]}x{len(layers)}" if len(layers) > 2 and len(set(layers)) == 1 else str(hidden)


def plot_lineage(config: dict, summary: pd.DataFrame, graphs: pd.DataFrame, env: dict, out_dir: Path) -> list[Path]:
    """Top: `per_param` over `single` per phase (95% CI bars); bottom: `single`'s median; x: release date."""
    rows = lineage_rows(config["name"], summary, graphs, env)
    if rows.empty:
        return []
    rows = rows[rows["released"].notna()].assign(date=lambda d: pd.to_datetime(d["released"]))
    networks = list(dict.fromkeys(rows["hidden"]))
    fig, axes = plt.subplots(2, len(PHASES), figsize=(5.2 * len(PHASES), 8.4), squeeze=False, sharex=True)
    for col, phase in enumerate(PHASES):
        top, bottom = axes[0][col], axes[1][col]
        # One line per lineage and network, and per mode where a framework has several (lineage_rows' line_mode).
        for (lineage, mode, hidden), d in rows.groupby(["lineage", "line_mode", "hidden"], sort=False):
            d = d.sort_values("date")
            style = {
                "color": LINE_COLORS.get(lineage, "gray"),
                "marker": MARKERS[networks.index(hidden) % len(MARKERS)],
                "linestyle": LINE_STYLES[list(dict.fromkeys(rows["line_mode"])).index(mode) % len(LINE_STYLES)],
                "label": f"{lineage}" + (f" {mode}" if mode else "") + f", hidden={short(hidden)}",
            }
            ratios = d[f"{phase}_per_param_ratio"].map(lambda v: v if v is not None else (float("nan"),) * 3)
            r = ratios.map(lambda v: float(v[0]))
            lo, hi = ratios.map(lambda v: float(v[1])), ratios.map(lambda v: float(v[2]))
            err = [(r - lo).fillna(0).clip(lower=0), (hi - r).fillna(0).clip(lower=0)]
            top.errorbar(d["date"], r, yerr=err, capsize=2, linewidth=1, **style)
            bottom.plot(d["date"], d[f"{phase}_single_s"], linewidth=1, **style)
        top.axhline(1.0, color="black", linewidth=1, linestyle="--")
        top.set_yscale("log")
        # Two processes give t intervals with one degree of freedom: the medians set the scale, the bars are cut.
        medians = pd.to_numeric(
            rows[f"{phase}_per_param_ratio"].map(lambda v: float(v[0]) if v is not None else float("nan"))
        ).dropna()
        if not medians.empty:
            top.set_ylim(min(medians.min(), 1.0) / 2, max(medians.max(), 1.0) * 2)
        top.set_title(f"{phase}: per_param / single", fontsize=10)
        bottom.set_yscale("log")
        bottom.set_title(f"{phase}: single, median", fontsize=10)
        bottom.set_xlabel("release date")
        for ax in (top, bottom):
            ax.grid(which="both", alpha=0.3)
    axes[0][0].set_ylabel("median ratio (bars: 95% CI over processes, cut at the panel)")
    axes[1][0].set_ylabel("seconds per call")
    legend(axes[0], fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle(f"{config['name']}: the answer across releases (warm cache; each release against its own single)")
    fig.tight_layout()
    return save(fig, out_dir, f"{config['name']}-lineage")
