"""Issue 9: a real run of a config without a sweep, interrupted, resumed with the command it prints.

SIGTERM goes to the orchestrator alone (as ``kill`` sends it); SIGINT goes to
the whole process group, workers included, as a terminal's Ctrl-C does.
"""

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness import results

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
# No sweep, as configs/question.yaml; 3 warm workers (cold compiles add minutes of gcc, nothing to resume).
CONFIG = {
    "name": "nosweep",
    "model": {"input": 6, "hidden": [5, 4], "output": 3, "batch": 4},
    "run": {
        "cache": "warm",
        "strategies": ["single", "per_param", "numpy_reference"],
        "repeats": {"construct": 2, "compile": 1, "execute": 2},
        "warmup": 0,
        "min_time_s": 0.001,
    },
}
TOTAL = 3
STOP_AFTER = 1


def _rows(run_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(run_dir / name, dtype=results.TEXT_COLUMNS)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT-to-group"])
def test_interrupted_run_without_sweep_resumes_from_the_printed_command(tmp_path, signum):
    config = tmp_path / "nosweep.yaml"
    config.write_text(json.dumps(CONFIG))  # JSON is YAML
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(config), "--out", str(out), "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # Ctrl-C as a terminal delivers it: a process started by a test runner's worker may inherit SIGINT
        # ignored (pytest-xdist's workers ignore it), and an ignored SIGINT stays ignored across exec.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # its own process group, as a terminal's job
    for line in proc.stdout:
        if line.startswith(f"[{STOP_AFTER}/{TOTAL}]"):
            break
    else:
        pytest.fail(f"the run ended before {STOP_AFTER} workers: {proc.communicate()}")
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    (run_dir,) = out.iterdir()
    assert json.loads((run_dir / "env.json").read_text())["status"] == "interrupted"
    before_workers = _rows(run_dir, "workers.csv")
    before = _rows(run_dir, "measurements.csv")
    assert STOP_AFTER <= len(before_workers) < TOTAL  # the worker running at the signal may have landed
    assert (before_workers["status"] == "ok").all(), before_workers[["strategy", "status", "error"]]

    (command,) = [line.split("resume with: ", 1)[1] for line in err.splitlines() if "resume with: " in line]
    resumed = subprocess.run(shlex.split(command) + ["--quiet"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr

    workers = _rows(run_dir, "workers.csv")
    keys = workers[list(results.WORKER_KEY)].apply(tuple, axis=1)
    assert len(workers) == TOTAL and keys.is_unique  # every worker measured exactly once
    assert (workers["status"] == "ok").all()
    assert set(workers["pid"]) >= set(before_workers["pid"])  # the first workers were not measured again
    after = _rows(run_dir, "measurements.csv")
    kept = after.merge(before_workers[list(results.WORKER_KEY)], on=list(results.WORKER_KEY))
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), before.reset_index(drop=True))
    env = json.loads((run_dir / "env.json").read_text())
    assert env["status"] == "complete" and len(env["resumed"]) == 1
    assert "sweep" not in env["configs"][0]
    assert (run_dir / "report.md").exists()
