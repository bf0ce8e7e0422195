"""Worker faults become failed results, never exceptions in the parent."""

import json
import sys
from pathlib import Path

from harness.orchestrate.spawn import run_worker


def script(code):
    return [sys.executable, "-c", code]


def test_result_file_is_read_back():
    code = (
        "import json,sys; t=json.load(open(sys.argv[1])); "
        "json.dump({'status':'ok','measurements':[{'echo':t['x']}]}, open(sys.argv[2],'w'))"
    )
    result = run_worker({"x": 42}, env=None, timeouts={"default": 30}, command=script(code))
    assert result["status"] == "ok" and result["measurements"] == [{"echo": 42}]


def test_crash_by_signal_is_recorded_with_output_tail():
    code = "import os,signal; print('about to crash', flush=True); os.kill(os.getpid(), signal.SIGSEGV)"
    result = run_worker({}, env=None, timeouts={"default": 30}, command=script(code))
    assert result["status"] == "failed"
    assert result["error"] == "worker killed by signal 11"
    assert "about to crash" in result["output_tail"]


def test_nonzero_exit_is_recorded():
    result = run_worker({}, env=None, timeouts={"default": 30}, command=script("import sys; sys.exit(3)"))
    assert result["error"] == "worker exited with code 3"


def test_hanging_worker_is_killed_at_timeout():
    result = run_worker({}, env=None, timeouts={"default": 1}, command=script("import time; time.sleep(60)"))
    assert result["status"] == "failed" and result["error"] == "timed out in phase setup after 1 s"


def test_a_result_that_is_not_a_result_is_recorded():
    """The result crosses the process boundary as typed data (harness.core.task.Result): a field this
    gradcost does not know, or a status it does not have, is a failure with the reason, never a row."""
    for result in ("{'status': 'ok', 'rows': []}", "{'status': 'fine'}"):
        code = f"import json,sys; json.dump({result}, open(sys.argv[2],'w'))"
        got = run_worker({}, env=None, timeouts={"default": 30}, command=script(code))
        assert got["status"] == "failed" and "no readable result" in got["error"], got


def test_missing_result_is_recorded():
    result = run_worker({}, env=None, timeouts={"default": 30}, command=script("pass"))
    assert result["status"] == "failed" and "no readable result" in result["error"]


def test_exception_inside_real_worker_is_data(tmp_path):
    from harness.worker.entry import main

    task, out = tmp_path / "t.json", tmp_path / "r.json"
    task.write_text(json.dumps({"strategy": "single", "model": {"input": 1}}))  # incomplete on purpose
    assert main([str(task), str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["status"] == "failed" and result["error"] == "KeyError: 'hidden'"
    assert "Traceback" in result["traceback"] and not Path(str(out) + ".tmp").exists()
    # Every kind of task goes through the same entry: an unknown one is a failed result too.
    task.write_text(json.dumps({"kind": "nonsense"}))
    assert main([str(task), str(out)]) == 0
    assert json.loads(out.read_text())["error"].startswith("ValueError: unknown task kind 'nonsense'")


def test_time_limit_is_per_phase():
    # Announces phases like the real worker; setup is fast, compile hangs.
    code = (
        "import sys,time; open(sys.argv[3],'a').write('construct\\n'); time.sleep(1.5); "
        "open(sys.argv[3],'a').write('compile\\n'); time.sleep(60)"
    )
    seen = []
    result = run_worker(
        {}, env=None, timeouts={"default": 30, "construct": 5, "compile": 1}, command=script(code), on_phase=seen.append
    )
    assert result["error"] == "timed out in phase compile after 1 s"
    assert seen == ["construct", "compile"]  # what a progress display is told


KILL_SCRIPT = """
import signal, sys
from harness.cli.run import _sigterm_as_interrupt
from harness.orchestrate import spawn
signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
child = [sys.executable, "-c", "import os,sys,time; open({pidfile!r},'w').write(str(os.getpid())); time.sleep(60)"]
try:
    spawn.run_worker({{}}, env=None, timeouts={{"default": 120}}, command=child)
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_sigterm_kills_the_running_worker(tmp_path):
    import os
    import signal
    import subprocess
    import time

    pidfile = tmp_path / "worker.pid"
    parent = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT.format(pidfile=str(pidfile))])
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    worker_pid = int(pidfile.read_text())
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 130
    try:
        os.kill(worker_pid, 0)
    except ProcessLookupError:
        pass  # gone, as it should be
    else:
        raise AssertionError("the worker outlived its parent")
