"""One thread is one core: leased cores, pinned workers, CPU time beside wall time, the flag."""

import json
import os
import sys
import textwrap
from dataclasses import asdict

import pandas as pd
import pytest
from helpers import tiny_model

from harness.analysis import summary
from harness.core import affinity
from harness.orchestrate import environments, spawn
from harness.worker import timing

LINUX = hasattr(os, "sched_setaffinity")
needs_linux = pytest.mark.skipif(not LINUX, reason="CPU affinity is Linux's sched_setaffinity")


def test_cpu_lists_round_trip():
    assert affinity.format_cpus([3, 0, 1, 2, 7, 5]) == "0-3,5,7"
    assert affinity.parse_cpus("0-3,5,7") == [0, 1, 2, 3, 5, 7]
    assert affinity.format_cpus([1]) == "1" and affinity.parse_cpus("1") == [1]


@needs_linux
def test_leases_at_the_same_time_never_share_a_core_and_wait_for_a_free_one(tmp_path):
    environ = {affinity.LOCKS_VARIABLE: str(tmp_path)}
    cores = [0, 1, 2, 3]
    with affinity.CoreLease(2, environ, cores) as a, affinity.CoreLease(1, environ, cores) as b:
        assert a.cpus == [2, 3] and b.cpus == [1]  # highest-numbered first
        assert a.environment() == {affinity.CPUS_VARIABLE: "2-3"}
        # Three cores asked, one free: it waits until a lease ends (a fake sleep ends a's).
        slept = []

        def sleep(seconds):
            slept.append(seconds)
            a.__exit__(None, None, None)

        with affinity.CoreLease(3, environ, cores, sleep=sleep) as c:
            assert slept and sorted(c.cpus) == [0, 2, 3] and not set(c.cpus) & set(b.cpus)
    # More threads than cores: every core, and it says so.
    with affinity.CoreLease(8, environ, [0, 1]) as d:
        assert d.cpus == [0, 1] and d.short


def test_no_pinning_when_switched_off_or_impossible(tmp_path):
    off = {affinity.SWITCH_VARIABLE: "off", affinity.LOCKS_VARIABLE: str(tmp_path)}
    with affinity.CoreLease(1, off) as lease:
        assert lease.cpus is None and lease.environment() == {}
    assert affinity.capability(off)["pinning"] is False and "off" in affinity.capability(off)["reason"]
    if LINUX:
        assert affinity.capability({})["pinning"] is True


def test_cpu_time_per_call_with_fake_clocks():
    """Each raw timing reads both clocks: wall per call and CPU per call, loops divided out."""
    wall, cpu = iter(range(0, 1000, 10)), iter(range(0, 1000, 25))
    cpus = []
    seconds, _ = timing.timed(
        lambda: None, warmup=0, repeats=2, clock=lambda: next(wall), loops=5, cpu=cpus, cpu_clock=lambda: next(cpu)
    )
    assert seconds == [2.0, 2.0] and cpus == [5.0, 5.0]  # 10 s wall and 25 s CPU per 5 calls
    stamps = timing.CpuStamps(clock=iter([1.0, 3.0]).__next__, cpu_clock=iter([10.0, 14.0]).__next__)
    start = stamps()
    assert stamps() - start == 2.0 and stamps.last_cpu() == 4.0  # a backend timing its own compile


def test_summary_flags_a_value_that_used_more_cores_than_its_threads():
    """CPU over wall above threads + 10% is flagged `unstable`; at or under it, not."""
    from harness.core.case import PARAM_COLUMNS

    def rows(cores, threads):
        return [
            {
                **dict.fromkeys(PARAM_COLUMNS, "x"),
                "config": "c",
                "case": "k",
                "threads": threads,
                "cache": "warm",
                "phase": "execute",
                "strategy": "single",
                "slot": slot,
                "seconds": 0.1,
                "cpu_seconds": 0.1 * cores,
                "loops": 10,
                "status": "ok",
            }
            for slot in (0, 1)
            for _ in range(3)
        ]

    for cores, threads, flagged in (
        (1.93, 1, True),
        (1.08, 1, False),
        (1.0, 1, False),
        (2.0, 2, False),
        (2.3, 2, True),
    ):
        s = summary.summarize(pd.DataFrame(rows(cores, threads))).iloc[0]
        assert s["cores_used"] == pytest.approx(cores)
        assert s["cpu_median"] == pytest.approx(0.1 * cores)
        assert ("cores used" in s["unstable"]) == flagged, (cores, threads, s["unstable"])
    old = pd.DataFrame(rows(1.0, 1)).drop(columns="cpu_seconds")  # schema < 8: no CPU time
    s = summary.summarize(old).iloc[0]
    assert s["cores_used"] != s["cores_used"] and s["unstable"] == ""


BUSY_WORKER = textwrap.dedent("""
    import sys, threading, time, zlib
    from harness.core import affinity
    from harness.worker import entry, timing

    def busy():  # zlib releases the GIL: two such threads keep two cores busy
        data = bytes(range(256)) * 4000
        end = time.monotonic() + 0.4
        while time.monotonic() < end:
            zlib.compress(data, 6)

    def two_threads():
        threads = [threading.Thread(target=busy) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def measure(task):
        cpu = []
        seconds, _ = timing.timed(two_threads, warmup=0, repeats=2, cpu=cpu)
        return {"status": "ok", "measurements": [],
                "info": {"cpus": affinity.current(), "cores_used": [c / s for c, s in zip(cpu, seconds)]}}

    entry.measurement = lambda kind: lambda task, on_phase: measure(task)  # the real entry, this measurement
    sys.exit(entry.main())
""")


@pytest.mark.slow
@needs_linux
@pytest.mark.serial  # its control needs a second core nothing else uses
def test_a_one_thread_worker_that_starts_two_busy_threads_uses_one_core(tmp_path, monkeypatch):
    script = tmp_path / "busy.py"
    script.write_text(BUSY_WORKER)
    env = {**os.environ, "PYTHONPATH": str(environments.REPO)}
    monkeypatch.setenv(affinity.LOCKS_VARIABLE, str(tmp_path / "locks"))
    pinned = spawn.run_worker({"threads": 1}, env, {"default": 60}, command=[sys.executable, str(script)])
    assert pinned["status"] == "ok", pinned
    assert len(affinity.parse_cpus(pinned["info"]["cpus"])) == 1
    assert max(pinned["info"]["cores_used"]) <= 1.05
    if len(affinity.allowed() or []) >= 2:  # the control: unpinned, the same code uses both cores
        monkeypatch.setenv(affinity.SWITCH_VARIABLE, "off")
        free = spawn.run_worker({"threads": 1}, env, {"default": 60}, command=[sys.executable, str(script)])
        assert max(free["info"]["cores_used"]) > 1.3, free


@pytest.mark.slow
@pytest.mark.frameworks
def test_a_real_jax_worker_with_one_thread_uses_one_core(tmp_path):
    try:
        environments.probe("jax")
    except environments.EnvironmentProblem as exc:
        pytest.fail(f"the JAX environment is missing (make env-jax builds it): {exc}")
    task = {
        "config": "t",
        "case": "k",
        "model": asdict(tiny_model(floatX="float32", batch=64, hidden=(256, 256), input=256, output=10)),
        "framework": "jax",
        "mode": "jit",
        "threads": 1,
        "strategy": "per_param_separate",
        "cache": "warm",
        "seed": 0,
        "warmup": {"construct": 1, "compile": 0, "execute": 1},
        "repeats": {"construct": 3, "compile": 1, "execute": 5},
        "min_time_s": 0.02,
        "device": "cpu",
    }
    env = environments.worker_env("jax", tmp_path / "cache", "float32", 1)
    result = spawn.run_worker(task, env, {"default": 300}, command=environments.worker_command("jax"))
    assert result["status"] == "ok", result.get("output_tail")
    assert len(affinity.parse_cpus(result["info"]["cpus"])) == 1
    rows = pd.DataFrame(result["measurements"])
    used = rows["cpu_seconds"] / rows["seconds"]
    assert (used <= 1.1).all(), rows.assign(cores=used)[["phase", "seconds", "cpu_seconds", "cores"]]
    assert set(rows["phase"]) >= {"compile", "first_call", "execute"}
    assert json.loads(json.dumps(result["info"]))["cpus_leased"] == result["info"]["cpus"]


def test_the_report_says_whether_workers_were_pinned_and_lists_values_on_too_many_cores():
    from harness.report.environment import cores_lines

    summary = pd.DataFrame(
        {
            "config": ["c", "c"],
            "case": ["k", "k"],
            "strategy": ["single", "per_param"],
            "phase": ["execute", "execute"],
            "cores_used": [0.98, 1.93],
            "unstable": ["", "cores used 1.93 > 1 thread(s)"],
        }
    )
    pinned = cores_lines({"affinity": {"pinning": True, "cpus_allowed": "0-1"}}, summary)
    assert "every worker was pinned" in pinned[0] and "0.98 to 1.93" in pinned[1]
    assert "1 value(s) used more cores than their `threads`" in pinned[2] and "`per_param` execute 1.93" in pinned[2]
    unpinned = cores_lines({"affinity": {"pinning": False, "reason": "GRADCOST_AFFINITY=off"}}, summary.iloc[:1])
    assert "**not** pinned (GRADCOST_AFFINITY=off)" in unpinned[0] and len(unpinned) == 2
    assert "predates pinning" in cores_lines({}, summary.iloc[:0])[0]
