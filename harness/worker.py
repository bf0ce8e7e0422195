"""Measure one case with one strategy, in a process of its own.

Usage: ``python -m harness.worker TASK.json RESULT.json [PROGRESS]``. The task and the
result are plain JSON, free of Theano objects, so the parent never imports
Theano and another framework could answer the same task. THEANO_FLAGS and
PYTHONHASHSEED must already be in the environment (see theano_env). The
worker appends the name of each phase it begins to PROGRESS, so the parent
can apply per-phase time limits.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Callable

import numpy as np

from harness.config import Model
from harness.data import init_params, make_batch
from harness.timing import Clock, timed

# Largest max-abs difference, relative to the reference's max-abs value.
TOLERANCE = {
    "vs_numpy": {"float64": 1e-8, "float32": 2e-3},
    "vs_single": {"float64": 1e-10, "float32": 1e-5},
}


def model_from_dict(d: dict) -> Model:
    return Model(**{**d, "hidden": tuple(d["hidden"])})


def relative_error(got: list, ref: list) -> float:
    """max |got - ref| / max |ref| over all gradients (0 when both are zero)."""
    err = max(float(np.max(np.abs(np.asarray(g, np.float64) - r))) for g, r in zip(got, ref))
    scale = max(float(np.max(np.abs(r))) for r in ref)
    return err / scale if scale > 0 else err


def run_task(task: dict, clock: Clock = time.perf_counter,
             on_phase: Callable[[str], None] = lambda phase: None) -> dict:
    """Construct, compile and execute one strategy's gradients; check them.

    ``on_phase`` is told when each phase begins (the parent's time limits).
    """
    on_phase("setup")
    t0 = clock()
    import theano

    from harness import model as mlp
    from harness import numpy_reference, strategies
    import_seconds = clock() - t0

    model = model_from_dict(task["model"])
    strategy, seed = task["strategy"], task["seed"]
    warmup, repeats = task["warmup"], task["repeats"]
    values = init_params(model, seed)
    x, y = make_batch(model, seed)
    graph = mlp.build(model, values)
    mode = mlp.compile_mode(task["mode"])
    rows = []

    def record(phase, seconds):
        rows.extend({"phase": phase, "repeat": i, "seconds": s} for i, s in enumerate(seconds))

    build = lambda: strategies.construct(strategy, graph.loss, graph.params)
    on_phase("construct")
    if strategies.CONSTRUCT_PHASE[strategy]:
        seconds, grads = timed(build, warmup["construct"], repeats["construct"], clock)
        record("construct", seconds)
    else:
        grads = build()

    on_phase("compile")
    compile_ = lambda: strategies.compile_functions(strategy, graph.inputs, grads, mode)
    seconds, functions = timed(compile_, warmup["compile"], repeats["compile"], clock)
    record("compile", seconds)

    on_phase("check")
    got = strategies.execute(functions, x, y)
    check = {"vs_numpy": relative_error(got, numpy_reference.loss_and_grads(model, values, x, y)[1])}
    if strategy != "single":
        single = strategies.compile_functions(
            "single", graph.inputs, strategies.construct("single", graph.loss, graph.params), mode)
        check["vs_single"] = relative_error(got, strategies.execute(single, x, y))
    bad = {k: v for k, v in check.items() if not v <= TOLERANCE[k][model.floatX]}
    result = {
        "graph": {"nodes_unoptimized": strategies.count_unoptimized(grads),
                  "nodes_optimized": strategies.count_optimized(functions),
                  "n_functions": len(functions)},
        "check": check,
        "info": {"pid": os.getpid(), "theano_version": theano.__version__,
                 "theano_flags": os.environ.get("THEANO_FLAGS", ""),
                 "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
                 "import_seconds": import_seconds},
    }
    if bad:
        # Never time a wrong answer: the measurements so far are dropped.
        detail = ", ".join(f"{k} relative error {v:.3g} > {TOLERANCE[k][model.floatX]:g}" for k, v in bad.items())
        return {**result, "status": "failed", "error": f"gradient mismatch: {detail}", "measurements": []}

    on_phase("execute")
    seconds, _ = timed(lambda: strategies.execute(functions, x, y),
                       warmup["execute"], repeats["execute"], clock)
    record("execute", seconds)
    return {**result, "status": "ok", "error": None, "measurements": rows}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (2, 3):
        print("usage: python -m harness.worker TASK.json RESULT.json [PROGRESS]", file=sys.stderr)
        return 2
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
    tmp = result_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
