"""The worker of the paired experiment (``harness.experiments.paired``): ``single`` and ``per_param``
built alternately in one process (construct: AB, BA, ..., each from a collected heap), compiled, checked
against each other, then their functions timed in alternating pairs too (execute)."""

from __future__ import annotations

import gc
import time

from harness.backends import load
from harness.core.data import init_params, make_batch
from harness.core.model import Model
from harness.core.registry import PAIRED_STRATEGIES
from harness.worker.checks import TOLERANCE, relative_error
from harness.worker.timing import autorange, timed

PAIR = PAIRED_STRATEGIES


def paired_worker(task: dict, clock=time.perf_counter) -> dict:
    """Both strategies in this process: compile, check, then ``pairs`` alternating timings."""
    module = load(task["framework"])
    model = Model.from_dict(task["model"])
    b = module.backend(
        model,
        init_params(model, task["seed"]),
        *make_batch(model, task["seed"]),
        task["mode"],
        threads=task.get("threads"),
        device=task.get("device", "cpu"),
    )
    rows = []
    for strategy in PAIR:  # one untimed build each first (Theano's caches of the model's graph)
        b.construct(strategy)
    for pair in range(task["pairs"]):  # construct: the same alternation, one build a timing
        for position, strategy in enumerate(PAIR if pair % 2 == 0 else PAIR[::-1]):
            gc.collect()
            t0 = clock()
            b.construct(strategy)
            rows.append(
                {
                    "phase": "construct",
                    "pair": pair,
                    "position": position,
                    "strategy": strategy,
                    "seconds": clock() - t0,
                    "loops": 1,
                }
            )
    calls, graphs, outputs = {}, {}, {}
    for strategy in PAIR:
        grads = b.construct(strategy)
        _, compiled, _ = b.compile(strategy, grads, clock)
        calls[strategy] = b.executable(strategy, grads, compiled)
        outputs[strategy] = b.to_numpy(calls[strategy]())
        graphs[strategy] = b.graph(strategy, grads, compiled)
    err = relative_error(outputs["per_param"], outputs["single"])
    if not err <= TOLERANCE["vs_single"][model.floatX]:
        return {
            "status": "failed",
            "error": f"gradient mismatch: per_param vs single relative error {err:.3g}",
            "measurements": [],
        }
    for call in calls.values():  # warm both before either is timed
        timed(call, task["warmup"], 0, clock)
    loops = autorange(calls["single"], task["min_time_s"], clock) if task["min_time_s"] else 1
    for pair in range(task["pairs"]):
        order = PAIR if pair % 2 == 0 else PAIR[::-1]
        for position, strategy in enumerate(order):
            seconds, _ = timed(calls[strategy], 0, 1, clock, loops)
            rows.append(
                {
                    "phase": "execute",
                    "pair": pair,
                    "position": position,
                    "strategy": strategy,
                    "seconds": seconds[0],
                    "loops": loops,
                }
            )
    return {
        "status": "ok",
        "error": None,
        "measurements": rows,
        "fingerprints": {s: graphs[s].get("fingerprint") for s in PAIR},
    }
