"""Run one worker process and turn whatever happens into a result dict.

A worker that raises, crashes, is killed or runs out of time becomes a
failed result with its reason and the tail of its output; it never raises
here, so the run goes on with the next case.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

STDERR_TAIL = 2000


def run_worker(task: dict, env: dict, timeout_s: float,
               command: list[str] | None = None) -> dict:
    """Send ``task`` to a fresh worker process; return its result as data."""
    command = command or [sys.executable, "-m", "harness.worker"]
    with tempfile.TemporaryDirectory(prefix="gradbench-") as tmp:
        task_path, result_path = Path(tmp, "task.json"), Path(tmp, "result.json")
        task_path.write_text(json.dumps(task))
        proc = subprocess.Popen([*command, str(task_path), str(result_path)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        try:
            output, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            return _failed(f"timed out after {timeout_s:g} s", output)
        except BaseException:  # Ctrl-C: never leave a worker running
            proc.kill()
            proc.wait()
            raise
        if proc.returncode != 0:
            how = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
                   else f"exited with code {proc.returncode}")
            return _failed(f"worker {how}", output)
        try:
            result = json.loads(result_path.read_text())
        except (OSError, ValueError) as exc:
            return _failed(f"worker wrote no readable result ({exc})", output)
        result["output_tail"] = _tail(output)
        return result


def _failed(reason: str, output: bytes | None) -> dict:
    return {"status": "failed", "error": reason, "measurements": [], "output_tail": _tail(output)}


def _tail(output: bytes | None) -> str:
    text = (output or b"").decode("utf-8", "replace")
    return text[-STDERR_TAIL:]
