"""Measure one case with one strategy, in a process of its own, in any framework.

Usage: ``python -m harness.measure.worker TASK.json RESULT.json [PROGRESS]``. The task
and the result are plain JSON, so the orchestrator never imports a framework;
this module imports only NumPy and framework-free helpers until it loads the
task's framework module (``harness.backends.NAME``), so it runs in each
framework's own environment. The framework's settings (THEANO_FLAGS, XLA_FLAGS,
thread caps, cache folders) are already in the environment. The worker appends
the name of each phase it begins to PROGRESS, so the parent can apply per-phase
time limits.
"""
from __future__ import annotations

import gc
import importlib
import json
import os
import resource
import sys
import time
import traceback
from typing import Callable

import numpy as np

from harness.backends import DEFAULT_FRAMEWORK, framework
from harness.measure import affinity
from harness.measure.data import init_params, make_batch
from harness.analysis.flops import largest_layer, operands, products
from harness.measure.modelspec import Model
from harness.measure.timing import AUTO, Clock, CpuStamps, StopRule, autorange, timed, timed_until

LIMIT_REPEATS = 5  # timings of each matrix product of the limit when execute repeats are auto

# Largest max-abs difference, relative to the reference's max-abs value.
TOLERANCE = {
    "vs_numpy": {"float64": 1e-8, "float32": 2e-3},
    "vs_single": {"float64": 1e-10, "float32": 1e-5},
}


def relative_error(got: list, ref: list) -> float:
    """max |got - ref| / max |ref| over all gradients (0 when both are zero)."""
    err = max(float(np.max(np.abs(np.asarray(g, np.float64) - r))) for g, r in zip(got, ref))
    scale = max(float(np.max(np.abs(r))) for r in ref)
    return err / scale if scale > 0 else err


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Recorder:
    """Collects measurement rows; each phase also notes the peak memory after it."""

    def __init__(self):
        self.rows = []

    def add(self, phase: str, seconds: list[float], loops: int = 1, **extra) -> None:
        rss = peak_rss_mb()
        for i, s in enumerate(seconds):
            row = {"phase": phase, "repeat": i, "seconds": s, "loops": loops, "peak_rss_mb": rss}
            row.update({k: v[i] for k, v in extra.items()})
            self.rows.append(row)


def repeated(fn: Callable, warmup: int, repeats, rule: StopRule, clock: Clock, loops: int = 1,
             before: Callable | None = None, cpu: list | None = None):
    """``repeats`` timings of ``fn`` (or, for ``auto``, as many as ``rule`` asks): seconds, last value,
    and why the repeats stopped ('' for a fixed count). ``before``: untimed, before each timing;
    ``cpu`` receives each timing's process CPU seconds per call."""
    if repeats == AUTO:
        return timed_until(fn, warmup, rule, clock, loops, before, cpu=cpu)
    seconds, value = timed(fn, warmup, repeats, clock, loops, before, cpu=cpu)
    return seconds, value, ""


def stop_rule(task: dict) -> StopRule:
    return StopRule(precision=task.get("precision", StopRule.precision),
                    budget_s=task.get("budget_s", StopRule.budget_s))


def run_task(task: dict, clock: Clock = time.perf_counter,
             on_phase: Callable[[str], None] = lambda phase: None) -> dict:
    """Measure one strategy of one case; ``on_phase`` is told when each phase begins."""
    on_phase("setup")
    if task["strategy"] == "numpy_reference":
        result = run_numpy_reference(task, clock, on_phase)
    else:
        result = run_framework(task, clock, on_phase)
    # Evidence of the thread cap: BLAS libraries and thread pools start their threads when loaded;
    # and of the cores: every thread's affinity now, pools started after the pin included.
    info = result.setdefault("info", {})
    info["os_threads"] = os_threads()
    info["cpus"] = affinity.current()
    return result


def os_threads() -> int | None:
    """Threads of this process now (Linux), e.g. 1 + a BLAS pool's helpers."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def load_backend(name: str):
    """The framework's module, imported now (this is the worker's framework import)."""
    return importlib.import_module(f"harness.backends.{name}")


def run_framework(task: dict, clock: Clock, on_phase: Callable[[str], None]) -> dict:
    """construct, compile, first call, check, execute (warm); the compile phases only (cold).

    Which phases exist depends on the framework, its mode and the strategy
    (``harness.backends``); a phase that does not exist is not measured, and
    its work, if any, happens untimed.
    """
    name = task.get("framework", DEFAULT_FRAMEWORK)
    spec = framework(name)
    t0 = clock()
    module = load_backend(name)
    import_seconds = clock() - t0

    model = Model.from_dict(task["model"])
    strategy, seed, cold = task["strategy"], task["seed"], task.get("cache") == "cold"
    mode = task["mode"]
    phases = spec.cold_phases(mode) if cold else spec.phases(mode, strategy)
    warmup, repeats = task["warmup"], task["repeats"]
    min_time = task.get("min_time_s", 0.0)
    prepared = module.warm_worker() if not cold and hasattr(module, "warm_worker") else {}
    values = init_params(model, seed)
    x, y = make_batch(model, seed)
    b = module.backend(model, values, x, y, mode, threads=task.get("threads"), device=task.get("device", "cpu"))
    rec, rule = Recorder(), stop_rule(task)

    on_phase("construct")
    build = lambda: b.construct(strategy)  # noqa: E731
    if "construct" in phases:
        loops = autorange(build, min_time, clock) if min_time else 1
        # Each timing starts from a collected heap: building a graph leaves the last one's garbage, and
        # a full collection (50-80 ms at depth 8 in Theano) fell in every second or third timing, so
        # construct times were two-moded and their median jumped between runs (README, "How precise").
        cpu = []
        seconds, grads, stop = repeated(build, warmup["construct"], repeats["construct"], rule, clock, loops,
                                        before=gc.collect, cpu=cpu)
        rec.add("construct", seconds, loops, stopped=[stop] * len(seconds), cpu_seconds=cpu)
    else:
        grads = build()

    early = None
    if not cold and "compile" in phases and mode not in spec.lazy_modes:
        # The functions to execute are built first (untimed). Building them fills the persistent
        # cache with this worker's own compilation, so the timed compiles below are warm even
        # without a warm-up compile (warmup.compile: 0), whatever other workers did.
        early = b.executable(strategy, grads, None)

    on_phase("compile")
    compiled = None
    if "compile" in phases:
        compiled = measure_compiles(b, strategy, grads, rec, clock, rule,
                                    # A cold cache is one compile into an empty cache, in its own process.
                                    (0, 1) if cold else (warmup["compile"], repeats["compile"]))
    result = {"info": {"pid": os.getpid(), "framework": name, "mode": mode,
                       "import_seconds": import_seconds, **prepared, **b.info()}}
    if cold and "first_call" not in phases:
        result["graph"] = b.graph(strategy, grads, compiled)
        return {**result, "status": "ok", "error": None, "measurements": rec.rows}
    if not cold and mode in spec.lazy_modes:
        # A lazy mode compiles at the first call. Warm means what it does for a compile: the
        # persistent cache holds this worker's own compilation (never another worker's, which
        # would make the number depend on the order of workers). So: one untimed call fills it,
        # in-memory state is dropped, and the first call of freshly built functions is timed.
        b.executable(strategy, grads, compiled)()
        if hasattr(b, "forget_compiled"):
            b.forget_compiled()
    call = early or b.executable(strategy, grads, compiled)

    on_phase("first_call")
    cpu = []
    seconds, got = timed(call, 0, 1, clock, cpu=cpu)
    rec.add("first_call", seconds, cpu_seconds=cpu)
    result["graph"] = b.graph(strategy, grads, compiled)  # after the first call: lazy compiles are done
    if cold:
        return {**result, "status": "ok", "error": None, "measurements": rec.rows}

    on_phase("check")
    got = b.to_numpy(got)
    fault = task.get("fault", {}).get("perturb_gradient")
    if fault:  # fault injection for the tests: a wrong gradient must be caught, never timed
        got = [g * (1 + fault) for g in got]
    from harness.measure import numpy_reference
    check = {"vs_numpy": relative_error(got, numpy_reference.loss_and_grads(model, values, x, y)[1])}
    if strategy != "single":
        single = b.executable("single", b.construct("single"), None)
        check["vs_single"] = relative_error(got, b.to_numpy(single()))
    result["check"] = check
    bad = {k: v for k, v in check.items() if not v <= TOLERANCE[k][model.floatX]}
    if bad:
        # Never time a wrong answer: the measurements so far are dropped.
        detail = ", ".join(f"{k} relative error {v:.3g} > {TOLERANCE[k][model.floatX]:g}" for k, v in bad.items())
        return {**result, "status": "failed", "error": f"gradient mismatch: {detail}", "measurements": []}

    on_phase("execute")
    loops = autorange(call, min_time, clock) if min_time else 1
    cpu = []
    seconds, _, stop = repeated(call, warmup["execute"], repeats["execute"], rule, clock, loops, cpu=cpu)
    rec.add("execute", seconds, loops, stopped=[stop] * len(seconds), cpu_seconds=cpu)
    if "transfer" in phases:  # the host-to-device copy that every call of this mode includes
        on_phase("transfer")
        copy = b.transfer()
        loops = autorange(copy, min_time, clock) if min_time else 1
        cpu = []
        seconds, _, stop = repeated(copy, warmup["execute"], repeats["execute"], rule, clock, loops, cpu=cpu)
        rec.add("transfer", seconds, loops, stopped=[stop] * len(seconds), cpu_seconds=cpu)
    if task.get("limit"):
        on_phase("limit")
        n = LIMIT_REPEATS if repeats["execute"] == AUTO else repeats["execute"]
        result["limits"] = measure_limit(b, model, seed, n, min_time, clock)
    return {**result, "status": "ok", "error": None, "measurements": rec.rows}


def measure_compiles(b, strategy: str, grads, rec: Recorder, clock: Clock, rule: StopRule, counts) -> object:
    """``n_warm`` untimed compiles, then timed ones (a fixed count, or ``auto``); the last compiled.
    The backend times its own compile (``clock()`` at the start and the end of the timed region);
    ``CpuStamps`` notes the process CPU time at those readings."""
    n_warm, n_timed = counts
    compiled = None
    for _ in range(n_warm):
        _, compiled, _ = b.compile(strategy, grads, clock)
    seconds, extras, stop, began = [], {"cpu_seconds": []}, "", clock()
    while True:
        stamps = CpuStamps(clock)
        elapsed, compiled, extra = b.compile(strategy, grads, stamps)
        seconds.append(elapsed)
        extras["cpu_seconds"].append(stamps.last_cpu())
        for key, value in extra.items():
            extras.setdefault(key, []).append(value)
        if n_timed == AUTO:
            stop = rule.reason(seconds, clock() - began)
            if stop:
                break
        elif len(seconds) >= n_timed:
            break
    rec.add("compile", seconds, stopped=[stop] * len(seconds), **extras)
    return compiled


def measure_limit(b, model: Model, seed: int, repeats: int, min_time: float, clock: Clock) -> list[dict]:
    """The framework's own matrix product at each distinct product of the case's gradient pass.

    Same process, thread setting and mode as the gradient just timed, so the
    limit is one the gradient's products could reach (see analysis/throughput).
    One row per product and repeat: seconds per product.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for kind, m, k, n, count in products(model.input, model.hidden, model.output, model.batch):
        shape_a, shape_b, ta, tb = operands(kind, m, k, n)
        call = b.matmul(rng.standard_normal(shape_a).astype(model.floatX),
                        rng.standard_normal(shape_b).astype(model.floatX), ta, tb)
        loops = autorange(call, min_time, clock) if min_time else 1
        seconds, _ = timed(call, 1, repeats, clock, loops)
        rows += [{"product": kind, "m": m, "k": k, "n": n, "count": count, "repeat": i, "seconds": t,
                  "loops": loops} for i, t in enumerate(seconds)]
    return rows


def run_numpy_reference(task: dict, clock: Clock, on_phase: Callable[[str], None]) -> dict:
    """The hand-written NumPy pass in the case's floatX, and NumPy's matmul limit."""
    from harness.measure import numpy_reference

    model = Model.from_dict(task["model"])
    values = init_params(model, task["seed"])
    x, y = make_batch(model, task["seed"])
    warmup, repeats, min_time = task["warmup"], task["repeats"], task.get("min_time_s", 0.0)
    rec, rule = Recorder(), stop_rule(task)

    on_phase("execute")
    call = lambda: numpy_reference.loss_and_grads(model, values, x, y, dtype=model.floatX)
    loops = autorange(call, min_time, clock) if min_time else 1
    cpu = []
    seconds, _, stop = repeated(call, warmup["execute"], repeats["execute"], rule, clock, loops, cpu=cpu)
    rec.add("execute", seconds, loops, stopped=[stop] * len(seconds), cpu_seconds=cpu)

    on_phase("matmul")
    fan_in, fan_out = largest_layer(model.input, model.hidden, model.output)
    rng = np.random.default_rng(task["seed"])
    a = rng.standard_normal((model.batch, fan_in)).astype(model.floatX)
    b = rng.standard_normal((fan_in, fan_out)).astype(model.floatX)
    product = lambda: a @ b
    loops = autorange(product, min_time, clock) if min_time else 1
    cpu = []
    seconds, _, stop = repeated(product, warmup["execute"], repeats["execute"], rule, clock, loops, cpu=cpu)
    rec.add("matmul", seconds, loops, stopped=[stop] * len(seconds), cpu_seconds=cpu)
    return {"status": "ok", "error": None, "measurements": rec.rows,
            "info": {"pid": os.getpid(), "numpy_version": np.__version__,
                     "matmul_shape": [model.batch, fan_in, fan_out]}}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 3):
        print("usage: python -m harness.measure.worker TASK.json RESULT.json [PROGRESS]", file=sys.stderr)
        return 2
    pinned = affinity.apply_from_environment()  # first: before anything imports a framework
    task_path, result_path = argv[:2]
    with open(task_path, encoding="utf-8") as fh:
        task = json.load(fh)

    def on_phase(phase):
        if len(argv) == 3:
            with open(argv[2], "a", encoding="utf-8") as fh:
                fh.write(phase + "\n")

    try:
        result = run_task(task, on_phase=on_phase)
    except Exception as exc:  # a failure is data for the parent, not a crash
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc(), "measurements": []}
    info = result.setdefault("info", {})
    info.update(pinned)
    info.setdefault("cpus", affinity.current())  # a failed worker's cores too
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result, fh, default=str)  # a path or a framework's version object: as text
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
