"""Promises the notes of issues 21-23 found broken (issue 33, items 1-3): a run that measured nothing still
writes a report that says so, a declared failure is not called a skip, and every interrupt leaves the line
that says how to resume, whatever signal state the run inherited."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.config.schema import parse_config
from harness.core.registry import FRAMEWORKS
from harness.orchestrate import runner

REPO = Path(__file__).resolve().parent.parent
CONFIG = {
    "name": "fake",
    "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
    "run": {
        "repeats": {"construct": 2, "compile": 1, "execute": 2},
        "cache": "warm",
        "processes": 2,
        "strategies": ["single", "per_param", "primal"],
    },
    "sweep": {"depth": [1, 2]},
}


def quiet(line):
    pass


def test_a_run_interrupted_before_any_worker_ended_writes_a_report_that_says_so(tmp_path, plots):
    """Item 1: the plots of a run with no timing raised (TypeError: ... 'quantile'), so no report.md."""
    said = []

    def interrupt(task, env, timeouts):
        raise KeyboardInterrupt

    config = parse_config(CONFIG, source="fake.yaml")
    with pytest.raises(runner.RunInterrupted) as exc:
        runner.run([config], tmp_path, progress=said.append, runner=interrupt, compiledir=tmp_path / "cc", probe=False)
    run_dir = exc.value.run_dir
    assert not [line for line in said if "report not written" in line], said
    report = (run_dir / "report.md").read_text()
    assert (
        f"**Interrupted after 0 of 12 workers**: what finished is below; resume with `python -m harness run "
        f"--resume {run_dir}`" in report
    )
    assert "**Nothing was measured: no worker ended.**" in report
    assert json.loads((run_dir / "env.json").read_text())["interrupted"]["of"] == 12


def test_a_run_whose_workers_all_failed_says_nothing_was_measured_and_why(tmp_path, plots):
    def failing(task, env, timeouts):
        return {"status": "failed", "error": "worker killed by signal 9", "measurements": []}

    config = parse_config(CONFIG, source="fake.yaml")
    run_dir = runner.run([config], tmp_path, progress=quiet, runner=failing, compiledir=tmp_path / "cc", probe=False)
    report = (run_dir / "report.md").read_text()
    assert "**Nothing was measured: of 12 worker(s), 12 failed.**" in report
    assert "Interrupted" not in report and not (run_dir / "plots").exists()


def test_every_worker_a_declared_failure_is_not_called_skipped(tmp_path, monkeypatch, capsys):
    """Item 2: 'all 8 worker(s) skipped' was said of workers that failed as declared; the exit code stays 1."""
    declared = FRAMEWORKS["pytensor"].expected_failure("PYTORCH")
    doc = {**CONFIG, "run": {**CONFIG["run"], "strategies": ["single", "per_param"]}, "sweep": {"depth": [1, 2]}}
    doc["run"]["framework"] = "pytensor:PYTORCH"
    path = tmp_path / "xf.yaml"
    path.write_text(json.dumps(doc))

    def run_worker(task, env, timeouts, **kwargs):
        return {"status": "failed", "measurements": [], "error": declared.error}

    from harness.orchestrate import environments, spawn

    monkeypatch.setattr(spawn, "run_worker", run_worker)
    monkeypatch.setattr(environments, "probe", lambda name, distribution=None: {"version": "3.3.7"})
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "error: nothing was measured: of 8 worker(s), 8 failed as declared (expected failure) (exit code 1)" in err
    assert "skipped" not in err.split("error: ")[-1]
    (run_dir,) = (tmp_path / "out").iterdir()
    assert (
        "**Nothing was measured: of 8 worker(s), 8 failed as declared (expected failure).**"
        in (run_dir / "report.md").read_text()
    )


# A run through the command line whose third worker takes `sleep` seconds (fake workers: instant otherwise);
# `finish_signal` makes the report writing receive a second SIGTERM, as a kill sent twice would.
SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    from harness import cli
    from harness.orchestrate import runner, spawn
    sys.path.insert(0, {tests!r})
    from helpers import fake_worker
    calls = []
    def slow_third(task, env, timeouts):
        calls.append(task)
        if len(calls) == 3:
            print("third worker running", flush=True)
            time.sleep({sleep})
        return fake_worker(task, env, timeouts)
    spawn.run_worker = slow_third
    if {finish_signal}:
        finish = runner.finish
        def finish_interrupted_again(run_dir):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)
            finish(run_dir)
        runner.finish = finish_interrupted_again
    sys.exit(cli.main(["run", {config!r}, "--out", {out!r}, "--quiet"]))
""")


def start(tmp_path, inherited_ignored, sleep=60, finish_signal=False):
    config = tmp_path / "fake.yaml"
    config.write_text(json.dumps(CONFIG))
    script = SCRIPT.format(
        tests=str(REPO / "tests"),
        config=str(config),
        out=str(tmp_path / "out"),
        sleep=sleep,
        finish_signal=finish_signal,
    )

    def inherit():  # as a shell leaves them: a background job of a script ignores SIGINT; nohup ignores SIGHUP
        for sig in inherited_ignored:
            signal.signal(sig, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=inherit,
        start_new_session=True,
    )
    for line in proc.stdout:
        if line.startswith("third worker running"):
            return proc
    pytest.fail(f"the run ended before its third worker: {proc.communicate()}")


def resumable(proc, tmp_path, timeout=30, report=True):
    """The interrupted run's exit code, its printed resume command, and its folder's state."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the run went on after the signal: {proc.communicate()}")
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
    (run_dir,) = (tmp_path / "out").iterdir()
    (command,) = [line.split("resume with: ", 1)[1] for line in err.splitlines() if "resume with: " in line]
    assert command.endswith(f"-m harness run --resume {run_dir}")
    assert json.loads((run_dir / "env.json").read_text())["status"] == "interrupted"
    assert len(pd.read_csv(run_dir / "workers.csv")) == 2
    if report:
        assert "**Interrupted after 2 of 12 workers**" in (run_dir / "report.md").read_text()
    return out + err


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum, inherited, to_group",
    [
        (signal.SIGINT, [signal.SIGINT], False),  # kill -INT to a background job that inherited SIGINT ignored
        (signal.SIGTERM, [signal.SIGINT], True),  # a kill sent to the job's whole process group
        (signal.SIGHUP, [signal.SIGINT], False),
    ],
    ids=["SIGINT-inherited-ignored", "SIGTERM-to-group", "SIGHUP"],
)
def test_every_interrupt_leaves_the_resume_line_whatever_the_run_inherited(tmp_path, signum, inherited, to_group):
    proc = start(tmp_path, inherited)
    os.killpg(proc.pid, signum) if to_group else proc.send_signal(signum)
    resumable(proc, tmp_path)


@pytest.mark.slow
def test_a_second_signal_while_the_report_is_written_still_leaves_the_resume_line(tmp_path):
    proc = start(tmp_path, [signal.SIGINT], finish_signal=True)
    proc.send_signal(signal.SIGTERM)
    said = resumable(proc, tmp_path, report=False)
    assert "warning: report not written (interrupted again)" in said


@pytest.mark.slow
def test_a_hangup_the_run_inherited_ignored_stays_ignored_as_nohup_asks(tmp_path):
    proc = start(tmp_path, [signal.SIGINT, signal.SIGHUP], sleep=2)
    proc.send_signal(signal.SIGHUP)
    time.sleep(0.2)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "interrupted" not in err, err


def test_the_readme_framework_table_is_the_run_it_names_and_the_retired_run_is_gone():
    """Item 5: the per-framework table and the primal table quote one run of configs/frameworks.yaml (the
    folder both name); the single-process run beside it (results/frameworks/) is retired, and no page links
    it. A ratio the table quotes is that run's paired one where it paired its workers (issue 34)."""
    readme = (REPO / "README.md").read_text()
    header = "| framework, mode | build: `per_param` | run: `single` | run: `per_param` | run: `per_param_separate` |"
    before, table = readme.split(header, 1)
    named = re.findall(r"run \[`results/([a-z_]+)/`\]", before.strip().rsplit("\n\n", 1)[-1])
    primal = readme.split("### Gradient ÷ primal", 1)[1].split("| framework, mode |", 1)[0]
    assert len(named) == 1 and f"[`results/{named[0]}/`]" in primal, named
    rows = [line for line in table.split("\n\n", 1)[0].splitlines() if line.startswith("| ") and "---" not in line]
    names = {"Theano": "theano", "PyTensor": "pytensor", "JAX": "jax", "PyTorch": "torch"}
    s = pd.read_csv(REPO / "results" / named[0] / "summary.csv")
    s = s[s["cache"] == "warm"].set_index(["framework", "mode", "phase", "strategy"])
    checked = 0
    for row in rows:
        label, build, single, *_ = [cell.strip() for cell in row.strip("|").split("|")]
        who, mode = label.split(" ")
        framework = names[who]
        mode = s.loc[framework].index.get_level_values("mode")[0] if mode in ("jit", "eager") else mode
        value = s.loc[(framework, mode, "execute", "single"), "median"]
        assert single == f"{value * 1000:.0f} ms", (label, single, value)
        if build != "—":
            r = s.loc[(framework, mode, "construct", "per_param")]
            ratio = r["paired_ratio"] if r.get("pairs", 0) >= 2 else r["ratio_vs_single"]
            assert build.startswith(f"{ratio:.2f}×"), (label, build, ratio)
        checked += 1
    assert checked == 7
    assert not (REPO / "results" / "frameworks").exists()
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "results" / "README.md"]
    assert [
        p.name for p in pages if "](../results/frameworks/" in p.read_text() or "(results/frameworks/" in p.read_text()
    ] == []


def test_a_committed_run_says_which_defaults_were_current_when_it_was_measured():
    """Item 4: results/lineage/env.json calls PyTensor 3.0.7 and PyTorch 2.13.0+cpu the defaults (they were, at
    c68a7b9); its report must say so beside today's pins, not seem to contradict the docs."""
    from harness.report.environment import defaults_then_and_now

    env = json.loads((REPO / "results" / "lineage" / "env.json").read_text())
    (line,) = defaults_then_and_now(env)
    assert "`pytensor` 3.0.7, today 3.3.7" in line and "`torch` 2.13.0 (built as 2.13.0+cpu), today 2.15.0" in line
    assert "jax" not in line  # its pin had moved to 0.12.0.1 by then: no contradiction
    assert line in (REPO / "results" / "lineage" / "report.md").read_text()  # the committed report says it
    now = {"releases": {"jax": {"framework": "jax", "version": "0.12.0.1"}}, "frameworks": {"jax": {}}}
    assert defaults_then_and_now(now) == []
