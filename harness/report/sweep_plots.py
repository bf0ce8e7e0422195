"""The figures of a sweep: time and graph size against the swept key, each strategy's ratio to `single`, and
each gradient's ratio to its primal."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from harness.core.case import format_value, sweep_lines
from harness.core.registry import STRATEGIES
from harness.report.plots import COLORS, PANELS, iqr_bars, legend, save


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _sweep_panels(config: dict):
    """Per swept key: (key, its values, [(title, {other key: value}, case names along the key)])."""
    by_key: dict = {}
    for key, fixed, names in sweep_lines(config["sweep"]):
        title = ", ".join(f"{k}={format_value(v)}" for k, v in fixed.items())
        by_key.setdefault(key, []).append((title, fixed, [name for _, name in names]))
    for key, panels in by_key.items():
        yield key, config["sweep"][key], panels


def _slope_label(
    scaling: pd.DataFrame | None,
    config: str,
    key: str,
    fixed: dict,
    strategy: str,
    quantity: str,
    cache: str | None = None,
) -> str:
    if scaling is None or scaling.empty:
        return ""
    fixed_text = ",".join(f"{k}={v}" for k, v in fixed.items())
    d = scaling[
        (scaling["config"] == config)
        & (scaling["swept"] == key)
        & (scaling["fixed"].fillna("") == fixed_text)
        & (scaling["strategy"] == strategy)
        & (scaling["quantity"] == quantity)
    ]
    if cache is not None:
        d = d[d["cache"] == cache]
    if d.empty:
        return ""
    r = d.iloc[0]
    return f" (slope {r['slope']:.2f} ± {r['slope_stderr']:.2f})"


def _setup_x(ax, key, values):
    if _numeric(values):
        lo, hi = min(values), max(values)
        if hi / max(lo, 1e-12) >= 8:
            ax.set_xscale("log", base=2)
            ax.set_xlim(lo / 1.25, hi * 1.25)  # keep the data in view, whatever else autoscales
        ax.set_xticks(values, [str(v) for v in values])
        ax.minorticks_off()
        return list(values)
    ax.set_xticks(range(len(values)), [format_value(v) for v in values])
    return list(range(len(values)))


def plot_sweep(
    config: dict, q: pd.DataFrame, graphs: pd.DataFrame, out_dir: Path, scaling: pd.DataFrame | None = None
) -> list[Path]:
    """Per swept key: time against it (log), and graph nodes against it, with fitted slopes."""
    paths = []
    q = q[q["config"] == config["name"]].set_index(["case", "panel", "strategy"])
    g = graphs[graphs["config"] == config["name"]].set_index(["case", "strategy"])
    for key, values, panels in _sweep_panels(config):
        fig, axes = plt.subplots(2, len(panels), figsize=(8 * len(panels), 12), squeeze=False)
        for col, (title, fixed, names) in enumerate(panels):
            ax_t, ax_n = axes[0][col], axes[1][col]
            slope = functools.partial(_slope_label, scaling, config["name"], key, fixed)
            _time_lines(ax_t, _setup_x(ax_t, key, values), q, names, slope)
            _node_lines(ax_n, _setup_x(ax_n, key, values), g, names, slope)
            ax_t.set_yscale("log")
            ax_t.set_ylabel("seconds per call (median; bars: IQR; warm cache unless noted)")
            ax_t.set_title(f"time vs {key}" + (f" ({title})" if title else ""))
            ax_n.set_yscale("log")
            ax_n.set_ylabel("Apply nodes in gradient graph(s)")
            ax_n.set_title(f"graph size vs {key}" + (f" ({title})" if title else ""))
            for ax in (ax_t, ax_n):
                ax.set_xlabel(_axis_label(key))
                ax.grid(which="both", alpha=0.3)
        for row in axes:
            legend(row, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
        fig.suptitle(f"{config['name']}: sweep over {key}")
        fig.tight_layout()
        paths += save(fig, out_dir, f"{config['name']}-sweep-{key}")
    return paths


def _time_lines(ax, xs, q: pd.DataFrame, names: list, slope) -> None:
    """One line per strategy and panel: median time per call along the sweep, IQR bars."""
    for strategy, (panel, phase, cache, ls, marker) in itertools.product(STRATEGIES, PANELS):
        d = q.reindex([(n, panel, strategy) for n in names])
        if d["median"].notna().any():
            ax.errorbar(
                xs,
                d["median"].to_numpy(),
                yerr=iqr_bars(d),
                color=COLORS[strategy],
                linestyle=ls,
                marker=marker,
                capsize=2,
                label=f"{strategy} / {panel}{slope(strategy, phase, cache)}",
            )


def _node_lines(ax, xs, g: pd.DataFrame, names: list, slope) -> None:
    """Graph nodes before optimization and after compilation, per strategy, along the sweep."""
    for k, strategy in enumerate(STRATEGIES):
        d = g.reindex([(n, strategy) for n in names])
        size = 10 - 3 * k  # equal counts overlap: keep every strategy visible
        if d["nodes_optimized"].notna().any():
            for quantity, ls, marker, what in (
                ("nodes_unoptimized", "--", "o", "before optimization"),
                ("nodes_optimized", "-", "s", "after compilation"),
            ):
                ax.plot(
                    xs,
                    d[quantity].to_numpy(),
                    color=COLORS[strategy],
                    linestyle=ls,
                    marker=marker,
                    markersize=size,
                    label=f"{strategy} / {what}{slope(strategy, quantity)}",
                )


_UNITS = {
    "depth": "hidden layers",
    "width": "units per hidden layer",
    "batch": "examples per batch",
    "input": "input features",
    "output": "output units",
    "hidden": "hidden layer widths",
}


def _axis_label(key: str) -> str:
    return f"{key} ({_UNITS[key]})" if key in _UNITS else key


RATIO_PANELS = (("construct", "warm"), ("compile", "warm"), ("compile", "cold"), ("execute", "warm"))


def plot_ratios(config: dict, summary: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Per swept key: each strategy's median / single's, per phase, with its 95% CI band and a line at 1."""
    paths = []
    s = summary[(summary["config"] == config["name"]) & (summary["strategy"] != "single")]
    s = s.set_index(["case", "cache", "phase", "strategy"])
    for key, values, panels in _sweep_panels(config):
        present = [
            (ph, c)
            for ph, c in RATIO_PANELS
            if ((s.index.get_level_values("phase") == ph) & (s.index.get_level_values("cache") == c)).any()
        ]
        if not present:
            continue
        fig, axes = plt.subplots(
            len(panels), len(present), figsize=(4.2 * len(present), 3.6 * len(panels)), squeeze=False
        )
        for row, (title, _fixed, names) in enumerate(panels):
            for ax, (phase, cache) in zip(axes[row], present):
                xs = _setup_x(ax, key, values)
                for strategy in ("per_param", "per_param_separate", "numpy_reference"):
                    d = s.reindex([(n, cache, phase, strategy) for n in names])
                    if d["ratio_vs_single"].notna().any():
                        ax.plot(
                            xs,
                            d["ratio_vs_single"].to_numpy(),
                            color=COLORS[strategy],
                            marker="o",
                            label=f"{strategy} / single",
                        )
                        ax.fill_between(
                            xs,
                            d["ratio_ci_low"].to_numpy(dtype=float),
                            d["ratio_ci_high"].to_numpy(dtype=float),
                            color=COLORS[strategy],
                            alpha=0.2,
                            linewidth=0,
                        )
                ax.axhline(1.0, color="black", linewidth=1, linestyle="--")
                ax.set_yscale("log")
                ax.set_title(f"{phase} ({cache} cache)" + (f"\n{title}" if title else ""), fontsize=10)
                ax.set_xlabel(_axis_label(key))
                ax.grid(which="both", alpha=0.3)
            axes[row][0].set_ylabel("ratio of medians to single (band: 95% CI)")
        legend(axes[0], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        fig.suptitle(f"{config['name']}: how many times single's time, against {key} (1 = as fast)")
        fig.tight_layout()
        paths += save(fig, out_dir, f"{config['name']}-ratios-{key}")
    return paths


LINESTYLES = ("-", "--", ":", "-.")


def plot_primal(config: dict, primal: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Per numeric swept key: each strategy's warm execute over its primal's, one line per panel (e.g. each
    framework) and strategy, with its 95% CI band; the arithmetic (single's FLOPs over the primal's) as a line."""
    p = primal[primal["config"] == config["name"]].set_index(["case", "strategy"])
    if p.empty:
        return []
    paths = []
    for key, values, panels in _sweep_panels(config):
        if not _numeric(values):
            continue
        fig, ax = plt.subplots(figsize=(9, 5.5))
        xs = _setup_x(ax, key, values)
        bound = None
        for (title, _fixed, names), style in zip(panels, itertools.cycle(LINESTYLES)):
            for strategy in ("single", "per_param", "per_param_separate", "numpy_reference"):
                d = p.reindex([(n, strategy) for n in names])
                if d["ratio_vs_primal"].isna().all():
                    continue
                label = f"{strategy}" + (f" ({title})" if title else "")
                ax.plot(
                    xs,
                    d["ratio_vs_primal"].to_numpy(dtype=float),
                    color=COLORS[strategy],
                    linestyle=style,
                    marker="o",
                    label=label,
                )
                low, high = d["ratio_vs_primal_ci_low"].to_numpy(dtype=float), d["ratio_vs_primal_ci_high"]
                ax.fill_between(xs, low, high.to_numpy(dtype=float), color=COLORS[strategy], alpha=0.15, linewidth=0)
                if strategy == "single" and bound is None:
                    bound = d["flop_ratio"].to_numpy(dtype=float)
        if bound is not None:
            ax.plot(xs, bound, color="black", linewidth=1.5, label="single's FLOPs ÷ primal's (arithmetic)")
        ax.axhline(1.0, color="black", linewidth=1, linestyle=":")
        ax.set_yscale("log")
        ax.set_xlabel(_axis_label(key))
        ax.set_ylabel("execute time ÷ primal's (median; band: 95% CI)")
        ax.grid(which="both", alpha=0.3)
        legend([ax], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        ax.set_title(f"{config['name']}: gradient ÷ primal against {key} (1 = the loss alone)")
        fig.tight_layout()
        paths += save(fig, out_dir, f"{config['name']}-primal-{key}")
    return paths
