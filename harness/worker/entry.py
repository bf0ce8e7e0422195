"""The one child entry: ``python -m harness.worker TASK.json RESULT.json [PROGRESS]``.

The task's ``kind`` picks the measurement: ``gradient`` (the default: one
strategy of one case, ``harness.worker.measure``), ``paired`` (the paired
experiment) or ``naive`` (the order-effect experiment). The process is pinned
to its leased cores first, before anything imports a framework; the name of
each phase it begins is appended to PROGRESS, so the parent can apply
per-phase time limits; any exception becomes a failed result with its
traceback (a failure is data for the parent, not a crash); the result file
is written whole or not at all.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

from harness.core import affinity
from harness.core.task import Result, Task

USAGE = "usage: python -m harness.worker TASK.json RESULT.json [PROGRESS]"


def measurement(kind: str):
    """The function that measures a task of ``kind``: ``f(task, on_phase) -> result``."""
    if kind == "gradient":
        from harness.worker.measure import run_task

        return lambda task, on_phase: run_task(task, on_phase=on_phase)
    if kind == "paired":
        from harness.worker.paired import paired_worker

        return lambda task, on_phase: paired_worker(task)
    if kind == "naive":
        from harness.worker.naive import naive_worker

        return lambda task, on_phase: naive_worker(task)
    raise ValueError(f"unknown task kind {kind!r}")  # Task.from_json refuses it first


def main(argv: list | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 3):
        print(USAGE, file=sys.stderr)
        return 2
    pinned = affinity.apply_from_environment()  # first: before anything imports a framework
    task_path, result_path = argv[:2]
    with open(task_path, encoding="utf-8") as fh:
        raw = json.load(fh)

    def on_phase(phase: str) -> None:
        if len(argv) == 3:
            with open(argv[2], "a", encoding="utf-8") as fh:
                fh.write(phase + "\n")

    try:
        task = Task.from_json(raw)
        result = Result.from_json(measurement(task.kind)(task.to_json(), on_phase)).to_json()
    except Exception as exc:  # noqa: BLE001  (a failure is data for the parent, not a crash)
        result = Result("failed", f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()).to_json()
    info = result.setdefault("info", {})
    info.update(pinned)
    info.setdefault("cpus", affinity.current())  # a failed worker's cores too
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result, fh, default=str)  # a path or a framework's version object: as text
    os.replace(tmp, result_path)
    return 0
