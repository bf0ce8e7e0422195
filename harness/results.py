"""The files of a run folder: names, columns, and how they are written.

measurements.csv and the per-worker files grow row by row as workers
finish (flushed, so a crash loses nothing completed); summary.csv and
env.json are written whole, atomically (temporary file, then rename).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import secrets
from pathlib import Path

import pandas as pd

from harness.core.case import PARAM_COLUMNS
from harness.core.registry import FRAMEWORKS, GRADIENT_STRATEGIES

# What each version added, and how older folders are read: docs/results-files.md, "Schema versions".
SCHEMA_VERSION = 14
READABLE_VERSIONS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)

CASE_COLUMNS = ("config", "case", *PARAM_COLUMNS)
MEASUREMENT_COLUMNS = (
    *CASE_COLUMNS,
    "strategy",
    "cache",
    "slot",
    "order",
    "pair",
    "host",
    "phase",
    "repeat",
    "seconds",
    "instructions",
    "single_value",
    "cpu_seconds",
    "loops",
    "optimizer_seconds",
    "linker_seconds",
    "c_compiled",
    "c_loaded",
    "peak_rss_mb",
    "stopped",
    "status",
    "error",
)
GRAPH_COLUMNS = (
    *CASE_COLUMNS,
    "strategy",
    "n_functions",
    "nodes_unoptimized",
    "nodes_optimized",
    "nodes_unoptimized_unit",
    "nodes_optimized_unit",
    "fingerprint",
    "fingerprint_of",
)
BUDGET_REFUSED = "run time budget: "  # how a skipped worker's error begins where the run's time budget refused it
WORKER_KEY = ("config", "case", "strategy", "cache", "slot")
WORKER_COLUMNS = (
    *CASE_COLUMNS,
    "strategy",
    "cache",
    "slot",
    "order",
    "pair",
    "host",
    "started_at",
    "status",
    "error",
    "wall_seconds",
    "repeat_budget_s",
    "pid",
    "import_seconds",
    "os_threads",
    "cpus",
    "memory_estimate_mb",
    "rel_err_vs_numpy",
    "rel_err_vs_single",
    "backend_info",
    "output_tail",
)

LIMIT_COLUMNS = (*CASE_COLUMNS, "strategy", "slot", "product", "m", "k", "n", "count", "repeat", "seconds", "loops")

# Names stay text even when they look like numbers (a config named "2026").
_TEXT = "config case hidden strategy cache pair ci_method framework framework_version mode device metric stopped host"
_TEXT += " cpus pair_design"
TEXT_COLUMNS = dict.fromkeys(_TEXT.split(), str)
COLUMNS = {
    "measurements.csv": MEASUREMENT_COLUMNS,
    "graphs.csv": GRAPH_COLUMNS,
    "workers.csv": WORKER_COLUMNS,
    "limits.csv": LIMIT_COLUMNS,
}

FILES = {
    "measurements.csv": "one row per timed repeat (seconds per call, wall clock; cpu_seconds: the process's CPU "
    "time per call, all threads), or per counted call (metric instructions: instructions per call, counted "
    "under callgrind; seconds empty), slot = which worker process, host = which machine; failed workers as "
    "status=failed rows",
    "summary.csv": "one row per config x case x cache x phase x strategy: n, min, median, mean, std, iqr, "
    "median CI (in unit: s, or instructions where metric is instructions), cv, cpu_median (seconds), "
    "cores_used (CPU over wall), unstable, ratio_vs_single with CI, "
    "ratio_vs_primal with CI (first_call and execute over the primal's: derivative / primal)",
    "graphs.csv": "size of the gradient graphs before and after the framework's rewriting/compilation; "
    "the _unit columns say what was counted (Apply nodes, jaxpr equations, HLO instructions, "
    "autograd or FX graph nodes)",
    "limits.csv": "the framework's own matrix product at each distinct product of the gradient pass "
    "(kind forward, weight_grad or input_grad; m x k times k x n; count in the pass), timed in "
    "the first warm worker of the case's first strategy: seconds per product, one row per repeat",
    "workers.csv": "one row per worker: host, cpus (the cores it was pinned to), status (ok, failed, skipped), "
    "error, wall time, the seconds of auto repeats per value it was given, memory estimate, gradient check errors",
    "env.json": "schema version, software, hardware, Theano flags, BLAS, git commit, resolved configs, "
    "each framework's environment (interpreter, versions, NumPy's BLAS, cache kind)",
    "scaling.csv": "log-log slopes of time and node counts against each numeric sweep",
    "throughput.csv": "GFLOP/s of each strategy's gradient evaluation, against the framework's own matrix "
    "products at the pass's shapes (limit) and NumPy's matmul at the largest layer",
    "primal.csv": "each strategy's warm execute over its primal's (the loss alone; the NumPy reference's pass "
    "over its forward pass) with CI, first_call's ratio, the arithmetic expectation (flop_ratio; "
    "product_time_ratio at the framework's measured product times), peak RSS (MiB) beside the primal's, "
    "and why a ratio is suspect",
    "report.md": "one page: the question, this run's answer with its figures, tables, plots, environment",
    "plots/": "PNG and SVG figures",
}


def new_run_dir(root: Path, now: _dt.datetime | None = None) -> Path:
    """Create ``root/<run-id>``: sortable by time, unique even for concurrent runs."""
    now = now or _dt.datetime.now()
    root.mkdir(parents=True, exist_ok=True)
    while True:
        path = root / f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


class CsvAppender:
    """Append dict rows to a CSV, header first; each batch flushed to disk."""

    def __init__(self, path: Path, columns: tuple[str, ...]):
        self.path, self.columns = path, columns
        new = not path.exists() or path.stat().st_size == 0
        self._fh = open(path, "a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._fh, fieldnames=columns, extrasaction="ignore")
        if new:
            self._writer.writeheader()
            self._flush()

    def write(self, rows: list[dict]) -> None:
        self._writer.writerows(rows)
        self._flush()

    def _flush(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def write_frame(path: Path, frame: pd.DataFrame) -> None:
    write_atomic(path, frame.to_csv(index=False))


def read_run(run_dir: Path) -> dict:
    """Load a run folder's files; refuse another schema version with advice.

    ``summary`` is summary.csv as written (None before the run's report is written:
    ``harness.analysis.summary.summarize`` derives it from the measurements)."""
    run_dir = Path(run_dir)
    env_path = run_dir / "env.json"
    if not env_path.exists():
        raise FileNotFoundError(f"{run_dir}: not a gradcost run folder (no env.json)")
    env = json.loads(env_path.read_text())
    version = env.get("schema_version")
    if version not in READABLE_VERSIONS:
        raise ValueError(
            f"{run_dir}: results schema version {version}, this gradcost reads "
            f"version {SCHEMA_VERSION}; re-run the benchmark or use the gradcost "
            f"commit recorded in env.json ({env.get('git', {}).get('commit')})"
        )
    frames = {name: _upgrade(read_csv(run_dir, name), version, env.get("hostname"), env) for name in COLUMNS}
    measurements = frames["measurements.csv"]
    summary_path = run_dir / "summary.csv"
    summary = (
        _upgrade(pd.read_csv(summary_path, dtype=TEXT_COLUMNS), version, env=env) if summary_path.exists() else None
    )
    return {
        "env": env,
        "measurements": measurements,
        "summary": summary,
        "graphs": frames["graphs.csv"],
        "workers": frames["workers.csv"],
        "limits": frames["limits.csv"],
    }


def _upgrade(frame: pd.DataFrame, version: int, hostname: str | None = None, env: dict | None = None) -> pd.DataFrame:
    """An older frame in this schema's terms: schema 3 cases were Theano cases whose graphs
    counted Apply nodes; before schema 6 every case ran on the CPU; before schema 7 every
    worker ran on the machine env.json describes; before schema 10 every case was timed; before
    schema 12 every framework ran its environment's one release (env.json's packages say which); before
    schema 13 no run paired its workers; before schema 14 none alternated a phase (no single_value, pair_design)."""
    frame = frame.copy()
    if version < 14 and "pairs" in frame.columns and "pair_design" not in frame.columns:
        frame.insert(list(frame.columns).index("pairs") + 1, "pair_design", "")
    if version < 13 and "pair" not in frame.columns and "order" in frame.columns:
        frame.insert(list(frame.columns).index("order") + 1, "pair", "")
    if version < 12 and "framework_version" not in frame.columns and "framework" in frame.columns:
        versions = recorded_versions(env or {})
        frame.insert(list(frame.columns).index("framework") + 1, "framework_version", frame["framework"].map(versions))
    if version < 10 and "metric" not in frame.columns and "n_params" in frame.columns:
        frame.insert(list(frame.columns).index("n_params") + 1, "metric", "time")
    if version < 7 and "host" not in frame.columns and "order" in frame.columns and "slot" in frame.columns:
        frame.insert(list(frame.columns).index("order") + 1, "host", hostname)
    if version < 6 and "device" not in frame.columns and "mode" in frame.columns:
        frame.insert(list(frame.columns).index("mode") + 1, "device", "cpu")
    if version == 3 and "framework" not in frame.columns:
        frame.insert(list(frame.columns).index("mode") if "mode" in frame.columns else 0, "framework", "theano")
        if "nodes_unoptimized" in frame.columns:
            frame["nodes_unoptimized_unit"] = "Apply nodes"
            frame["nodes_optimized_unit"] = "Apply nodes after rewriting"
    return frame


def recorded_versions(env: dict) -> dict:
    """framework -> the release an env.json of schema 11 or older says its environment held."""
    out = {"theano": (env.get("packages") or {}).get("theano-pymc")}
    for name, info in (env.get("frameworks") or {}).items():
        packages = (info or {}).get("packages") or {}
        out[name] = packages.get(name) or out.get(name)
    return out


def read_csv(run_dir: Path, name: str) -> pd.DataFrame:
    """One of the appended CSVs, or an empty frame with its columns."""
    path = Path(run_dir) / name
    if path.exists() and path.stat().st_size:
        return pd.read_csv(path, dtype=TEXT_COLUMNS)
    return pd.DataFrame(columns=list(COLUMNS[name]))


def slot_label(cache: str, slot: int) -> str:
    """How a strategy's workers are told apart: 'cold #2', '#3' (a later warm process), ''."""
    if cache == "cold":
        return f"cold #{int(slot) + 1}"
    return f"#{int(slot) + 1}" if slot else ""


def budget_refused(lines: list[str]) -> list[str]:
    """The lines of ``failures`` of workers that the run's time budget did not run."""
    return [line for line in lines if f": skipped: {BUDGET_REFUSED}" in line]


def failures(workers: pd.DataFrame) -> list[str]:
    """One line per worker that did not succeed."""
    bad = workers[workers["status"] != "ok"]
    return [
        f"{r.config}/{r.case}/{r.strategy}"
        + (f" ({label})" if (label := slot_label(r.cache, r.slot)) else "")
        + f": {r.status}: {r.error}"
        for r in bad.itertuples()
    ]


def unexpected_passes(workers: pd.DataFrame) -> list[str]:
    """One line per framework mode declared to fail (``core.registry``) whose gradient workers all succeeded
    (a declared failure is the gradient's: the primal, the loss alone, may well run)."""
    lines = []
    gradients = workers[workers["strategy"].isin(GRADIENT_STRATEGIES)] if not workers.empty else workers
    if gradients.empty:
        return lines
    for (name, mode), d in gradients.groupby(["framework", "mode"], sort=False):
        declared = FRAMEWORKS[name].expected_failure(mode) if name in FRAMEWORKS else None
        if declared and (d["status"] == "ok").all():
            lines.append(
                f"{name}:{mode}: expected to fail ({declared.reason}), but all {len(d)} worker(s) "
                f"succeeded: remove the declaration in harness/core/registry.py"
            )
    return lines
