"""Figures of a run, drawn from its files only (PNG and SVG under plots/)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness.core.case import case_label, format_value  # noqa: E402
from harness.core.registry import STRATEGIES  # noqa: E402

COLORS = {
    "single": "#1f77b4",
    "per_param": "#ff7f0e",
    "per_param_separate": "#2ca02c",
    "primal": "#9467bd",
    "numpy_reference": "#7f7f7f",
}
# A panel is a phase, with compile split by compile-cache state: (label, phase, cache, line style, marker).
PANELS = (
    ("construct", "construct", "warm", "-", "o"),
    ("compile (warm cache)", "compile", "warm", "--", "s"),
    ("compile (cold cache)", "compile", "cold", "-.", "D"),
    ("first_call", "first_call", "warm", (0, (1, 1)), "v"),
    ("execute", "execute", "warm", ":", "^"),
)
PANEL_LABELS = tuple(label for label, *_ in PANELS)


def panel_of(phase: str, cache: str) -> str | None:
    return next((label for label, ph, c, *_ in PANELS if ph == phase and (c == cache or ph != "compile")), None)


def quartiles(measurements: pd.DataFrame) -> pd.DataFrame:
    """median, q1, q3 of successful repeats per config × case × panel × strategy."""
    ok = measurements[measurements["status"] == "ok"].copy()
    ok["panel"] = [panel_of(p, c) for p, c in zip(ok["phase"], ok["cache"])]
    ok = ok[ok["panel"].notna()]
    if ok.empty:  # nothing finished a timing (its seconds column is then read as text)
        return pd.DataFrame(columns=["config", "case", "panel", "strategy", "median", "q1", "q3"])
    grouped = ok.groupby(["config", "case", "panel", "strategy"], sort=False)["seconds"]
    return pd.DataFrame(
        {"median": grouped.median(), "q1": grouped.quantile(0.25), "q3": grouped.quantile(0.75)}
    ).reset_index()


def save(fig, out_dir: Path, stem: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=110, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def legend(axes, **kwargs) -> None:
    """One legend for a row of panels, beside the last, with the series of the fullest panel.

    A run cut short may leave panels empty, the last one too.
    """
    handles, labels = max((ax.get_legend_handles_labels() for ax in axes), key=lambda hl: len(hl[0]))
    if handles:
        axes[-1].legend(handles, labels, **kwargs)


def iqr_bars(d: pd.DataFrame):
    return [(d["median"] - d["q1"]).to_numpy(), (d["q3"] - d["median"]).to_numpy()]


def plot_phases(config: dict, q: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Three panels (one per phase): median time per case and strategy, IQR bars.

    One case: bars from zero on a linear axis. Several cases: points on a log
    axis, since a sweep's times span decades and log-scaled bars mislead.
    """
    q = q[q["config"] == config["name"]]
    cases = list(dict.fromkeys(q["case"]))
    panels = [p for p in PANEL_LABELS if (q["panel"] == p).any()]
    several = len(cases) > 1
    fig, axes = plt.subplots(
        1, len(panels), figsize=(max(3.7 * len(panels), 0.9 * len(cases) * len(panels)), 4), squeeze=False
    )
    for ax, phase in zip(axes[0], panels):
        # Centre the group of strategies this panel has (construct has two, execute four).
        present = [s for s in STRATEGIES if ((q["panel"] == phase) & (q["strategy"] == s)).any()]
        width = 0.8 / len(present)
        for k, strategy in enumerate(present):
            d = q[(q["panel"] == phase) & (q["strategy"] == strategy)].set_index("case").reindex(cases)
            x = np.arange(len(cases)) + (k - (len(present) - 1) / 2) * width
            if several:
                ax.errorbar(
                    x,
                    d["median"].to_numpy(),
                    yerr=iqr_bars(d),
                    color=COLORS[strategy],
                    marker="o",
                    linestyle="none",
                    capsize=2,
                    label=strategy,
                )
            else:
                ax.bar(
                    x,
                    d["median"].to_numpy(),
                    width,
                    color=COLORS[strategy],
                    label=strategy,
                    yerr=iqr_bars(d),
                    capsize=3,
                    ecolor="black",
                )
        if several:
            ax.set_yscale("log")
        ax.set_title(phase)
        ax.set_xticks(
            np.arange(len(cases)), cases, rotation=45 if several else 0, ha="right" if several else "center", fontsize=8
        )
        ax.set_xlabel("case")
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0][0].set_ylabel("seconds per call (median; bars: IQR)")
    legend(axes[0], fontsize=8)
    fig.suptitle(f"{config['name']}: time per phase and strategy (first_call: one per worker)")
    fig.tight_layout()
    return save(fig, out_dir, f"{config['name']}-phases")


FRAMEWORK_PANELS = (("construct", "warm"), ("compile", "warm"), ("first_call", "warm"), ("execute", "warm"))


def plot_frameworks(config: dict, summary: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Frameworks side by side: per phase, each strategy's median over its own framework's single.

    One bar group per framework and mode (x), 95% CI bars, a line at 1, log scale. With
    other swept keys, the cases at their last listed values (the largest network of a sweep).
    """
    s = summary[
        (summary["config"] == config["name"])
        & (summary["strategy"] != "single")
        & (summary["strategy"] != "numpy_reference")
    ]
    sweep = config.get("sweep") or {}
    last = {k: v[-1] for k, v in sweep.items() if k != "framework"}
    if last:
        names = {
            case_label({k: (last[k] if k != "framework" else f) for k in sweep}) for f in sweep.get("framework", [None])
        }
        s = s[s["case"].isin(names)]
    pairs = list(dict.fromkeys(zip(s["framework"], s["framework_version"].fillna(""), s["mode"])))
    if len(pairs) < 2:
        return []
    panels = [(ph, c) for ph, c in FRAMEWORK_PANELS if ((s["phase"] == ph) & (s["cache"] == c)).any()]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.6), squeeze=False)
    labels = [f"{f} {v}\n{m}" for f, v, m in pairs]
    for ax, (phase, cache) in zip(axes[0], panels):
        for k, strategy in enumerate(("per_param", "per_param_separate")):
            d = s[(s["phase"] == phase) & (s["cache"] == cache) & (s["strategy"] == strategy)]
            d = d.assign(framework_version=d["framework_version"].fillna(""))
            d = d.set_index(["framework", "framework_version", "mode"]).reindex(pairs)
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
    legend(axes[0], fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    shown = ", ".join(f"{k}={format_value(v)}" for k, v in last.items())
    fig.suptitle(
        f"{config['name']}: each framework's strategies against its own single"
        + (f" ({shown})" if shown else "")
        + "; missing bar: phase absent or failed"
    )
    fig.tight_layout()
    return save(fig, out_dir, f"{config['name']}-frameworks")
