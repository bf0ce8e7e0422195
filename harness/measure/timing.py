"""Timing loops with an injectable clock, so the logic is testable without sleeping."""
from __future__ import annotations

import time
from typing import Any, Callable

Clock = Callable[[], float]
MAX_LOOPS = 10**6


def timed(fn: Callable[[], Any], warmup: int, repeats: int,
          clock: Clock = time.perf_counter, loops: int = 1) -> tuple[list[float], Any]:
    """Call ``fn`` ``warmup`` times untimed, then time ``repeats`` raw timings.

    Each raw timing covers ``loops`` consecutive calls; the returned values
    are seconds per call (raw / loops), one per repeat, so the spread between
    repeats stays visible. Also returns the value of the last call.
    """
    result = None
    for _ in range(warmup):
        result = fn()
    seconds = []
    for _ in range(repeats):
        start = clock()
        for _ in range(loops):
            result = fn()
        seconds.append((clock() - start) / loops)
    return seconds, result


def autorange(fn: Callable[[], Any], min_time: float, clock: Clock = time.perf_counter) -> int:
    """How many calls make one raw timing last at least ``min_time`` seconds.

    Like timeit's autorange: try 1, 2, 5, 10, 20, 50, ... calls until the
    loop is long enough. The calls made here also serve as warm-up.
    """
    loops = 1
    while loops < MAX_LOOPS:
        for factor in (1, 2, 5):
            n = loops * factor
            start = clock()
            for _ in range(n):
                fn()
            if clock() - start >= min_time:
                return n
        loops *= 10
    return MAX_LOOPS
