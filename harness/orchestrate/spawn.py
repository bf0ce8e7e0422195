"""Run one worker process and turn whatever happens into a result dict.

A worker that raises, crashes, is killed or runs past a phase's time limit
becomes a failed result with its reason and the tail of its output; it never
raises here (except on Ctrl-C, after killing the worker), so the run goes on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.core import affinity
from harness.core.task import Result

OUTPUT_TAIL = 2000
POLL_S = 0.1


class Cancelled(Exception):
    """A duet's other side was interrupted (``schedule.duet``): this worker was killed, nothing is kept."""


def run_worker(
    task: dict, env: dict | None, timeouts: dict, command: list[str] | None = None, on_phase=None, cancel=None
) -> dict:
    """Send ``task`` to a fresh worker process; return its result as data.

    ``timeouts`` maps a phase name to seconds (key ``default`` for phases not
    named). The worker announces each phase in a progress file; the limit of
    the phase it is in applies from the moment the parent sees it begin;
    ``on_phase(name)`` is told too (a progress display). ``cancel``: an event that, once set, kills the
    worker (raising ``Cancelled``): a duet's worker whose partner was interrupted.
    """
    command = command or [sys.executable, "-m", "harness.worker"]
    with tempfile.TemporaryDirectory(prefix="gradcost-") as tmp:
        paths = {name: Path(tmp, name) for name in ("task.json", "result.json", "progress", "output.log")}
        paths["task.json"].write_text(json.dumps(task))
        with open(paths["output.log"], "wb") as out, affinity.CoreLease(task.get("threads", 1)) as cores:
            child_env = dict(os.environ if env is None else env)
            child_env.pop(affinity.CPUS_VARIABLE, None)
            child_env.update(cores.environment())
            proc = subprocess.Popen(
                [*command, str(paths["task.json"]), str(paths["result.json"]), str(paths["progress"])],
                env=child_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            try:
                timed_out = _wait(proc, paths["progress"], timeouts, on_phase, cancel)
            except BaseException:  # Ctrl-C or SIGTERM: never leave a worker running
                proc.kill()
                proc.wait()
                raise
        output = paths["output.log"].read_bytes()
        if timed_out:
            return _failed(timed_out, output)
        if proc.returncode != 0:
            how = (
                f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exited with code {proc.returncode}"
            )
            return _failed(f"worker {how}", output)
        try:
            result = Result.from_json(json.loads(paths["result.json"].read_text())).to_json()
        except (OSError, ValueError, TypeError) as exc:
            return _failed(f"worker wrote no readable result ({exc})", output)
        result["output_tail"] = _tail(output)
        return result


def _wait(proc: subprocess.Popen, progress: Path, timeouts: dict, on_phase=None, cancel=None) -> str | None:
    """Wait for the worker; kill it and return a reason if a phase overruns."""
    phase, started = "setup", time.monotonic()
    while True:
        try:
            proc.wait(timeout=POLL_S)
            return None
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel.is_set():
            raise Cancelled("the duet was interrupted")  # run_worker kills the worker
        current = _current_phase(progress) or "setup"
        if current != phase:
            phase, started = current, time.monotonic()
            if on_phase is not None:
                on_phase(phase)
        limit = timeouts.get(phase, timeouts["default"])
        if time.monotonic() - started > limit:
            proc.kill()
            proc.wait()
            return f"timed out in phase {phase} after {limit:g} s"


def _current_phase(progress: Path) -> str | None:
    try:
        lines = progress.read_text().split()
    except OSError:
        return None
    return lines[-1] if lines else None


def _failed(reason: str, output: bytes | None) -> dict:
    return {"status": "failed", "error": reason, "measurements": [], "output_tail": _tail(output)}


def _tail(output: bytes | None) -> str:
    return (output or b"").decode("utf-8", "replace")[-OUTPUT_TAIL:]
