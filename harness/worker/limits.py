"""The matrix-product limit (limits.csv): the framework's own product at each product shape of the case's
gradient pass, timed in the worker that just timed the gradient (``harness.analysis.throughput``)."""

from __future__ import annotations

import numpy as np

from harness.core.flops import operands, products
from harness.core.model import Model
from harness.worker.timing import Clock, autorange, timed

LIMIT_REPEATS = 5  # timings of each matrix product of the limit when execute repeats are auto


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
        call = b.matmul(
            rng.standard_normal(shape_a).astype(model.floatX), rng.standard_normal(shape_b).astype(model.floatX), ta, tb
        )
        loops = autorange(call, min_time, clock) if min_time else 1
        seconds, _ = timed(call, 1, repeats, clock, loops)
        rows += [
            {"product": kind, "m": m, "k": k, "n": n, "count": count, "repeat": i, "seconds": t, "loops": loops}
            for i, t in enumerate(seconds)
        ]
    return rows
