"""Compare two runs: which medians changed, by how much, and is it beyond the noise.

A change is reported only when it is both larger than a factor (default 1.10)
and statistically significant: a two-sided Welch t test on the two runs'
log process medians, p < 0.05. The worker process is the unit: repeats in
one process share its luck, so a test that counted them as independent would
call a difference between two processes a change (with 20 repeats a process,
a Mann-Whitney test on pooled repeats flagged 18-41% of A/A comparisons).
With one process on a side nothing can be tested, and the row says so. Counted
values (metric instructions) are compared by ``count_compare.compare_counts``:
beyond a small threshold (1%) and beyond their own spread, no test. Runs
measured in different environments are compared all the same, but the
differences are said first. Where both runs timed the calibration workload
(``harness.analysis.machine_shift``), the machine's own shift between them is
said too, and each ratio is given again with it divided out
(``ratio_adjusted``), beside the raw one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness import results
from harness.analysis.agreement import agreement_line, by_phase_line, changes, consistent_line, inside_line
from harness.analysis.count_compare import DEFAULT_THRESHOLD, FEWER, MORE, compare_counts
from harness.analysis.machine_shift import shift
from harness.analysis.pairs import compare_pairs, differences
from harness.analysis.stats import ALPHA, UNTESTABLE, compare_samples
from harness.analysis.summary import in_display_order, summarize
from harness.core.case import PARAM_COLUMNS
from harness.report.formatting import format_measure

KEY = ["config", "case", "cache", "phase", "strategy"]
COLUMNS = (
    *KEY,
    "framework_version",  # the release measured: "3.0.7", or "3.0.7 -> 3.3.7" where the runs measured two
    "n_base",
    "n_new",
    "processes_base",
    "processes_new",
    "median_base_s",
    "median_new_s",
    "ratio",
    "p_value",
    "change",
    "ratio_adjusted",  # ratio over the machine's shift between the runs (calibration), where both have one
    "unit",  # s, or instructions (a counted case: medians are counts, ratio_adjusted empty)
    "spread",  # counted: the larger run's process medians, largest over smallest less one
)
# What must match for two runs' numbers to be comparable as they are.
ENV_FIELDS = (
    ("theano_flags",),
    ("blas", "ldflags"),
    ("blas", "library"),
    ("cpu", "model"),
    ("cpu", "count"),
    ("gpu",),
    ("hostname",),
    ("python",),
    ("packages",),
    ("affinity", "pinning"),
)  # workers pinned to their threads' cores, or not


def environment_differences(base: dict, new: dict) -> list[str]:
    """Lines naming each environment field that differs between two env.json dicts."""
    lines = []
    for path in ENV_FIELDS:
        a, b = base, new
        for key in path:
            a = a.get(key) if isinstance(a, dict) else None
            b = b.get(key) if isinstance(b, dict) else None
        if path == ("theano_flags",):  # where the compile cache lives changes no number
            a, b = _without_compiledir(a), _without_compiledir(b)
        if a != b:
            lines.append(f"{'.'.join(path)}: {a!r} -> {b!r}")
    # Each framework's environment: versions, Python and NumPy's BLAS (not where its interpreter lives).
    fa, fb = base.get("frameworks") or {}, new.get("frameworks") or {}
    for name in dict.fromkeys([*fa, *fb]):
        for key in ("python", "packages", "numpy_blas", "gpus", "cuda"):
            a, b = (fa.get(name) or {}).get(key), (fb.get(name) or {}).get(key)
            if name in fa and name in fb and a != b:
                lines.append(f"frameworks.{name}.{key}: {a!r} -> {b!r}")
    return lines


def _without_compiledir(flags):
    """THEANO_FLAGS per floatX, without base_compiledir (two clones differ only there)."""
    if not isinstance(flags, dict):
        return flags
    return {
        floatx: ",".join(f for f in str(value).split(",") if not f.startswith("base_compiledir="))
        for floatx, value in flags.items()
    }


def _comparable(measurements: pd.DataFrame) -> pd.DataFrame:
    ok = measurements[measurements["status"] == "ok"].copy()
    ok[list(PARAM_COLUMNS)] = ok[list(PARAM_COLUMNS)].astype(str)  # NaN widths match too
    return ok


def _processes(group: pd.DataFrame) -> np.ndarray:
    """Which worker process measured each value: its cache and slot (a cold slot is another process)."""
    return (group["cache"].astype(str) + ":" + group["slot"].astype(str)).to_numpy()


def compare_runs(
    base_dir: Path, new_dir: Path, factor: float = 1.10, count_threshold: float = DEFAULT_THRESHOLD
) -> tuple[pd.DataFrame, list[str]]:
    """One row per key both runs measured successfully; and the environment differences."""
    base, new = results.read_run(base_dir), results.read_run(new_dir)
    a, b = (_comparable(run["measurements"]) for run in (base, new))
    # Cases match by config, name and every parameter: a changed model is another case. Not by release: two
    # releases of a framework are the same case measured twice, and the difference is what is asked.
    match = [*KEY[:2], *(c for c in PARAM_COLUMNS if c != "framework_version"), *KEY[2:]]
    groups_b = {k: g for k, g in b.groupby(match, sort=False)}
    rows, moved_releases = [], {}
    for key, g in a.groupby(match, sort=False):
        if key in groups_b:
            named = dict(zip(match, key))
            other = groups_b[key]
            releases = (str(g["framework_version"].iloc[0]), str(other["framework_version"].iloc[0]))
            named["framework_version"] = releases[0] if releases[0] == releases[1] else " -> ".join(releases)
            if releases[0] != releases[1]:
                moved_releases.setdefault((named["framework"], *releases), set()).add(named["case"])
            if named.get("metric") == "instructions":
                values = g["instructions"], other["instructions"]
                row = compare_counts(*values, count_threshold, _processes(g), _processes(other))
            else:
                row = compare_samples(g["seconds"], other["seconds"], factor, _processes(g), _processes(other))
            unit = "instructions" if named.get("metric") == "instructions" else "s"
            rows.append(
                {**{k: named[k] for k in KEY}, "framework_version": named["framework_version"], **row, "unit": unit}
            )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    moved = shift(base["env"], new["env"])
    timed = table["unit"] == "s"  # a count does not move with the machine's pace
    table["ratio_adjusted"] = np.where(timed, table["ratio"] / moved["machine"], np.nan) if moved else np.nan
    if not table.empty:  # the summary's order
        table = in_display_order(table, a)
    notes = environment_differences(base["env"], new["env"])
    notes += [
        f"framework_version: {name} {old} -> {new_release} ({len(cases)} case(s): each row compares the two releases)"
        for (name, old, new_release), cases in moved_releases.items()
    ]
    if moved:
        notes.append(
            f"machine pace (the calibration workload at each run's start and end): Python work {moved['python']:.3f}x, "
            f"BLAS {moved['blas']:.3f}x, together {moved['machine']:.3f}x the base run's time; "
            "column ÷machine divides it out"
        )
    return table, notes


def agreement(base_dir: Path, new_dir: Path) -> list[str]:
    """How far the two runs agree, timed warm values only: within-case ratios, then medians (a whole run's
    shift cancels in the first, not in the second)."""
    runs = [results.read_run(d) for d in (base_dir, new_dir)]
    base, new = (_summary(run) for run in runs)
    ratios = changes(base, new, "ratio")
    return [
        paired_line(*(run["measurements"] for run in runs)),
        agreement_line(
            "within-case ratios (per_param and per_param_separate over single, per phase; from pairs where "
            "the runs paired them)",
            ratios,
        ),
        inside_line(ratios),
        consistent_line(ratios),
        by_phase_line(ratios),
        agreement_line("medians", changes(base, new, "median")),
    ]


def paired_moves(base: pd.DataFrame, new: pd.DataFrame, factor: float = 1.10) -> pd.DataFrame:
    """Each paired ratio to single both runs measured (warm, timed; ``pairs.differences``) and whether it
    moved: ``pairs.compare_pairs`` over the two runs' pairs."""
    found = []
    for run in (base, new):
        ok = run[(run["status"] == "ok") & (run["cache"] == "warm")]
        if "pair" not in ok or "metric" in ok and (ok["metric"] == "instructions").all():
            return pd.DataFrame(columns=[*KEY, "change", "p_value", "verdict"])
        keyed = ok.assign(value=ok["seconds"]).groupby(["config", "case", "cache", "phase"], sort=False)
        found.append({(*k, s): d for k, g in keyed for s, d in differences(g).items()})
    rows = [
        {**dict(zip(KEY, key)), **compare_pairs(found[0][key], found[1][key], factor)}
        for key in found[0]
        if key in found[1]
    ]
    return pd.DataFrame(rows, columns=[*KEY, "change", "p_value", "verdict"])


def paired_line(base: pd.DataFrame, new: pd.DataFrame, factor: float = 1.10) -> str:
    """'paired ratios: 2 of 30 moved beyond 1.10x (Welch p < 0.05 over pairs): ...; 4 untestable'."""
    t = paired_moves(base, new, factor)
    if t.empty:
        return "paired ratios: none in both runs"
    moved = t[t["verdict"].isin(["larger", "smaller"])]
    untestable = int((t["verdict"] == "untestable").sum())
    where = "; ".join(f"{r.case} {r.phase} {r.strategy} {r.change:.2f}x" for r in moved.head(3).itertuples())
    return (
        f"paired ratios: {len(moved)} of {len(t)} moved beyond {factor:.2f}x (Welch p < {ALPHA} over the runs' pairs)"
        + (f": {where}" + (", ..." if len(moved) > 3 else "") if len(moved) else "")
        + (f"; {untestable} untestable (one pair a side)" if untestable else "")
    )


def _summary(run: dict) -> pd.DataFrame:
    return run["summary"] if run["summary"] is not None else summarize(run["measurements"])


def format_comparison(
    table: pd.DataFrame, env_diff: list[str], factor: float, count_threshold: float = DEFAULT_THRESHOLD
) -> str:
    lines = []
    if env_diff:
        lines.append("The two runs were measured in different environments:")
        lines += [f"  {d}" for d in env_diff]
        lines.append("")
    if table.empty:
        return "\n".join(lines + ["(no measurements in common)"])
    t = table.copy()
    t["base"] = [format_measure(m, u) for m, u in zip(t["median_base_s"], t["unit"])]
    t["new"] = [format_measure(m, u) for m, u in zip(t["median_new_s"], t["unit"])]
    t["new/base"] = t["ratio"].map(lambda r: f"{r:.2f}x")
    t["p"] = t["p_value"].map(lambda p: "n/a" if p != p else f"{p:.3f}")
    t["÷machine"] = t["ratio_adjusted"].map(lambda r: "" if r != r else f"{r:.2f}x")
    adjusted = ["÷machine"] if t["ratio_adjusted"].notna().any() else []  # both runs calibrated
    t["processes"] = t["processes_base"].astype(str) + "/" + t["processes_new"].astype(str)
    lines.append(
        t[[*KEY, "n_base", "n_new", "processes", "base", "new", "new/base", *adjusted, "p", "change"]].to_string(
            index=False
        )
    )
    slower, faster = (t["change"] == "slower").sum(), (t["change"] == "faster").sum()
    untestable = (t["change"] == UNTESTABLE).sum()
    counted = t["unit"] == "instructions"
    lines.append("")
    lines.append(
        f"{slower} slower, {faster} faster, {(~counted).sum() - slower - faster - untestable} without a significant "
        f"change (beyond {factor:.2f}x and Welch p < {ALPHA} over process medians)"
        + (f", {untestable} untestable (one process on a side: measure with run.processes >= 2)" if untestable else "")
    )
    if counted.any():
        more, fewer = (t["change"] == MORE).sum(), (t["change"] == FEWER).sum()
        wide = counted & (t["spread"] > count_threshold)
        within = (counted & ((t["ratio"] - 1).abs() <= count_threshold)).sum()
        lines.append(
            f"counted: {more} more instructions, {fewer} fewer, {counted.sum() - more - fewer} unchanged (beyond "
            f"{count_threshold:.1%} and beyond the counts' own spread between processes); {within} of "
            f"{counted.sum()} counted values within {count_threshold:.1%} of the base run's"
            + (f"; {wide.sum()} spread more than {count_threshold:.1%} between processes" if wide.any() else "")
        )
    return "\n".join(lines)
