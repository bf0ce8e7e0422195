"""Record a run as it goes: each worker's rows land in the run folder whole, with progress lines."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness import results
from harness.core.case import Case
from harness.core.registry import CONTROL
from harness.orchestrate import envinfo
from harness.orchestrate.plan import Job, job_label, job_phases

Progress = Callable[[str], None]


def worker_rows(case: Case, job: Job, order: int, result: dict) -> list[dict]:
    """measurements.csv rows of one worker; a failure or skip gives one row per phase."""
    base = {
        "config": case.config,
        "case": case.name,
        **case.columns(),
        "strategy": job.strategy,
        "cache": job.cache,
        "slot": job.slot,
        "order": order,
        "pair": job.pair,
        "host": result.get("host") or envinfo.host_name(),
    }
    if result["status"] != "ok":
        return [
            {
                **base,
                "phase": p,
                "repeat": None,
                "seconds": None,
                "status": result["status"],
                "error": result.get("error"),
            }
            for p in job_phases(case, job)
        ]
    return [{**base, **m, "status": "ok", "error": None} for m in result["measurements"]]


class Recorder:
    """Writes each worker's rows to the run folder as it ends, and reports progress."""

    def __init__(self, run_dir: Path, todo: int, progress: Progress, display=None):
        self.files = {name: results.CsvAppender(run_dir / name, cols) for name, cols in results.COLUMNS.items()}
        self.todo, self.finished, self.started = todo, 0, time.monotonic()
        self.progress, self.display = progress, display
        if display is not None:
            display.start(todo)

    def record(self, case: Case, job: Job, order: int, result: dict, wall: float, shown: bool = True) -> None:
        """``shown``: the display already showed this worker begin (a local run) or not (a cluster)."""
        with signals_deferred():  # a worker's rows land whole, or not at all
            _store(self.files, case, job, order, result, wall)
        self.finished += 1
        line = _progress_line(self.finished, self.todo, self.started, case, job, result, wall)
        if self.display is not None:
            if not shown:
                self.display.begin(f"{case.config} {case.name}")
            self.display.end()
            if result["status"] != "ok":  # failures stay visible above the bar
                self.display.write(line)
        self.progress(line)

    def grow(self, n: int) -> None:
        self.todo += n
        if self.display is not None:
            self.display.grow(n)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
        for f in self.files.values():
            f.close()


INTERRUPTS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def signals_deferred(signals=INTERRUPTS, deliver=True):
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, then deliver the first one (``deliver``; else
    drop them: a run already ending on an interrupt writes its state whatever else arrives).

    Appending a worker's rows to three files must not stop halfway: a row cut
    in two would be read back as a worker that finished. Outside the main
    thread (where handlers cannot be set) the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum)) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received and deliver:
            signal.raise_signal(received[0])  # now handled as it would have been


def _store(files, case, job: Job, order, result, wall) -> list[dict]:
    rows = worker_rows(case, job, order, result)
    files["measurements.csv"].write(rows)
    base = {"config": case.config, "case": case.name, **case.columns(), "strategy": job.strategy}
    if "graph" in result and job.cache == "warm" and job.slot == 0 and job.strategy != CONTROL:  # one per strategy
        files["graphs.csv"].write([{**base, **result["graph"]}])
    files["limits.csv"].write([{**base, "slot": job.slot, **row} for row in result.get("limits", [])])
    check = result.get("check", {})
    # workers.csv last: a worker is complete once its row is there (see resume).
    files["workers.csv"].write(
        [
            {
                **base,
                "cache": job.cache,
                "slot": job.slot,
                "order": order,
                "pair": job.pair,
                "host": result.get("host") or envinfo.host_name(),
                "started_at": result.get("started_at"),
                "status": result["status"],
                "error": result.get("error"),
                "wall_seconds": round(wall, 3),
                "repeat_budget_s": result.get("repeat_budget_s"),
                "pid": result.get("info", {}).get("pid"),
                "import_seconds": result.get("info", {}).get("import_seconds"),
                "os_threads": result.get("info", {}).get("os_threads"),
                "cpus": result.get("info", {}).get("cpus"),
                "memory_estimate_mb": result.get("memory_estimate_mb"),
                "rel_err_vs_numpy": check.get("vs_numpy"),
                "rel_err_vs_single": check.get("vs_single"),
                "backend_info": json.dumps(result["info"], default=str, sort_keys=True) if result.get("info") else None,
                "output_tail": result.get("output_tail") if result["status"] != "ok" else None,
            }
        ]
    )
    return rows


def _progress_line(done, total, started, case, job, result, wall) -> str:
    elapsed = time.monotonic() - started
    eta = elapsed / done * (total - done)
    status = "ok" if result["status"] == "ok" else f"{result['status'].upper()}: {result.get('error')}"
    cache = job_label(job)
    return (
        f"[{done}/{total}] {case.config} {case.name} {job.strategy}{cache}: {wall:.1f} s, {status}"
        f" (elapsed {elapsed:.0f} s, ETA {eta:.0f} s)"
    )


def drop_rows_not_in(run_dir: Path, done: set) -> None:
    """Keep only the rows of the workers in ``done`` (keys as in WORKER_KEY).

    Drops what a crash between two appends left behind (workers.csv is
    written last for each worker, so it says what is complete), and the rows
    of failed workers that are to be measured again.
    """
    for name in ("measurements.csv", "graphs.csv", "limits.csv", "workers.csv"):
        path = run_dir / name
        if not path.exists() or not path.stat().st_size:
            continue
        frame = results.read_csv(run_dir, name)
        if name == "graphs.csv":  # one row per case x strategy, from its first warm worker
            keys = zip(frame["config"], frame["case"], frame["strategy"], ["warm"] * len(frame), [0] * len(frame))
        elif name == "limits.csv":  # measured by warm workers only
            keys = zip(frame["config"], frame["case"], frame["strategy"], ["warm"] * len(frame), frame["slot"])
        else:
            keys = zip(*(frame[k] for k in results.WORKER_KEY))
        keep = [k in done for k in keys]
        if not all(keep):
            results.write_frame(path, frame[keep])
