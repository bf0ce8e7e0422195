"""Timing loops with an injectable clock, so the logic is testable without sleeping."""
from __future__ import annotations

import time
from typing import Any, Callable

Clock = Callable[[], float]


def timed(fn: Callable[[], Any], warmup: int, repeats: int,
          clock: Clock = time.perf_counter) -> tuple[list[float], Any]:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times timed.

    Returns the per-call seconds and the value of the last call. Each repeat
    is timed on its own (no loop averaging), so the spread is visible.
    """
    result = None
    for _ in range(warmup):
        result = fn()
    seconds = []
    for _ in range(repeats):
        start = clock()
        result = fn()
        seconds.append(clock() - start)
    return seconds, result
