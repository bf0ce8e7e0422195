"""The answer across releases: per network, each release's strategies over its own `single`, by lineage and
release date (report.md's "Across releases", and the plot ``CONFIG-lineage.png``; docs/lineage.md).

A config is a lineage when one framework appears in two releases or more. The releases' dates come from
env.json's ``releases`` (written by the run), else from the repository's ``envs/`` files (older runs).
"""

from __future__ import annotations

import pandas as pd

from harness.config import releases
from harness.report.formatting import format_ratio, format_seconds

# One line per lineage: Theano's descendants are one line (Theano -> Theano-PyMC -> Aesara -> PyTensor).
LINEAGES = {"theano": "Theano → Aesara → PyTensor", "aesara": "Theano → Aesara → PyTensor"}
LINEAGES.update({"pytensor": LINEAGES["theano"], "jax": "JAX", "torch": "PyTorch"})
# The question's own figures (StackOverflow 34425161, December 2015): construction only, the Theano of then.
SEED = {"single_s": 0.061056, "per_param_s": 0.305081, "n_params": 8}
PHASES = ("construct", "compile", "execute")


def release_dates(env: dict) -> dict:
    """(framework, version) -> YYYY-MM-DD."""
    dates = {}
    for record in (env.get("releases") or {}).values():
        dates[(record["framework"], record["version"])] = record.get("released")
    return dates


def released(framework: str, version: str, dates: dict) -> str | None:
    """A release's date; a local build label names the same release (torch 2.13.0+cpu is 2.13.0)."""
    for v in dict.fromkeys([version, releases.release_version(version)]):
        if (framework, v) in dates:
            return dates[(framework, v)]
        found = releases.find(framework, v)
        if found is not None:
            return found.released
    return None


def lineage_rows(config: str, summary: pd.DataFrame, graphs: pd.DataFrame, env: dict) -> pd.DataFrame:
    """One row per network (``hidden``), release and mode: its ratios to `single` per phase, `single`'s medians,
    and graph sizes; in lineage order, then by release date (a framework's modes apart, where it has several).
    ``label`` names the release, and its mode where the config measures that framework in more than one. Empty
    unless a framework has two releases."""
    s = summary[(summary["config"] == config) & (summary["cache"] == "warm")]
    if s.empty or "framework_version" not in s or s.groupby("framework")["framework_version"].nunique().max() < 2:
        return pd.DataFrame()
    dates, rows = release_dates(env), []
    g = graphs[graphs["config"] == config] if graphs is not None and not graphs.empty else pd.DataFrame()
    several_modes = s.groupby("framework")["mode"].nunique() > 1
    modes = {m: i for i, m in enumerate(dict.fromkeys(s["mode"]))}  # as the config lists them
    for (hidden, framework, version, mode), d in s.groupby(
        ["hidden", "framework", "framework_version", "mode"], sort=False
    ):
        row = {
            "hidden": hidden,
            "lineage": LINEAGES.get(framework, framework),
            "framework": framework,
            "version": version,
            "mode": mode,
            "label": f"{framework} {version}" + (f" {mode}" if several_modes[framework] else ""),
            "line_mode": mode if several_modes[framework] else "",  # the plot's lines: a lineage, per mode if so
            "released": released(framework, version, dates),
            "n_params": d["n_params"].iloc[0],
        }
        for phase in PHASES:
            for strategy in ("single", "per_param", "per_param_separate"):
                hit = d[(d["phase"] == phase) & (d["strategy"] == strategy)]
                r = hit.iloc[0] if not hit.empty else None
                row[f"{phase}_{strategy}_s"] = float(r["median"]) if r is not None else float("nan")
                if strategy != "single":
                    row[f"{phase}_{strategy}_ratio"] = (
                        (r["ratio_vs_single"], r["ratio_ci_low"], r["ratio_ci_high"]) if r is not None else None
                    )
        if not g.empty:
            mine = g[(g["case"] == d["case"].iloc[0])]
            for strategy in ("single", "per_param"):
                hit = mine[mine["strategy"] == strategy]
                for when in ("unoptimized", "optimized"):
                    row[f"nodes_{when}_{strategy}"] = hit[f"nodes_{when}"].iloc[0] if not hit.empty else None
        rows.append(row)
    order = {name: i for i, name in enumerate(dict.fromkeys(LINEAGES.values()))}
    out = pd.DataFrame(rows)
    networks = {h: i for i, h in enumerate(dict.fromkeys(out["hidden"]))}  # as the config lists them
    out["_network"], out["_lineage"] = out["hidden"].map(networks), out["lineage"].map(order)
    # A framework measured in several modes keeps each mode's releases together; otherwise date order alone.
    out["_mode"] = out["line_mode"].map(lambda m: modes[m] if m else 0)
    out = out.sort_values(["_network", "_lineage", "_mode", "released"], kind="stable")
    return out.drop(columns=["_network", "_lineage", "_mode"])


def _ratio(value) -> str:
    return format_ratio(*(float(v) for v in value)) if value is not None else ""


def _nodes(value) -> str:
    return "" if value is None or value != value else str(int(float(value)))


def _graph(row, strategy: str) -> str:
    """'59 → 28' (built → after rewriting), or one count where the framework has no rewriting."""
    built, rewritten = (_nodes(row.get(f"nodes_{w}_{strategy}")) for w in ("unoptimized", "optimized"))
    return f"{built} → {rewritten}" if built and rewritten else built or rewritten


def lineage_section(config: str, summary: pd.DataFrame, graphs: pd.DataFrame, env: dict) -> list[str]:
    """report.md lines: per network, a table of releases; and the question's 2015 figures beside Theano 0.7.0's."""
    rows = lineage_rows(config, summary, graphs, env)
    if rows.empty:
        return []
    lines = [
        "**Across releases** ([lineage](../../docs/lineage.md)): each release's `per_param` and "
        "`per_param_separate` over its own `single` (medians; 95% CI over worker processes), `single`'s "
        "median time, and the graph's Apply nodes as `T.grad` built it → after the compiler's rewrites (`single`; "
        "`per_param`), by lineage and release date.",
        "",
    ]
    head = [
        "lineage",
        "release",
        "released",
        *(f"{ph}: `per_param`" for ph in PHASES),
        *(f"{ph}: `separate`" for ph in PHASES[1:]),
        *(f"`single` {ph}" for ph in PHASES),
        "Apply nodes: `single`; `per_param`",
    ]
    for hidden, d in rows.groupby("hidden", sort=False):
        lines += [f"Network hidden={hidden} ({int(d['n_params'].iloc[0])} parameters):", ""]
        lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for _, r in d.iterrows():
            cells = [
                r["lineage"],
                r["label"],
                r["released"] or "",
                *(_ratio(r[f"{ph}_per_param_ratio"]) for ph in PHASES),
                *(_ratio(r[f"{ph}_per_param_separate_ratio"]) for ph in PHASES[1:]),
                *(format_seconds(r[f"{ph}_single_s"]) for ph in PHASES),
                "; ".join(_graph(r, x) for x in ("single", "per_param")),
            ]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        lines.append("")
    lines += seed_lines(rows)
    return lines


def seed_lines(rows: pd.DataFrame) -> list[str]:
    """The question's 2015 figures beside the oldest Theano measured, on the network with its 8 parameters."""
    theano = rows[(rows["framework"] == "theano") & (rows["n_params"].astype(int) == SEED["n_params"])]
    if theano.empty:
        return []
    oldest = theano.sort_values("released", kind="stable").iloc[0]
    single, per_param = oldest["construct_single_s"], oldest["construct_per_param_s"]
    if single != single or per_param != per_param:
        return []
    return [
        f"**The question's own figures** (December 2015, the Theano of then, construction only): one `T.grad` "
        f"call {SEED['single_s']:.3f} s, eight calls {SEED['per_param_s']:.3f} s "
        f"({SEED['per_param_s'] / SEED['single_s']:.2f}×). Theano {oldest['version']} ({oldest['released']}) here, "
        f"hidden={oldest['hidden']}: {format_seconds(single)} and {format_seconds(per_param)} "
        f"({_ratio(oldest['construct_per_param_ratio'])}). What differs: this machine, Python 3.7 (not 2.7), "
        "NumPy 1.21 (not 2015's), OpenBLAS, and a network as the question describes it, not its own code "
        "(docs/lineage.md).",
        "",
    ]
