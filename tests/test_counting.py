"""Instructions counted under callgrind (issue 22): the clock, the command, compare on counts, a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from helpers import fake_worker

from harness.analysis.count_compare import FEWER, MORE, compare_counts
from harness.config.cases import expand
from harness.config.schema import ConfigError, parse_config
from harness.core.counting import LIBRARY_VARIABLE, OUT_VARIABLE
from harness.orchestrate import counting, environments, runner, spawn, theano_env
from harness.orchestrate.plan import plan
from harness.report import compare
from harness.worker.counting import CountingUnavailable, InstructionClock, dump_total

MODEL = {"input": 5, "depth": 1, "width": 4, "output": 3, "batch": 4}
RUN = {"strategies": ["single"], "repeats": {"construct": 3, "compile": 1, "execute": 3}, "cache": "both"}
needs_valgrind = pytest.mark.skipif(counting.problem() is not None, reason=str(counting.problem()))


def counted_config(name="c", **run):
    return parse_config({"name": name, "model": MODEL, "run": {**RUN, "metric": "instructions", **run}}, f"{name}.yaml")


def test_a_dump_total_is_its_summary_line(tmp_path):
    dump = tmp_path / "callgrind.out.3"
    dump.write_text("# callgrind format\nversion: 1\nevents: Ir\nsummary: 4242\n\nfn=(1) main\n3 4242\ntotals: 4242\n")
    assert dump_total(str(dump)) == 4242
    dump.write_text("events: Ir\nfn=(1) main\n")
    with pytest.raises(ValueError, match="no summary line"):
        dump_total(str(dump))


def test_a_worker_that_is_not_under_callgrind_refuses_to_count(tmp_path):
    with pytest.raises(CountingUnavailable, match="not set"):
        InstructionClock(environ={})
    if counting.problem() is None:  # the library loads, and says it is not running under valgrind
        library, why = counting.prepare(tmp_path)
        assert why is None
        with pytest.raises(CountingUnavailable, match="not running under valgrind"):
            InstructionClock(environ={LIBRARY_VARIABLE: str(library), OUT_VARIABLE: str(tmp_path / "out")})


def test_metric_is_a_checked_sweepable_case_parameter_and_counted_cases_compile_warm_only():
    config = parse_config(
        {"name": "m", "model": MODEL, "run": RUN, "sweep": {"metric": ["time", "instructions"]}}, "m.yaml"
    )
    cases = expand(config)
    assert [c.metric for c in cases] == ["time", "instructions"]
    assert all(c.columns()["metric"] == c.metric for c in cases)
    caches = {item.case.metric: {job.cache for job in item.jobs} for item in plan([config])}
    assert caches == {"time": {"warm", "cold"}, "instructions": {"warm"}}  # gcc, a child, is not counted
    with pytest.raises(ConfigError, match="run.metric"):
        parse_config({"name": "m", "model": MODEL, "run": {**RUN, "metric": "cycles"}}, "m.yaml")


def test_the_counted_command_and_environment_keep_every_library_at_avx2(tmp_path):
    base = environments.worker_env("jax", tmp_path, "float32", 1)
    env = counting.environment(base, "jax", tmp_path / "lib.so", tmp_path / "out")
    assert env[LIBRARY_VARIABLE] == str(tmp_path / "lib.so") and env[OUT_VARIABLE] == str(tmp_path / "out")
    assert env["OPENBLAS_CORETYPE"] == "Haswell" and env["XLA_FLAGS"].endswith("--xla_cpu_max_isa=AVX2")
    theano = counting.environment(
        environments.worker_env("theano", tmp_path, "float32", 1), "theano", tmp_path / "l", tmp_path / "o"
    )
    assert theano["THEANO_FLAGS"].endswith(f"gcc__cxxflags={counting.AVX2_CXXFLAGS}")
    command = counting.command(["python", "-m", "harness.worker"], tmp_path / "out")
    assert command[0] == "valgrind" and "--collect-atstart=no" in command and "--instr-atstart=no" in command
    assert command[-3:] == ["python", "-m", "harness.worker"]


def test_counted_cases_are_skipped_with_the_reason_where_valgrind_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(counting, "VALGRIND", "valgrind-that-is-not-installed")
    monkeypatch.setattr(counting, "_BUILT", {})
    calls = []
    worker = lambda task, env, timeouts, **kw: calls.append(task) or fake_worker(task, env, timeouts)  # noqa: E731
    config = parse_config(
        {"name": "s", "model": MODEL, "run": RUN, "sweep": {"metric": ["time", "instructions"]}}, "s.yaml"
    )
    run_dir = runner.run([config], tmp_path, progress=lambda line: None, runner=worker, compiledir=tmp_path / "cc")
    w = pd.read_csv(run_dir / "workers.csv")
    counted = w[w["metric"] == "instructions"]
    assert len(counted) == 1 and set(counted["status"]) == {"skipped"}
    assert "valgrind is not installed" in counted["error"].iloc[0]
    assert {task["metric"] for task in calls} == {"time"} and set(w[w["metric"] == "time"]["status"]) == {"ok"}


def test_a_mode_that_cannot_be_counted_is_skipped_with_its_reason_before_any_worker_starts(tmp_path):
    calls = []
    worker = lambda task, env, timeouts, **kw: calls.append(task) or fake_worker(task, env, timeouts)  # noqa: E731
    config = counted_config("t", framework="torch:compile")
    probe = lambda name: {"python": "3.11", "executable": "/x/python", "devices": ["cpu"], "gpus": []}  # noqa: E731
    run_dir = runner.run(
        [config], tmp_path, progress=lambda line: None, runner=worker, compiledir=tmp_path / "cc", probe=probe
    )
    w = pd.read_csv(run_dir / "workers.csv")
    assert calls == [] and set(w["status"]) == {"skipped"} and "SIGILL" in w["error"].iloc[0]


@pytest.mark.parametrize(
    "base, new, change",
    [
        ([100.0] * 6, [100.0] * 6, ""),  # counts that repeat: nothing
        ([100.0] * 6, [103.0] * 6, MORE),  # 3% more, everywhere
        ([100.0] * 6, [97.0] * 6, FEWER),
        ([100.0] * 6, [100.5] * 6, ""),  # below the 1% threshold
        ([95.0, 95, 95, 105, 105, 105], [103.0] * 6, ""),  # beyond 1%, inside the counts' own 10% spread
    ],
)
def test_compare_counts_needs_the_threshold_and_the_spread(base, new, change):
    slots = [0, 0, 0, 1, 1, 1]
    row = compare_counts(base, new, 0.01, slots, slots)
    assert row["change"] == change
    assert row["ratio"] == pytest.approx(np.median(new) / np.median(base))
    assert row["p_value"] != row["p_value"]  # no test: counts are compared as they are


@needs_valgrind
@pytest.mark.frameworks
def test_a_region_counts_its_own_instructions_the_same_in_two_processes(tmp_path):
    library, why = counting.prepare(tmp_path / "lib")
    assert why is None
    script = tmp_path / "regions.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            from harness.worker.counting import start_counting
            from harness.worker.faults import spin
            from harness.worker.timing import timed
            clock, info = start_counting({"strategy": "numpy_reference"}, lambda c: timed(lambda: None, 0, 5, c)[0])
            counts = {
                "empty": timed(lambda: None, 0, 5, clock)[0],
                "loop": timed(lambda: spin(20000), 1, 3, clock)[0],
                "twice": timed(lambda: spin(40000), 1, 3, clock)[0],
            }
            print("COUNTS " + json.dumps(counts))
            """
        )
    )
    runs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        env = {**os.environ, "PYTHONPATH": str(environments.REPO), LIBRARY_VARIABLE: str(library)}
        env[OUT_VARIABLE] = str(out)
        done = subprocess.run(
            counting.command([sys.executable, str(script)], out), env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        line = next(x for x in done.stdout.splitlines() if x.startswith("COUNTS "))
        runs.append(json.loads(line[len("COUNTS ") :]))
    for counts in runs:
        assert all(abs(c) < 1000 for c in counts["empty"])  # the reading's own steps are taken off
        loop = np.median(counts["loop"])
        assert 20000 * 5 < loop < 20000 * 1000  # 20000 iterations of a Python loop (here ~400 instructions each)
        assert max(counts["loop"]) / min(counts["loop"]) - 1 < 1e-3  # repeats within a process
        assert np.median(counts["twice"]) / loop == pytest.approx(2, rel=0.01)  # twice the work, twice the count
    assert np.median(runs[1]["loop"]) / np.median(runs[0]["loop"]) == pytest.approx(1, abs=1e-3)  # two processes


def _counted_run(tmp_path, name, fault=None):
    def worker(task, env, timeouts, **kw):
        return spawn.run_worker({**task, "fault": fault} if fault else task, env, timeouts, **kw)

    return runner.run(
        [counted_config(repeats={"construct": "auto", "compile": 1, "execute": "auto"})],
        tmp_path / name,
        progress=lambda line: None,
        runner=worker,
        compiledir=theano_env.default_compiledir(),
    )


@needs_valgrind
@pytest.mark.frameworks
def test_compare_on_counts_flags_nothing_between_two_runs_and_a_construct_made_3_percent_costlier(tmp_path):
    # The first counted run into an empty counted compile cache (a new machine) calls functions it compiled itself,
    # and counts its first call and execute 1.5-2.4% lower than runs that load them (seen 2026-12-02,
    # docs/counting.md): runs are compared with the cache as every later run finds it. make test's compile caches
    # outlive a clone (TEST_CACHE): a run of this test that filled them leaves a mark, and the next one loads them.
    filled = environments.cache_dir("theano", theano_env.default_compiledir()).with_name("theano-counted")
    # (the same modules: this model, with these flags, BLAS among them)
    mark, model = filled / ".test_counting-filled", json.dumps([MODEL, os.environ.get("THEANO_FLAGS")], sort_keys=True)
    fresh = mark.exists() and mark.read_text() == model and time.time() - mark.stat().st_mtime < 7 * 86400
    if not fresh:  # (Theano drops modules unused for weeks)
        _counted_run(tmp_path, "fills_the_cache")
        mark.write_text(model)
    a, again, costlier = (
        _counted_run(tmp_path, "a"),
        _counted_run(tmp_path, "again"),
        _counted_run(tmp_path, "costlier", fault={"construct_extra": 0.03}),
    )
    m = pd.read_csv(a / "measurements.csv")
    assert set(m["status"]) == {"ok"} and set(m["metric"]) == {"instructions"}
    assert set(m["phase"]) == {"construct", "compile", "first_call", "execute"} and m["seconds"].isna().all()
    assert (m["instructions"] > 0).all()
    per_phase = m.groupby("phase").size().to_dict()  # auto repeats are 3 counted calls, no stop rule
    assert per_phase == {"construct": 3, "compile": 1, "first_call": 1, "execute": 3} and m["stopped"].isna().all()
    summary = pd.read_csv(a / "summary.csv")
    assert set(summary["unit"]) == {"instructions"}
    assert "instr" in (a / "report.md").read_text()

    table, _ = compare.compare_runs(a, again)
    assert set(table["unit"]) == {"instructions"} and set(table["change"]) == {""}, table
    n = len(table)
    assert f"{n} unchanged" in compare.format_comparison(table, [], 1.10)
    assert f"{n} of {n} counted values within 1.0%" in compare.format_comparison(table, [], 1.10)
    table, _ = compare.compare_runs(a, costlier)
    construct = table[table["phase"] == "construct"].iloc[0]
    assert construct["change"] == MORE and construct["ratio"] == pytest.approx(1.03, abs=0.01)
    # Nothing else moves beyond what Python's collector can move: compile and execute are unchanged; the first
    # call (140,000 instructions on this net) can gain or lose, most likely, one young-generation collection
    # (1,681 instructions, 1.2% fewer: seen 2026-12-03 in a fresh clone's make test) when the construct before
    # it allocated more.
    others = table[~table["phase"].isin(["construct", "first_call"])]
    assert set(others["change"]) == {""}, others[["phase", "strategy", "ratio", "spread", "change"]]
    (first_call,) = table.loc[table["phase"] == "first_call", "ratio"]
    assert abs(first_call - 1) < 0.02


def test_the_report_puts_counted_ratios_beside_timed_ones():
    from harness.report.counts_section import counted_beside_timed

    rows = []
    for metric, single, per_param in (("time", 0.010, 0.030), ("instructions", 4.0e7, 1.4e8)):
        for strategy, median in (("single", single), ("per_param", per_param)):
            rows.append(
                {
                    "config": "c",
                    "case": f"depth=4,metric={metric}",
                    "metric": metric,
                    "cache": "warm",
                    "phase": "construct",
                    "strategy": strategy,
                    "median": median,
                    "ratio_vs_single": median / single,
                    "ratio_ci_low": 2.5 if metric == "time" and strategy != "single" else float("nan"),
                    "ratio_ci_high": 3.5 if metric == "time" and strategy != "single" else float("nan"),
                }
            )
    lines = counted_beside_timed("c", pd.DataFrame(rows))
    row = next(line for line in lines if line.startswith("| depth=4 |"))
    assert "10.00 ms" in row and "40 Minstr" in row and "3.00× (2.50–3.50)" in row and "3.50×" in row
    only_timed = pd.DataFrame([r for r in rows if r["metric"] == "time"])
    assert counted_beside_timed("c", only_timed) == []


def test_a_counted_case_is_planned_as_slower_than_its_timed_twin():
    from harness.scale import shards

    config = parse_config(
        {"name": "p", "model": MODEL, "run": {**RUN, "cache": "warm"}, "sweep": {"metric": ["time", "instructions"]}},
        "p.yaml",
    )
    timed, counted = (shards.estimate_s(item) for item in plan([config]))
    assert counted == pytest.approx(timed * shards.COUNTED_SLOWDOWN)
