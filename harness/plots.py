"""Figures of a run, drawn from its files only (PNG and SVG under plots/)."""
from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness.config import PHASES, STRATEGIES  # noqa: E402

COLORS = {"single": "#1f77b4", "per_param": "#ff7f0e", "per_param_separate": "#2ca02c"}
PHASE_STYLE = {"construct": ("-", "o"), "compile": ("--", "s"), "execute": (":", "^")}


def quartiles(measurements: pd.DataFrame) -> pd.DataFrame:
    """median, q1, q3 of successful repeats per config × case × phase × strategy."""
    ok = measurements[measurements["status"] == "ok"]
    grouped = ok.groupby(["config", "case", "phase", "strategy"], sort=False)["seconds"]
    return pd.DataFrame({"median": grouped.median(), "q1": grouped.quantile(0.25),
                         "q3": grouped.quantile(0.75)}).reset_index()


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=110, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def _iqr_bars(d: pd.DataFrame):
    return [(d["median"] - d["q1"]).to_numpy(), (d["q3"] - d["median"]).to_numpy()]


def plot_phases(config: dict, q: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Three panels (one per phase): median time per case and strategy, IQR bars.

    One case: bars from zero on a linear axis. Several cases: points on a log
    axis, since a sweep's times span decades and log-scaled bars mislead.
    """
    q = q[q["config"] == config["name"]]
    cases = list(dict.fromkeys(q["case"]))
    several = len(cases) > 1
    fig, axes = plt.subplots(1, 3, figsize=(max(11, 0.9 * len(cases) * 3), 4), squeeze=False)
    width = 0.8 / len(STRATEGIES)
    for ax, phase in zip(axes[0], PHASES):
        for k, strategy in enumerate(STRATEGIES):
            d = q[(q["phase"] == phase) & (q["strategy"] == strategy)].set_index("case").reindex(cases)
            if not d["median"].notna().any():
                continue
            x = np.arange(len(cases)) + (k - 1) * width
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
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(f"{config['name']}: time per phase and strategy")
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
        yield key, [(", ".join(f"{k}={_fmt(v)}" for k, v in zip(others, c)), dict(zip(others, c)))
                    for c in combos]


def _fmt(v) -> str:
    return "-".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


def _case_name(config, assignment: dict) -> str:
    return ",".join(f"{k}={_fmt(assignment[k])}" for k in config["sweep"])


def _setup_x(ax, key, values):
    if _numeric(values):
        if max(values) / max(min(values), 1e-12) >= 8:
            ax.set_xscale("log", base=2)
        ax.set_xticks(values, [str(v) for v in values])
        return list(values)
    ax.set_xticks(range(len(values)), [_fmt(v) for v in values])
    return list(range(len(values)))


def plot_sweep(config: dict, q: pd.DataFrame, graphs: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Per swept key: time against it (log), and graph nodes against it."""
    paths = []
    q = q[q["config"] == config["name"]].set_index(["case", "phase", "strategy"])
    g = graphs[graphs["config"] == config["name"]].set_index(["case", "strategy"])
    for key, panels in _sweep_panels(config):
        values = config["sweep"][key]
        fig, axes = plt.subplots(2, len(panels), figsize=(6 * len(panels), 9), squeeze=False)
        for col, (title, fixed) in enumerate(panels):
            names = [_case_name(config, {**fixed, key: v}) for v in values]
            ax_t, ax_n = axes[0][col], axes[1][col]
            xs = _setup_x(ax_t, key, values)
            _setup_x(ax_n, key, values)
            for strategy, phase in itertools.product(STRATEGIES, PHASES):
                d = q.reindex([(n, phase, strategy) for n in names])
                if d["median"].notna().any():
                    ls, marker = PHASE_STYLE[phase]
                    ax_t.errorbar(xs, d["median"].to_numpy(), yerr=_iqr_bars(d),
                                  color=COLORS[strategy], linestyle=ls, marker=marker, capsize=2,
                                  label=f"{strategy} / {phase}")
            for k, strategy in enumerate(STRATEGIES):
                d = g.reindex([(n, strategy) for n in names])
                size = 10 - 3 * k  # equal counts overlap: keep every strategy visible
                if d["nodes_optimized"].notna().any():
                    ax_n.plot(xs, d["nodes_unoptimized"].to_numpy(), color=COLORS[strategy], linestyle="--",
                              marker="o", markersize=size, label=f"{strategy} / before optimization")
                    ax_n.plot(xs, d["nodes_optimized"].to_numpy(), color=COLORS[strategy], linestyle="-",
                              marker="s", markersize=size, label=f"{strategy} / after compilation")
            ax_t.set_yscale("log")
            ax_t.set_ylabel("seconds per call (median; bars: IQR)")
            ax_t.set_title(f"time vs {key}" + (f" ({title})" if title else ""))
            ax_n.set_yscale("log")
            ax_n.set_ylabel("Apply nodes in gradient graph(s)")
            ax_n.set_title(f"graph size vs {key}" + (f" ({title})" if title else ""))
            for ax in (ax_t, ax_n):
                ax.set_xlabel(_axis_label(key))
                ax.grid(which="both", alpha=0.3)
        axes[0][-1].legend(fontsize=7, ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1))
        axes[1][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
        fig.suptitle(f"{config['name']}: sweep over {key}")
        fig.tight_layout()
        paths += save(fig, out_dir, f"{config['name']}-sweep-{key}")
    return paths


_UNITS = {"depth": "hidden layers", "width": "units per hidden layer", "batch": "examples per batch",
          "input": "input features", "output": "output units", "hidden": "hidden layer widths"}


def _axis_label(key: str) -> str:
    return f"{key} ({_UNITS[key]})" if key in _UNITS else key


def plot_run(run: dict, out_dir: Path) -> list[Path]:
    """Every figure of a run (as loaded by results.read_run)."""
    q = quartiles(run["measurements"])
    paths = []
    for config in run["env"]["configs"]:
        if q[q["config"] == config["name"]].empty:
            continue
        paths += plot_phases(config, q, out_dir)
        if config.get("sweep"):
            paths += plot_sweep(config, q, run["graphs"], out_dir)
    return paths
