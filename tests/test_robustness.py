"""Interrupted runs, resume, SIGTERM, oversized cases and concurrent runs."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import fake_worker, tiny_model

from harness.config.schema import parse_config
from harness.orchestrate import memory, record, runner

REPO = Path(__file__).resolve().parent.parent
CONFIG = {
    "name": "fake",
    "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
    "run": {
        "seed": 3,
        "repeats": {"construct": 2, "compile": 2, "execute": 3},
        "cache": "both",
        "processes": 2,
        "strategies": ["single", "per_param", "per_param_separate"],
    },
    "sweep": {"depth": [1, 2, 3]},
}
ROW_KEY = ["config", "case", "strategy", "cache", "slot", "phase", "repeat", "status"]


def interrupting_worker(after):
    calls = []

    def run(task, env, timeouts):
        if len(calls) == after:
            raise KeyboardInterrupt
        calls.append(task)
        return fake_worker(task, env, timeouts)

    return run


def rows(run_dir):
    m = pd.read_csv(run_dir / "measurements.csv")
    m["repeat"] = m["repeat"].astype("Int64")  # a failed row's empty repeat makes the column float
    return sorted(map(tuple, m[ROW_KEY].astype(str).to_numpy().tolist()))


def quiet(line):
    pass


def full_and_interrupted(tmp_path, after):
    """An uninterrupted run, and one interrupted after ``after`` workers."""
    config = parse_config(CONFIG, source="fake.yaml")
    full = runner.run([config], tmp_path / "a", progress=quiet, runner=fake_worker, compiledir=tmp_path / "cc")
    with pytest.raises(runner.RunInterrupted) as exc:
        runner.run(
            [config], tmp_path / "b", progress=quiet, runner=interrupting_worker(after), compiledir=tmp_path / "cc"
        )
    return full, exc.value


def test_interrupted_run_keeps_rows_and_resume_completes_it(tmp_path):
    full, exc = full_and_interrupted(tmp_path, 4)
    part = exc.run_dir
    assert exc.done == 4 and exc.total == 54  # 3 cases x 3 strategies x (2 warm processes + 2 x 2 cold)
    env = json.loads((part / "env.json").read_text())
    assert env["status"] == "interrupted"
    assert len(pd.read_csv(part / "workers.csv")) == 4
    assert (part / "summary.csv").exists()  # written from what is complete

    calls = []
    runner.resume(part, progress=quiet, runner=lambda t, e, to: calls.append(t) or fake_worker(t, e, to))
    assert len(calls) == 50  # only what was missing
    assert rows(part) == rows(full)
    assert json.loads((part / "env.json").read_text())["status"] == "complete"
    assert len(pd.read_csv(part / "summary.csv")) == len(pd.read_csv(full / "summary.csv"))


@pytest.mark.parametrize("pairing", ["block", "sequential"])
def test_resume_measures_a_pair_cut_in_two_again_whole(tmp_path, pairing):
    """A pair's ratio is worth its pairing only if both workers ran together. A local run records a pair
    once both ran; a run folder can still hold half of one (a cluster's workers report one by one, a crash
    between two appends): resume measures that pair (or block) again, both halves, and keeps the others."""
    doc = {**CONFIG, "run": {**CONFIG["run"], "pairing": pairing, "cache": "warm"}, "sweep": {"depth": [1]}}
    config = parse_config(doc, source="fake.yaml")
    run_dir = runner.run([config], tmp_path, progress=quiet, runner=fake_worker, compiledir=tmp_path / "cc")
    before = pd.read_csv(run_dir / "workers.csv")
    half = before[(before["strategy"] == "per_param") & (before["slot"] == 0)].iloc[0]
    keys = {tuple(k) for k in before[list(record.results.WORKER_KEY)].itertuples(index=False)}
    record.drop_rows_not_in(run_dir, keys - {tuple(half[list(record.results.WORKER_KEY)])})
    calls = []
    runner.resume(run_dir, progress=quiet, runner=lambda t, e, to: calls.append(t) or fake_worker(t, e, to))
    partners = before[before["pair"] == half["pair"]]
    assert len(partners) == {"block": 4, "sequential": 2}[pairing]  # single, the others and the control; or two
    assert len(calls) == len(partners)  # the cut pair, whole: its remaining half ran again too
    after = pd.read_csv(run_dir / "workers.csv")
    assert (
        len(after) == len(before) and after.groupby("pair").size().to_dict() == before.groupby("pair").size().to_dict()
    )
    kept = before[before["pair"] != half["pair"]]["started_at"]
    assert set(kept) <= set(after["started_at"])  # the whole pairs were kept, not measured again
    assert not set(partners["started_at"]) & set(after["started_at"])  # the cut one's remaining half was
    m = pd.read_csv(run_dir / "measurements.csv")
    assert not m.duplicated(["strategy", "slot", "phase", "repeat"]).any()  # no row twice


def test_resume_with_names_that_look_like_numbers(tmp_path):
    doc = {**CONFIG, "name": "2026", "sweep": {"depth": [1, 2, 3], "batch": [4, 8]}}
    config = parse_config(doc, source="2026.yaml")
    with pytest.raises(runner.RunInterrupted) as exc:
        runner.run([config], tmp_path, progress=quiet, runner=interrupting_worker(5), compiledir=tmp_path / "cc")
    calls = []
    runner.resume(exc.value.run_dir, progress=quiet, runner=lambda *a: calls.append(a) or fake_worker(*a))
    assert len(calls) == exc.value.total - 5


def test_resume_drops_rows_of_a_worker_that_never_finished(tmp_path):
    full, exc = full_and_interrupted(tmp_path, 2)
    part = exc.run_dir
    # A crash between the measurements append and the workers append:
    stray = pd.read_csv(part / "measurements.csv").head(3).assign(case="depth=3", strategy="single")
    stray.to_csv(part / "measurements.csv", mode="a", header=False, index=False)
    runner.resume(part, progress=quiet, runner=fake_worker)
    assert rows(part) == rows(full)


SIGTERM_SCRIPT = textwrap.dedent("""
    import sys, time
    from harness import cli
    from harness.orchestrate import spawn
    sys.path.insert(0, {tests!r})
    from helpers import fake_worker
    calls = []
    def slow_after_two(task, env, timeouts):
        calls.append(task)
        if len(calls) > 2:
            time.sleep(60)
        return fake_worker(task, env, timeouts)
    spawn.run_worker = slow_after_two
    sys.exit(cli.main(["run", {config!r}, "--out", {out!r}]))
""")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_signal_saves_rows_and_prints_how_to_resume(tmp_path, signum):
    config_path = tmp_path / "fake.yaml"
    config_path.write_text(json.dumps(CONFIG))  # JSON is YAML
    out = tmp_path / "out"
    script = SIGTERM_SCRIPT.format(tests=str(REPO / "tests"), config=str(config_path), out=str(out))
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("[2/"):
            break
    time.sleep(0.5)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    (run_dir,) = out.iterdir()
    (command,) = [line.split("resume with: ")[1] for line in err.splitlines() if "resume with: " in line]
    python, rest = command.split(" ", 1)
    assert (REPO / python).resolve() == Path(sys.executable).resolve()  # this interpreter, relative to cwd
    assert rest == f"-m harness run --resume {run_dir}"
    assert "Traceback" not in err
    assert len(pd.read_csv(run_dir / "workers.csv")) == 2

    runner.resume(run_dir, progress=quiet, runner=fake_worker)
    full = runner.run(
        [parse_config(CONFIG, source=str(config_path))],
        tmp_path / "full",
        progress=quiet,
        runner=fake_worker,
        compiledir=tmp_path / "cc",
    )
    assert rows(run_dir) == rows(full)


def test_oversized_case_is_skipped_and_recorded(tmp_path):
    doc = {**CONFIG, "run": {**CONFIG["run"], "max_memory_mb": 1}}
    calls = []
    run_dir = runner.run(
        [parse_config(doc, source="fake.yaml")],
        tmp_path,
        progress=quiet,
        runner=lambda *a: calls.append(a) or fake_worker(*a),
        compiledir=tmp_path / "cc",
    )
    assert calls == []
    w = pd.read_csv(run_dir / "workers.csv")
    assert (w["status"] == "skipped").all() and (w["memory_estimate_mb"] > 1).all()
    assert w["error"].str.contains("estimated memory .* MB > limit 1 MB").all()
    m = pd.read_csv(run_dir / "measurements.csv")
    assert (m["status"] == "skipped").all() and m["seconds"].isna().all()
    assert len(json.loads((run_dir / "env.json").read_text())["failures"]) == 54


def test_memory_estimate_worked_example():
    # 10-20-5 float64, biases, batch 4: 325 parameters, 4*35 = 140 activations.
    # params 325*8 + reference 325*8*2 + gradients 325*8*2 + acts 140*8*3 + ref acts 140*8*3
    model = tiny_model(input=10, hidden=(20,), output=5, floatX="float64", batch=4)
    expected = (325 * 8 * 5 + 140 * 8 * 6) / 2**20 + memory.PROCESS_OVERHEAD_MB
    assert memory.estimate_mb(model, "single") == pytest.approx(expected)
    # separate: one set of intermediates per function (4 parameters)
    assert memory.estimate_mb(model, "per_param_separate") == pytest.approx(expected + 140 * 8 * 3 * 3 / 2**20)
    big = tiny_model(input=16384, hidden=(5000, 3000, 512), output=40, floatX="float32", batch=64)
    assert 1500 < memory.estimate_mb(big, "single") < 4000


FAKE_CLI = textwrap.dedent("""
    import sys
    from harness import cli
    from harness.orchestrate import spawn
    sys.path.insert(0, {tests!r})
    from helpers import fake_worker
    from test_robustness import failing_worker
    spawn.run_worker = {worker}
    sys.exit(cli.main(["run", {config!r}, "--out", {out!r}, "--quiet"]))
""")


def failing_worker(task, env, timeouts):
    if task["case"] == "depth=2" and task["strategy"] == "per_param" and task["cache"] == "warm":
        return {
            "status": "failed",
            "error": "worker killed by signal 11",
            "measurements": [],
            "output_tail": "Segmentation fault",
        }
    return fake_worker(task, env, timeouts)


def fake_cli(tmp_path, worker="fake_worker"):
    config_path = tmp_path / "fake.yaml"
    config_path.write_text(json.dumps(CONFIG))  # JSON is YAML
    script = FAKE_CLI.format(
        tests=str(REPO / "tests"), config=str(config_path), out=str(tmp_path / "out"), worker=worker
    )
    return [sys.executable, "-c", script]


@pytest.mark.slow
def test_failed_worker_run_goes_on_exits_nonzero_and_can_be_retried(tmp_path):
    proc = subprocess.run(fake_cli(tmp_path, "failing_worker"), cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1
    # Both warm processes of depth=2's per_param fail, each is named.
    assert "FAILED fake/depth=2/per_param: failed: worker killed by signal 11" in proc.stderr
    assert "FAILED fake/depth=2/per_param (#2): failed: worker killed by signal 11" in proc.stderr
    assert "2 worker(s) did not succeed" in proc.stderr and "Traceback" not in proc.stderr
    (run_dir,) = (tmp_path / "out").iterdir()
    w = pd.read_csv(run_dir / "workers.csv")
    assert len(w) == 54 and (w["status"] == "ok").sum() == 52
    assert w.loc[w["status"] == "failed", "output_tail"].tolist() == ["Segmentation fault"] * 2

    calls = []
    runner.resume(run_dir, progress=quiet, runner=lambda *a: calls.append(a) or fake_worker(*a))
    assert calls == []  # a failure is a result
    runner.resume(run_dir, progress=quiet, runner=lambda *a: calls.append(a) or fake_worker(*a), retry_failed=True)
    assert [(t["case"], t["strategy"]) for t, _, _ in calls] == [("depth=2", "per_param")] * 2
    full = runner.run(
        [parse_config(CONFIG, source="x")],
        tmp_path / "full",
        progress=quiet,
        runner=fake_worker,
        compiledir=tmp_path / "cc",
    )
    assert rows(run_dir) == rows(full)
    assert json.loads((run_dir / "env.json").read_text())["failures"] == []


@pytest.mark.slow
def test_concurrent_runs_use_separate_folders(tmp_path):
    procs = [
        subprocess.Popen(fake_cli(tmp_path), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    dirs = sorted((tmp_path / "out").iterdir())
    assert len(dirs) == 3
    assert all(rows(d) == rows(dirs[0]) for d in dirs)
    assert all(json.loads((d / "env.json").read_text())["status"] == "complete" for d in dirs)


@pytest.mark.slow
def test_concurrent_workers_share_an_empty_compile_cache(tmp_path):
    """Two real workers compiling the same case into one new compiledir at once."""
    from dataclasses import asdict

    from harness.orchestrate import environments, spawn

    task = {
        "model": asdict(tiny_model()),
        "mode": "FAST_RUN",
        "strategy": "single",
        "seed": 0,
        "warmup": {"construct": 0, "compile": 0, "execute": 0},
        "repeats": {"construct": 1, "compile": 1, "execute": 1},
    }
    env = {
        **environments.worker_env("theano", tmp_path / "cc", "float64", None),
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    out = []
    threads = [
        threading.Thread(target=lambda: out.append(spawn.run_worker(task, env, {"default": 300}))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["status"] for r in out] == ["ok", "ok"], [r.get("error") for r in out]
    assert any((tmp_path / "cc").iterdir())


def test_signals_during_a_workers_append_are_delivered_after_it():
    steps = []
    # Ctrl-C as in a terminal (a test runner's worker process may ignore SIGINT: pytest-xdist's do).
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with record.signals_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)  # the signal has arrived: a plain handler would have raised by now
                steps.append("rows written")
        assert steps == ["rows written"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_exit_codes_say_what_happened():
    """0: measured (skips beside measured cases allowed); 1: a failure, or nothing measured."""
    from harness.cli.run import EXIT_CODES, run_exit_code

    w = lambda *status: pd.DataFrame({"status": list(status)})  # noqa: E731
    assert run_exit_code(w("ok", "ok"))[0] == 0
    assert run_exit_code(w("ok", "skipped"))[0] == 0  # a GPU case on a CPU machine beside CPU cases
    assert run_exit_code(w("ok", "failed")) == (1, "1 worker(s) failed")
    assert run_exit_code(w("skipped", "skipped")) == (1, "nothing was measured: of 2 worker(s), 2 skipped")
    # Declared failures are not skips: the message says what happened (the exit code stays 1).
    assert run_exit_code(w(*["expected failure"] * 6, "skipped", "skipped")) == (
        1,
        "nothing was measured: of 8 worker(s), 6 failed as declared (expected failure), 2 skipped",
    )
    assert run_exit_code(w())[0] == 1
    assert set(EXIT_CODES) == {0, 1, 2, 130}
    readme = (REPO / "README.md").read_text()
    assert all(f"| {code} |" in readme for code in EXIT_CODES)  # the README lists them


def test_a_run_that_measured_nothing_exits_1(tmp_path, capsys):
    """Every case too large for memory: skipped before anything is allocated, and the exit code says so."""
    from harness.cli import main

    path = tmp_path / "huge.yaml"
    path.write_text(
        json.dumps(
            {
                "name": "huge",
                "model": {"input": 200000, "hidden": [200000, 200000], "output": 100000, "floatX": "float64"},
            }
        )
    )
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "error: nothing was measured: of 5 worker(s), 5 skipped (exit code 1)" in err
    assert "estimated memory" in err


def test_a_refused_config_exits_2_and_an_interrupt_130(tmp_path, capsys, monkeypatch):
    from harness import cli

    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {input: 3, activaton: relu}\n")
    assert cli.main(["run", str(bad), "--out", str(tmp_path)]) == 2
    assert "did you mean 'activation'" in capsys.readouterr().err and not any(tmp_path.glob("2*"))
    good = tmp_path / "good.yaml"
    good.write_text(json.dumps(CONFIG))

    def interrupted(*args, **kwargs):
        raise runner.RunInterrupted(tmp_path / "run", 3, 9)

    monkeypatch.setattr(runner, "run", interrupted)
    assert cli.main(["run", str(good), "--out", str(tmp_path)]) == 130
    assert "resume with:" in capsys.readouterr().err


def test_a_declared_failure_is_data_and_an_unexpected_pass_is_reported(tmp_path, capsys):
    """PyTensor's PYTORCH mode is declared to fail (core.registry): its failed workers are recorded as
    `expected failure` and the run exits 0; another error in that mode is still a failure; and if the
    mode starts to work, the run says the declaration is stale."""
    from harness import results
    from harness.cli.run import conclude as _conclude
    from harness.core.registry import FRAMEWORKS

    declared = FRAMEWORKS["pytensor"].expected_failure("PYTORCH")
    doc = {
        "name": "xf",
        "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
        "run": {
            "repeats": {"construct": 2, "compile": 2, "execute": 3},
            "cache": "warm",
            "processes": 1,
            "strategies": ["single", "per_param", "numpy_reference"],
        },
        "sweep": {"framework": ["theano", "pytensor:PYTORCH"]},
    }
    config = parse_config(doc, source="xf.yaml")

    def worker(error):
        def run(task, env, timeouts, **kwargs):
            if task["framework"] == "pytensor" and task["strategy"] != "numpy_reference" and error:
                return {"status": "failed", "measurements": [], "error": error}
            return fake_worker(task, env, timeouts)

        return run

    run_dir = runner.run(
        [config], tmp_path / "a", progress=quiet, runner=worker(declared.error), probe=False, compiledir=tmp_path / "cc"
    )
    w = results.read_run(run_dir)["workers"]
    assert sorted(w["status"]) == ["expected failure"] * 2 + ["ok"] * 4
    assert w.loc[w["status"] == "expected failure", "error"].str.contains(declared.reason, regex=False).all()
    assert _conclude(run_dir) == 0
    err = capsys.readouterr().err
    assert "EXPECTED FAILURE xf/framework=pytensor:PYTORCH/single: expected failure: " + declared.error in err
    report = (run_dir / "report.md").read_text()
    assert "2 expected failure:" in report and "every worker failed: as expected: " in report

    other = runner.run(
        [config],
        tmp_path / "b",
        progress=quiet,
        runner=worker("worker killed by signal 11"),
        probe=False,
        compiledir=tmp_path / "cc",
    )
    assert _conclude(other) == 1  # not the declared error: a failure
    assert "FAILED xf/framework=pytensor:PYTORCH/single: failed: worker killed by signal 11" in capsys.readouterr().err

    passing = runner.run(
        [config], tmp_path / "c", progress=quiet, runner=worker(None), probe=False, compiledir=tmp_path / "cc"
    )
    assert _conclude(passing) == 0
    assert "UNEXPECTED PASS pytensor:PYTORCH: expected to fail" in capsys.readouterr().err
    assert "**unexpected pass**: pytensor:PYTORCH" in (passing / "report.md").read_text()
    assert json.loads((passing / "env.json").read_text())["unexpected_passes"][0].startswith("pytensor:PYTORCH")
