"""The machine's pace at a run's start and end (``harness.worker.calibration``), and the shift between runs.

A shared machine runs the same code slower or faster from hour to hour (3-14% between whole runs on the
project's 2-core VM, up to a third in one day). The calibration workload, measured in a fresh process on
one leased core, says by how much: ``compare`` divides it out of each change (issue 22;
``harness.analysis.machine_shift``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from harness.core import affinity
from harness.orchestrate import REPO, theano_env

TIMEOUT_S = 120
VARIABLE = "GRADCOST_CALIBRATION"  # "off": no calibration (the tests' fake runs)
ONE_THREAD = dict.fromkeys(theano_env.THREAD_VARIABLES, "1")  # the BLAS libraries' thread settings, as workers get


def enabled(environ=None) -> bool:
    return (os.environ if environ is None else environ).get(VARIABLE, "on") != "off"


def calibrate(when: str, command: list[str] | None = None) -> dict:
    """Run the workload once in a fresh process (one thread, one leased core): its medians, or an error."""
    command = command or [sys.executable, "-m", "harness.worker.calibration"]
    with affinity.CoreLease(1) as cores:
        env = {**os.environ, **ONE_THREAD, **cores.environment()}
        try:
            proc = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"when": when, "error": f"{type(exc).__name__}: {exc}"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"when": when, "error": f"exit {proc.returncode}: {tail}"}
    return {"when": when, **json.loads(lines[-1])}
