"""Faults a test injects into a worker (``task.fault``), so that what must catch them is seen to catch them.

``perturb_gradient`` (a wrong gradient or loss, caught by the checks before anything is timed) is applied
in ``measure.check_gradients``; ``construct_extra`` makes every construct call more expensive by a given
fraction, measured on the worker's own clock (seconds, or instructions where it counts), so that
``compare`` can be shown to flag a regression of known size.
"""

from __future__ import annotations

from typing import Any, Callable

LOOP = 10000  # iterations of the loop whose cost is measured once per worker


def spin(n: int) -> int:
    """Pure Python work, linear in ``n``."""
    total = 0
    for i in range(n):
        total += i
    return total


def costlier(fn: Callable[[], Any], fraction: float, clock: Callable[[], float]) -> Callable[[], Any]:
    """``fn`` followed by a loop that costs ``fraction`` of one call of ``fn`` on ``clock`` (both measured
    here, once: ``fn`` is called one extra time, untimed)."""
    start = clock()
    fn()
    cost = clock() - start
    start = clock()
    spin(LOOP)
    per_iteration = (clock() - start) / LOOP
    n = max(0, int(round(fraction * cost / per_iteration)))
    return lambda: (fn(), spin(n))[0]
