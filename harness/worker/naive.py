"""The worker of the order-effect experiment (``harness.experiments.order_effect``): what naive timing
does, each strategy's ``theano.function`` compiled in turn in one process, into an empty compiledir."""

from __future__ import annotations

import time

from harness.core.data import init_params, make_batch
from harness.core.model import Model


def naive_worker(task: dict) -> dict:
    """Compile each strategy in turn in this one process; time each compile."""
    from harness.backends import theano as theano_backend  # THEANO_FLAGS are set by the parent

    model = Model.from_dict(task["model"])
    values = init_params(model, task["seed"])
    b = theano_backend.backend(model, values, *make_batch(model, task["seed"]), task["mode"])
    rows = []
    for position, strategy in enumerate(task["order"]):
        grads = b.construct(strategy)
        before = b.c_stats()
        start = time.perf_counter()
        b.functions(strategy, grads)
        rows.append(
            {
                "strategy": strategy,
                "position": position,
                "seconds": time.perf_counter() - start,
                "c_compiled": b.c_stats()[2] - before[2],
            }
        )
    return {"status": "ok", "error": None, "measurements": rows}
