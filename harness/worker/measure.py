"""Measure one case with one strategy, in a process of its own, in any framework.

The task and the result are plain JSON (``harness.worker.entry`` reads and
writes them), so the orchestrator never imports a framework; this module
imports only NumPy and framework-free helpers until it loads the task's
framework module (``harness.backends.NAME``), so it runs in each framework's
own environment. The framework's settings (THEANO_FLAGS, XLA_FLAGS, thread
caps, cache folders) are already in the environment. Each phase is a step
below: setup, construct, compile, first call, check, execute (and transfer),
then the matrix-product limit.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from harness.backends import Backend
from harness.backends import load as load_backend
from harness.core import affinity
from harness.core.data import init_params, make_batch
from harness.core.model import Model
from harness.core.registry import AUTO, DEFAULT_FRAMEWORK, PRIMAL, Framework, framework
from harness.worker import data_cache, numpy_reference
from harness.worker.checks import check_failure, relative_error
from harness.worker.compiles import alternated_compiles, measure_compiles
from harness.worker.counting import start_counting, value_column
from harness.worker.faults import costlier
from harness.worker.limits import LIMIT_REPEATS, measure_limit
from harness.worker.timing import (
    Clock,
    Recorder,
    StopRule,
    alternated,
    autorange,
    stop_rule,
    time_phase,
    timed,
)

COUNTED_REPEATS = 3  # a counted phase's repeats where the config says auto (counts repeat: docs/counting.md)


def run_task(
    task: dict, clock: Clock = time.perf_counter, on_phase: Callable[[str], None] = lambda phase: None
) -> dict:
    """Measure one strategy of one case; ``on_phase`` is told when each phase begins. A task whose
    metric is ``instructions`` is measured with callgrind's count as its clock, one call per timing."""
    on_phase("setup")
    counted = {}
    if value_column(task) == "instructions":
        clock, counted = start_counting(task, lambda c: timed(lambda: None, 0, 5, c)[0])
        # A count needs no loops, and no stop rule (its budget is seconds): auto repeats are COUNTED_REPEATS.
        repeats = {p: COUNTED_REPEATS if n == AUTO else n for p, n in task["repeats"].items()}
        task = {**task, "min_time_s": 0.0, "limit": False, "repeats": repeats}  # limits are product times
    if task["strategy"] == "numpy_reference":
        result = numpy_reference.run(task, clock, on_phase)
    else:
        result = run_framework(task, clock, on_phase)
    # Evidence of the thread cap: BLAS libraries and thread pools start their threads when loaded;
    # and of the cores: every thread's affinity now, pools started after the pin included.
    info = result.setdefault("info", {})
    info.update(counted)
    info["os_threads"] = os_threads()
    info["cpus"] = affinity.current()
    return result


def os_threads() -> int | None:
    """Threads of this process now (Linux), e.g. 1 + a BLAS pool's helpers."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


@dataclass
class Setup:
    """One warm or cold worker of a framework strategy: its backend on the case's data, and its rows."""

    task: dict
    spec: Framework
    module: Any
    backend: Backend
    model: Model
    values: list
    batch: tuple  # (x, y): the case's data, as the backend got it
    strategy: str
    cold: bool
    phases: tuple
    clock: Clock
    rule: StopRule
    rec: Recorder
    info: dict

    @property
    def lazy(self) -> bool:
        return self.task["mode"] in self.spec.lazy_modes

    def timed(self, phase: str, call: Callable, warmup: int, repeats, before: Callable | None = None):
        """Repeated timings of ``call`` (calibrated loops), recorded as ``phase``; the last value."""
        return time_phase(
            self.rec, phase, call, warmup, repeats, self.rule, self.clock, self.task.get("min_time_s", 0.0), before
        )

    def done(self, result: dict) -> dict:
        return {**result, "status": "ok", "error": None, "measurements": self.rec.rows}


def run_framework(task: dict, clock: Clock, on_phase: Callable[[str], None]) -> dict:
    """construct, compile, first call, check, execute (warm); the compile phases only (cold). The primal
    strategy goes the same way with the loss alone.

    Which phases exist depends on the framework, its mode and the strategy
    (``harness.core.registry``); a phase that does not exist is not measured, and
    its work, if any, happens untimed.
    """
    w = setup(task, clock)
    grads = construct(w, on_phase)
    compiled, early = compile_phase(w, grads, on_phase)
    result = {"info": w.info}
    if w.cold and "first_call" not in w.phases:
        result["graph"] = w.backend.graph(w.strategy, grads, compiled)
        return w.done(result)
    call = early or callable_after_compile(w, grads, compiled)
    on_phase("first_call")
    cpu: list = []
    seconds, got = timed(call, 0, 1, clock, cpu=cpu)
    w.rec.add("first_call", seconds, cpu_seconds=cpu)
    result["graph"] = w.backend.graph(w.strategy, grads, compiled)  # after the first call: lazy compiles are done
    if w.cold:
        return w.done(result)
    on_phase("check")
    result["check"] = check_gradients(w, got)
    error = check_failure(result["check"], w.model.floatX, "loss" if w.strategy == PRIMAL else "gradient")
    if error:  # never time a wrong answer: the measurements so far are dropped
        return {**result, "status": "failed", "error": error, "measurements": []}
    execute(w, call, on_phase)
    if task.get("limit"):
        on_phase("limit")
        n = LIMIT_REPEATS if task["repeats"]["execute"] == AUTO else task["repeats"]["execute"]
        result["limits"] = measure_limit(w.backend, w.model, task["seed"], n, task.get("min_time_s", 0.0), clock)
    return w.done(result)


def setup(task: dict, clock: Clock) -> Setup:
    """Import the framework (timed: workers.csv import_seconds) and build the backend on the case's data."""
    name = task.get("framework", DEFAULT_FRAMEWORK)
    spec = framework(name)
    t0 = time.perf_counter()
    module = load_backend(name)
    import_seconds = time.perf_counter() - t0  # wall clock whatever the metric
    model = Model.from_dict(task["model"])
    strategy, mode, cold = task["strategy"], task["mode"], task.get("cache") == "cold"
    prepared = module.warm_worker() if not cold and hasattr(module, "warm_worker") else {}
    values = data_cache.cached("params", [task["model"], task["seed"]], lambda: init_params(model, task["seed"]))
    x, y = make_batch(model, task["seed"])
    b = module.backend(model, values, x, y, mode, threads=task.get("threads"), device=task.get("device", "cpu"))
    info = {
        "pid": os.getpid(),
        "framework": name,
        "mode": mode,
        "import_seconds": import_seconds,
        **prepared,
        **b.info(),
    }
    return Setup(
        task=task,
        spec=spec,
        module=module,
        backend=b,
        model=model,
        values=values,
        batch=(x, y),
        strategy=strategy,
        cold=cold,
        phases=spec.cold_phases(mode) if cold else spec.phases(mode, strategy),
        clock=clock,
        rule=stop_rule(task),
        rec=Recorder(value_column(task)),
        info=info,
    )


def construct(w: Setup, on_phase: Callable[[str], None]):
    """The strategy's gradient graph; timed where the strategy has a construct phase."""
    on_phase("construct")
    b, strategy = w.backend, w.strategy  # locals: nothing but the construction inside the timed call
    build = lambda: b.construct(strategy)  # noqa: E731
    if "construct" not in w.phases:
        return build()
    extra = (w.task.get("fault") or {}).get("construct_extra")
    if extra:  # fault injection for the tests: a construct made more expensive, for compare to flag
        build = costlier(build, extra, w.clock)
    # Each timing starts from a collected heap: building a graph leaves the last one's garbage, and
    # a full collection (50-80 ms at depth 8 in Theano) fell in every second or third timing, so
    # construct times were two-moded and their median jumped between runs (docs/methodology.md).
    warmup, repeats = w.task["warmup"]["construct"], w.task["repeats"]["construct"]
    if "construct" not in w.task.get("alternate", ()):
        return w.timed("construct", build, warmup, repeats, before=gc.collect)
    # Alternated with single's build in this process (run.alternate): each row carries single's timing
    # next to it (single_value), the ratio's pair (harness.analysis.pairs).
    base = lambda: b.construct("single")  # noqa: E731
    loops = autorange(base, w.task.get("min_time_s", 0.0), w.clock) if w.task.get("min_time_s") else 1
    cpu: list = []
    seconds, bases, grads, stop = alternated(build, base, warmup, repeats, w.rule, w.clock, loops, gc.collect, cpu)
    w.rec.add("construct", seconds, loops, stopped=[stop] * len(seconds), cpu_seconds=cpu, single_value=bases)
    return grads


def compile_phase(w: Setup, grads, on_phase: Callable[[str], None]):
    """(the last compiled functions or None, the executable built before the timed compiles or None)."""
    early = None
    if not w.cold and "compile" in w.phases and not w.lazy:
        # The functions to execute are built first (untimed). Building them fills the persistent
        # cache with this worker's own compilation, so the timed compiles below are warm even
        # without a warm-up compile (warmup.compile: 0), whatever other workers did.
        early = w.backend.executable(w.strategy, grads, None)
    on_phase("compile")
    if "compile" not in w.phases:
        return None, early
    # A cold cache is one compile into an empty cache, in its own process.
    counts = (0, 1) if w.cold else (w.task["warmup"]["compile"], w.task["repeats"]["compile"])
    # Alternated with single's compiles in this process (run.alternate), each row with single's beside it.
    measure = alternated_compiles if "compile" in w.task.get("alternate", ()) and not w.cold else measure_compiles
    return measure(w.backend, w.strategy, grads, w.rec, w.clock, w.rule, counts), early


def callable_after_compile(w: Setup, grads, compiled):
    """The call whose first run is timed. A lazy mode compiles at the first call. Warm means what it
    does for a compile: the persistent cache holds this worker's own compilation (never another
    worker's, which would make the number depend on the order of workers). So: one untimed call
    fills it, in-memory state is dropped, and the first call of freshly built functions is timed."""
    if not w.cold and w.lazy:
        w.backend.executable(w.strategy, grads, compiled)()
        if hasattr(w.backend, "forget_compiled"):
            w.backend.forget_compiled()
    return w.backend.executable(w.strategy, grads, compiled)


def check_gradients(w: Setup, got) -> dict:
    """Relative errors against the hand-written NumPy pass (float64) and, for the other strategies,
    against ``single`` in the same framework and mode. The primal's loss: against NumPy's loss."""
    b, model = w.backend, w.model
    got = b.to_numpy(got)
    fault = (w.task.get("fault") or {}).get("perturb_gradient")
    if fault:  # fault injection for the tests: a wrong gradient (or loss) must be caught, never timed
        got = [g * (1 + fault) for g in got]
    x, y = w.batch
    if w.strategy == PRIMAL:
        return {"vs_numpy": relative_error(got, [np.float64(numpy_reference.loss_only(model, w.values, x, y))])}
    check = {"vs_numpy": relative_error(got, numpy_reference.reference_grads(w.task, model, w.values, x, y))}
    if w.strategy != "single":
        single = b.executable("single", b.construct("single"), None)
        check["vs_single"] = relative_error(got, b.to_numpy(single()))
    return check


def execute(w: Setup, call, on_phase: Callable[[str], None]) -> None:
    """The gradient call, warm; and in modes that copy the parameters at every call, that copy alone."""
    on_phase("execute")
    w.timed("execute", call, w.task["warmup"]["execute"], w.task["repeats"]["execute"])
    if "transfer" in w.phases:  # the host-to-device copy that every call of this mode includes
        on_phase("transfer")
        w.timed("transfer", w.backend.transfer(), w.task["warmup"]["execute"], w.task["repeats"]["execute"])
