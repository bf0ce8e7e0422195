"""Figures of a run, drawn from its files only (PNG and SVG under plots/)."""
from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness.core.case import case_label, format_value  # noqa: E402
from harness.core.registry import STRATEGIES  # noqa: E402

COLORS = {"single": "#1f77b4", "per_param": "#ff7f0e", "per_param_separate": "#2ca02c",
          "numpy_reference": "#7f7f7f"}
# A panel is a phase, with compile split by compile-cache state.
PANELS = ("construct", "compile (warm cache)", "compile (cold cache)", "first_call", "execute")
PANEL_STYLE = {"construct": ("-", "o"), "compile (warm cache)": ("--", "s"),
               "compile (cold cache)": ("-.", "D"), "first_call": ((0, (1, 1)), "v"),
               "execute": (":", "^")}


def panel_of(phase: str, cache: str) -> str | None:
    if phase == "compile":
        return f"compile ({cache} cache)"
    return phase if phase in PANELS else None


def quartiles(measurements: pd.DataFrame) -> pd.DataFrame:
    """median, q1, q3 of successful repeats per config × case × panel × strategy."""
    ok = measurements[measurements["status"] == "ok"].copy()
    ok["panel"] = [panel_of(p, c) for p, c in zip(ok["phase"], ok["cache"])]
    ok = ok[ok["panel"].notna()]
    grouped = ok.groupby(["config", "case", "panel", "strategy"], sort=False)["seconds"]
    return pd.DataFrame({"median": grouped.median(), "q1": grouped.quantile(0.25),
                         "q3": grouped.quantile(0.75)}).reset_index()


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=110, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def _legend(axes, **kwargs) -> None:
    """One legend for a row of panels, beside the last, with the series of the fullest panel.

    A run cut short may leave panels empty, the last one too.
    """
    handles, labels = max((ax.get_legend_handles_labels() for ax in axes), key=lambda hl: len(hl[0]))
    if handles:
        axes[-1].legend(handles, labels, **kwargs)


def _iqr_bars(d: pd.DataFrame):
    return [(d["median"] - d["q1"]).to_numpy(), (d["q3"] - d["median"]).to_numpy()]


def plot_phases(config: dict, q: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Three panels (one per phase): median time per case and strategy, IQR bars.

    One case: bars from zero on a linear axis. Several cases: points on a log
    axis, since a sweep's times span decades and log-scaled bars mislead.
    """
    q = q[q["config"] == config["name"]]
    cases = list(dict.fromkeys(q["case"]))
    panels = [p for p in PANELS if (q["panel"] == p).any()]
    several = len(cases) > 1
    fig, axes = plt.subplots(1, len(panels), figsize=(max(3.7 * len(panels), 0.9 * len(cases) * len(panels)), 4),
                             squeeze=False)
    for ax, phase in zip(axes[0], panels):
        # Centre the group of strategies this panel has (construct has two, execute four).
        present = [s for s in STRATEGIES if ((q["panel"] == phase) & (q["strategy"] == s)).any()]
        width = 0.8 / len(present)
        for k, strategy in enumerate(present):
            d = q[(q["panel"] == phase) & (q["strategy"] == strategy)].set_index("case").reindex(cases)
            x = np.arange(len(cases)) + (k - (len(present) - 1) / 2) * width
            if several:
                ax.errorbar(x, d["median"].to_numpy(), yerr=_iqr_bars(d), color=COLORS[strategy],
                            marker="o", linestyle="none", capsize=2, label=strategy)
            else:
                ax.bar(x, d["median"].to_numpy(), width, color=COLORS[strategy], label=strategy,
                       yerr=_iqr_bars(d), capsize=3, ecolor="black")
        if several:
            ax.set_yscale("log")
        ax.set_title(phase)
        ax.set_xticks(np.arange(len(cases)), cases, rotation=45 if several else 0,
                      ha="right" if several else "center", fontsize=8)
        ax.set_xlabel("case")
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0][0].set_ylabel("seconds per call (median; bars: IQR)")
    _legend(axes[0], fontsize=8)
    fig.suptitle(f"{config['name']}: time per phase and strategy (first_call: one per worker)")
    fig.tight_layout()
    return save(fig, out_dir, f"{config['name']}-phases")


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _sweep_panels(config: dict):
    """(swept key on the x axis, list of (title, {other key: value})) per swept key."""
    sweep = config["sweep"]
    for key in sweep:
        others = [k for k in sweep if k != key]
        combos = list(itertools.product(*(sweep[k] for k in others))) or [()]
        yield key, [(", ".join(f"{k}={format_value(v)}" for k, v in zip(others, c)), dict(zip(others, c)))
                    for c in combos]


def _case_name(config, assignment: dict) -> str:
    return case_label({k: assignment[k] for k in config["sweep"]})


def _slope_label(scaling: pd.DataFrame | None, config: str, key: str, fixed: dict, strategy: str,
                 quantity: str, cache: str | None = None) -> str:
    if scaling is None or scaling.empty:
        return ""
    fixed_text = ",".join(f"{k}={v}" for k, v in fixed.items())
    d = scaling[(scaling["config"] == config) & (scaling["swept"] == key)
                & (scaling["fixed"].fillna("") == fixed_text) & (scaling["strategy"] == strategy)
                & (scaling["quantity"] == quantity)]
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


def plot_sweep(config: dict, q: pd.DataFrame, graphs: pd.DataFrame, out_dir: Path,
               scaling: pd.DataFrame | None = None) -> list[Path]:
    """Per swept key: time against it (log), and graph nodes against it, with fitted slopes."""
    paths = []
    q = q[q["config"] == config["name"]].set_index(["case", "panel", "strategy"])
    g = graphs[graphs["config"] == config["name"]].set_index(["case", "strategy"])
    for key, panels in _sweep_panels(config):
        values = config["sweep"][key]
        fig, axes = plt.subplots(2, len(panels), figsize=(8 * len(panels), 12), squeeze=False)
        for col, (title, fixed) in enumerate(panels):
            names = [_case_name(config, {**fixed, key: v}) for v in values]
            ax_t, ax_n = axes[0][col], axes[1][col]
            xs = _setup_x(ax_t, key, values)
            _setup_x(ax_n, key, values)
            for strategy, panel in itertools.product(STRATEGIES, PANELS):
                d = q.reindex([(n, panel, strategy) for n in names])
                if d["median"].notna().any():
                    ls, marker = PANEL_STYLE[panel]
                    phase, cache = (("compile", panel.split("(")[1].split()[0]) if panel.startswith("compile")
                                    else (panel, "warm"))
                    slope = _slope_label(scaling, config["name"], key, fixed, strategy, phase, cache)
                    ax_t.errorbar(xs, d["median"].to_numpy(), yerr=_iqr_bars(d),
                                  color=COLORS[strategy], linestyle=ls, marker=marker, capsize=2,
                                  label=f"{strategy} / {panel}{slope}")
            for k, strategy in enumerate(STRATEGIES):
                d = g.reindex([(n, strategy) for n in names])
                size = 10 - 3 * k  # equal counts overlap: keep every strategy visible
                if d["nodes_optimized"].notna().any():
                    for quantity, ls, marker, what in (("nodes_unoptimized", "--", "o", "before optimization"),
                                                        ("nodes_optimized", "-", "s", "after compilation")):
                        slope = _slope_label(scaling, config["name"], key, fixed, strategy, quantity)
                        ax_n.plot(xs, d[quantity].to_numpy(), color=COLORS[strategy], linestyle=ls,
                                  marker=marker, markersize=size, label=f"{strategy} / {what}{slope}")
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
            _legend(row, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
        fig.suptitle(f"{config['name']}: sweep over {key}")
        fig.tight_layout()
        paths += save(fig, out_dir, f"{config['name']}-sweep-{key}")
    return paths


_UNITS = {"depth": "hidden layers", "width": "units per hidden layer", "batch": "examples per batch",
          "input": "input features", "output": "output units", "hidden": "hidden layer widths"}


def _axis_label(key: str) -> str:
    return f"{key} ({_UNITS[key]})" if key in _UNITS else key


RATIO_PANELS = (("construct", "warm"), ("compile", "warm"), ("compile", "cold"), ("execute", "warm"))


def plot_ratios(config: dict, summary: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Per swept key: each strategy's median / single's, per phase, with its 95% CI band and a line at 1."""
    paths = []
    s = summary[(summary["config"] == config["name"]) & (summary["strategy"] != "single")]
    s = s.set_index(["case", "cache", "phase", "strategy"])
    for key, panels in _sweep_panels(config):
        values = config["sweep"][key]
        present = [(ph, c) for ph, c in RATIO_PANELS if ((s.index.get_level_values("phase") == ph)
                                                           & (s.index.get_level_values("cache") == c)).any()]
        if not present:
            continue
        fig, axes = plt.subplots(len(panels), len(present), figsize=(4.2 * len(present), 3.6 * len(panels)),
                                 squeeze=False)
        for row, (title, fixed) in enumerate(panels):
            names = [_case_name(config, {**fixed, key: v}) for v in values]
            for ax, (phase, cache) in zip(axes[row], present):
                xs = _setup_x(ax, key, values)
                for strategy in ("per_param", "per_param_separate", "numpy_reference"):
                    d = s.reindex([(n, cache, phase, strategy) for n in names])
                    if d["ratio_vs_single"].notna().any():
                        ax.plot(xs, d["ratio_vs_single"].to_numpy(), color=COLORS[strategy], marker="o",
                                label=f"{strategy} / single")
                        ax.fill_between(xs, d["ratio_ci_low"].to_numpy(dtype=float),
                                        d["ratio_ci_high"].to_numpy(dtype=float), color=COLORS[strategy],
                                        alpha=0.2, linewidth=0)
                ax.axhline(1.0, color="black", linewidth=1, linestyle="--")
                ax.set_yscale("log")
                ax.set_title(f"{phase} ({cache} cache)" + (f"\n{title}" if title else ""), fontsize=10)
                ax.set_xlabel(_axis_label(key))
                ax.grid(which="both", alpha=0.3)
            axes[row][0].set_ylabel("ratio of medians to single (band: 95% CI)")
        _legend(axes[0], fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
        fig.suptitle(f"{config['name']}: how many times single's time, against {key} (1 = as fast)")
        fig.tight_layout()
        paths += save(fig, out_dir, f"{config['name']}-ratios-{key}")
    return paths


FRAMEWORK_PANELS = (("construct", "warm"), ("compile", "warm"), ("first_call", "warm"), ("execute", "warm"))


def plot_frameworks(config: dict, summary: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Frameworks side by side: per phase, each strategy's median over its own framework's single.

    One bar group per framework and mode (x), 95% CI bars, a line at 1, log scale. With
    other swept keys, the cases at their last listed values (the largest network of a sweep).
    """
    s = summary[(summary["config"] == config["name"]) & (summary["strategy"] != "single")
                & (summary["strategy"] != "numpy_reference")]
    sweep = config.get("sweep") or {}
    last = {k: v[-1] for k, v in sweep.items() if k != "framework"}
    if last:
        names = {case_label({k: (last[k] if k != "framework" else f) for k in sweep})
                 for f in sweep.get("framework", [None])}
        s = s[s["case"].isin(names)]
    pairs = list(dict.fromkeys(zip(s["framework"], s["mode"])))
    if len(pairs) < 2:
        return []
    panels = [(ph, c) for ph, c in FRAMEWORK_PANELS if ((s["phase"] == ph) & (s["cache"] == c)).any()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.6), squeeze=False)
    labels = [f"{f}\n{m}" for f, m in pairs]
    for ax, (phase, cache) in zip(axes[0], panels):
        for k, strategy in enumerate(("per_param", "per_param_separate")):
            d = s[(s["phase"] == phase) & (s["cache"] == cache) & (s["strategy"] == strategy)]
            d = d.set_index(["framework", "mode"]).reindex(pairs)
            x = np.arange(len(pairs)) + (k - 0.5) * 0.38
            r = d["ratio_vs_single"].to_numpy(dtype=float)
            lo, hi = d["ratio_ci_low"].to_numpy(dtype=float), d["ratio_ci_high"].to_numpy(dtype=float)
            yerr = np.where(np.isnan(lo), 0, [r - lo, hi - r])
            ax.bar(x, r, 0.38, color=COLORS[strategy], label=f"{strategy} / single", yerr=yerr, capsize=2)
        ax.axhline(1.0, color="black", linewidth=1, linestyle="--")
        ax.set_yscale("log")
        ax.set_xticks(np.arange(len(pairs)), labels, rotation=60, ha="right", fontsize=7)
        ax.set_xlabel("framework and mode")
        ax.set_title(f"{phase} ({cache} cache)", fontsize=10)
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0][0].set_ylabel("median / same framework's single (bars: 95% CI)")
    _legend(axes[0], fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    shown = ", ".join(f"{k}={format_value(v)}" for k, v in last.items())
    fig.suptitle(f"{config['name']}: each framework's strategies against its own single"
                 + (f" ({shown})" if shown else "") + "; missing bar: phase absent or failed")
    fig.tight_layout()
    return save(fig, out_dir, f"{config['name']}-frameworks")


def plot_run(run: dict, out_dir: Path) -> list[Path]:
    """Every figure of a run (as loaded by results.read_run)."""
    q = quartiles(run["measurements"])
    paths = []
    for config in run["env"]["configs"]:
        if q[q["config"] == config["name"]].empty:
            continue
        paths += plot_phases(config, q, out_dir)
        paths += plot_frameworks(config, run["summary"], out_dir)
        if config.get("sweep"):
            paths += plot_sweep(config, q, run["graphs"], out_dir, run.get("scaling"))
            paths += plot_ratios(config, run["summary"], out_dir)
    return paths
