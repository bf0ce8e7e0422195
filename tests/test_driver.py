"""The worker's driver with a fake clock and a recording backend: what is timed, in which order."""

import numpy as np
import pytest
from helpers import tiny_model

from harness.backends.sync import ready
from harness.core.data import init_params, make_batch
from harness.worker import measure as worker
from harness.worker.numpy_reference import loss_and_grads

MODEL = tiny_model()


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class Pending:
    """A result still being computed (as JAX returns it): waiting for it takes 1 s of fake time."""

    def __init__(self, clock, value, log):
        self.clock, self.value, self.log = clock, value, log

    def block_until_ready(self):
        self.clock.t += 1.0
        self.log.append("wait")


class RecordingBackend:
    def __init__(self, clock, log, values, x, y):
        self.clock, self.log = clock, log
        self.grads = loss_and_grads(MODEL, values, x, y)[1]

    def construct(self, strategy):
        self.log.append("construct")
        return ["g"]

    def compile(self, strategy, grads, clock):
        self.log.append("compile")
        self.clock.t += 0.5
        return 0.5, ["f"], {}

    def executable(self, strategy, grads, compiled):
        self.log.append("build")

        def call():
            self.log.append("call")
            self.clock.t += 0.25  # the launch
            return ready([Pending(self.clock, g, self.log) for g in self.grads])

        return call

    def forget_compiled(self):
        self.log.append("forget")

    def to_numpy(self, outputs):
        return [o.value for o in outputs]

    def graph(self, strategy, grads, compiled):
        return {}

    def info(self):
        return {}


def run(monkeypatch, mode, strategy="single", cache="warm", repeats=None, **settings):
    clock, log = Clock(), []
    values = init_params(MODEL, 0)
    x, y = make_batch(MODEL, 0)

    class Module:
        @staticmethod
        def backend(model, values_, x_, y_, mode_, threads=None, device="cpu"):
            return RecordingBackend(clock, log, values, x, y)

    monkeypatch.setattr(worker, "load_backend", lambda name: Module)
    from dataclasses import asdict

    task = {
        "model": asdict(MODEL),
        "framework": "pytensor",
        "mode": mode,
        "strategy": strategy,
        "cache": cache,
        "seed": 0,
        "warmup": {"construct": 0, "compile": 0, "execute": 0},
        "repeats": repeats or {"construct": 1, "compile": 1, "execute": 2},
        "min_time_s": 0,
        **settings,
    }
    result = worker.run_framework(task, clock, lambda phase: log.append(f"[{phase}]"))
    seconds = {}
    for row in result["measurements"]:
        seconds.setdefault(row["phase"], []).append(row["seconds"])
    return result, log, seconds


def test_waiting_for_asynchronous_results_is_inside_the_timed_region(monkeypatch):
    result, _, seconds = run(monkeypatch, "CVM")
    assert result["status"] == "ok", result.get("error")
    n = MODEL.n_params
    # launch 0.25 s + waiting 1 s for each of the n gradients: a region that did not wait would say 0.25 s
    assert seconds["execute"] == [pytest.approx(0.25 + n)] * 2
    assert seconds["first_call"] == [pytest.approx(0.25 + n)]
    assert seconds["compile"] == [0.5]


def test_a_lazy_mode_fills_its_own_cache_before_its_first_call_is_timed(monkeypatch):
    _, log, seconds = run(monkeypatch, "NUMBA")
    after_compile = log[log.index("[compile]") : log.index("[check]")]
    assert [e for e in after_compile if e != "wait"] == [
        "[compile]",
        "compile",
        "build",
        "call",
        "forget",
        "build",
        "[first_call]",
        "call",
    ]
    assert seconds["first_call"] == [pytest.approx(0.25 + MODEL.n_params)]  # the second build's call only


def test_a_mode_that_compiles_in_its_compile_call_builds_what_it_executes_before_timing_compiles(monkeypatch):
    _, log, _ = run(monkeypatch, "CVM")
    # Built first: that fills the persistent cache, so the timed compile is warm without a warm-up.
    after_construct = log[log.index("construct") : log.index("[check]")]
    assert [e for e in after_construct if e != "wait"] == [
        "construct",
        "build",
        "[compile]",
        "compile",
        "[first_call]",
        "call",
    ]


def test_a_cold_lazy_worker_times_the_first_call_that_compiles(monkeypatch):
    result, log, seconds = run(monkeypatch, "NUMBA", cache="cold")
    assert [e for e in log[log.index("[compile]") :] if e != "wait"] == [
        "[compile]",
        "compile",
        "build",
        "[first_call]",
        "call",
    ]  # no warm-up: the empty cache is the point
    assert set(seconds) == {"compile", "first_call"} and "check" not in result


def test_ready_waits_for_what_can_wait_and_passes_the_rest():
    log, clock = [], Clock()
    out = ready([np.zeros(2), Pending(clock, 1, log)])
    assert log == ["wait"] and clock.t == 1.0 and len(out) == 2


def test_auto_repeats_stop_on_precision_or_budget_and_say_which(monkeypatch):
    # Fake time is exact: every execute takes 0.25 + n s, every compile 0.5 s, so the CI of the
    # median has width 0 from 6 values on: auto stops there, on precision.
    result, _, seconds = run(
        monkeypatch, "CVM", repeats={"construct": 1, "compile": "auto", "execute": "auto"}, budget_s=1000.0
    )
    stopped = {r["phase"]: r.get("stopped") for r in result["measurements"]}
    assert len(seconds["execute"]) == 6 and len(seconds["compile"]) == 6
    assert stopped == {"construct": "", "compile": "precision", "first_call": None, "execute": "precision"}
    # A budget of 1 s: the minimum of 3 repeats is taken, then the budget stops it (each execute is 9 s).
    result, _, seconds = run(
        monkeypatch, "CVM", repeats={"construct": 1, "compile": 1, "execute": "auto"}, budget_s=1.0
    )
    assert len(seconds["execute"]) == 3
    assert {r["stopped"] for r in result["measurements"] if r["phase"] == "execute"} == {"budget"}
