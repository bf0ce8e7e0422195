"""What became of a run, said first: interrupted (and how to resume it), or nothing measured (and why)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports this module: no pandas at its start
    import pandas as pd

# How a worker's status reads in a sentence ("6 failed as declared, 2 skipped").
STATUS_WORDS = {
    "ok": "measured",
    "failed": "failed",
    "expected failure": "failed as declared (expected failure)",
    "skipped": "skipped",
}


def worker_outcomes(workers: pd.DataFrame | None) -> str:
    """The workers' statuses in words, most frequent first: '6 failed as declared (expected failure), 2 skipped'."""
    if workers is None or workers.empty or "status" not in workers:
        return "no worker ended"
    counts = workers["status"].value_counts()
    return ", ".join(f"{n} {STATUS_WORDS.get(status, status)}" for status, n in counts.items())


def nothing_measured(workers: pd.DataFrame | None) -> str:
    """Why a run has no measurement: what its workers did instead."""
    if workers is None or workers.empty:
        return "nothing was measured: no worker ended"
    return f"nothing was measured: of {len(workers)} worker(s), {worker_outcomes(workers)}"


def resume_command(run_dir: str, interrupted: dict) -> str:
    """The command that resumes an interrupted run, from what env.json kept of it."""
    command = f"python -m harness run --resume {run_dir}"
    if interrupted.get("time_budget_s") is not None:
        command += f" --time-budget {interrupted['time_budget_s']:g}"
    if interrupted.get("cluster"):
        command += " --dask SCHEDULER (the scheduler it ran on)"
    return command


def status_section(run: dict, run_dir: str) -> list[str]:
    """The lines under the report's title: how the run ended, where that is not simply 'complete'."""
    env, lines = run["env"], []
    if env.get("status") == "interrupted":
        done = env.get("interrupted") or {}
        counted = f" after {done['finished']} of {done['of']} workers" if "of" in done else ""
        lines += [
            f"**Interrupted{counted}**: what finished is below; resume with "
            f"`{resume_command(run_dir, done)}` (the interpreter of `.venv`: `.venv/bin/python`).",
            "",
        ]
    measured = run["summary"] is not None and not run["summary"].empty
    if not measured:
        why = nothing_measured(run.get("workers"))
        lines += [f"**{why[0].upper()}{why[1:]}.**", ""]
    return lines
