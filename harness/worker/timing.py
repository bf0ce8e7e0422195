"""Timing loops with an injectable clock, so the logic is testable without sleeping."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from harness.core.order_statistics import median_ci
from harness.core.registry import AUTO, DEFAULT_BUDGET_S, DEFAULT_PRECISION

Clock = Callable[[], float]
MAX_LOOPS = 10**6


def timed(
    fn: Callable[[], Any],
    warmup: int,
    repeats: int,
    clock: Clock = time.perf_counter,
    loops: int = 1,
    before: Callable[[], Any] | None = None,
    cpu: list | None = None,
    cpu_clock: Clock = time.process_time,
) -> tuple[list[float], Any]:
    """Call ``fn`` ``warmup`` times untimed, then time ``repeats`` raw timings.

    Each raw timing covers ``loops`` consecutive calls; the returned values
    are seconds per call (raw / loops), one per repeat, so the spread between
    repeats stays visible. Also returns the value of the last call.
    ``before``, if given, is called untimed before each raw timing (``gc.collect``).
    ``cpu``, if given, receives the process CPU time per call of each raw timing (all threads of
    the process, from ``cpu_clock``): CPU over wall is how many cores the timing used.
    """
    result = None
    for _ in range(warmup):
        result = fn()
    seconds = []
    for _ in range(repeats):
        per_call, cpu_per_call, result, _ = one_timing(fn, loops, clock, cpu_clock, before)
        seconds.append(per_call)
        if cpu is not None:
            cpu.append(cpu_per_call)
    return seconds, result


def one_timing(fn: Callable[[], Any], loops: int, clock: Clock, cpu_clock: Clock, before: Callable | None = None):
    """One raw timing of ``loops`` consecutive calls of ``fn`` (``before`` untimed first): seconds and
    process CPU seconds per call, the last call's value, and the clock's reading at the end."""
    if before is not None:
        before()
    value = None
    cpu_start, start = cpu_clock(), clock()
    for _ in range(loops):
        value = fn()
    end, cpu_end = clock(), cpu_clock()
    return (end - start) / loops, (cpu_end - cpu_start) / loops, value, end


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


@dataclass(frozen=True)
class StopRule:
    """When ``repeats: auto`` stops: the median is precise enough, the time is up, or enough is enough.

    ``precision``: the largest half-width of the 95% CI of the median (order
    statistics over this process's repeats), relative to the median.
    ``budget_s``: the most time the repeats of one value may take in a worker.
    At least ``min_repeats`` are taken, whatever the budget; the CI exists
    from 6 values on.
    """

    precision: float = DEFAULT_PRECISION
    budget_s: float = DEFAULT_BUDGET_S
    min_repeats: int = 3
    max_repeats: int = 100

    def reason(self, seconds: list[float], elapsed: float) -> str:
        """'' to go on; else why to stop: 'precision', 'budget' or 'max_repeats'."""
        n = len(seconds)
        if n >= self.max_repeats:
            return "max_repeats"
        if n >= self.min_repeats:
            low, high = median_ci(seconds)
            if low == low and (high - low) / 2 <= self.precision * float(np.median(seconds)):
                return "precision"
            if elapsed >= self.budget_s:
                return "budget"
        return ""


def timed_until(
    fn: Callable[[], Any],
    warmup: int,
    rule: StopRule,
    clock: Clock = time.perf_counter,
    loops: int = 1,
    before: Callable[[], Any] | None = None,
    cpu: list | None = None,
    cpu_clock: Clock = time.process_time,
) -> tuple[list[float], Any, str]:
    """Like ``timed``, with repeats until ``rule`` says stop; also returns why it stopped.
    The budget counts ``before``'s time too: it is the worker's time."""
    result = None
    for _ in range(warmup):
        result = fn()
    seconds, began = [], clock()
    while True:
        per_call, cpu_per_call, result, end = one_timing(fn, loops, clock, cpu_clock, before)
        seconds.append(per_call)
        if cpu is not None:
            cpu.append(cpu_per_call)
        reason = rule.reason(seconds, end - began)
        if reason:
            return seconds, result, reason


class CpuStamps:
    """A clock for code that times itself (a backend's compile: ``start = clock(); ...; clock() -
    start``): reads ``clock`` and notes the process CPU time at each reading, so the CPU time of
    the region between the last two readings is known too (``last_cpu``)."""

    def __init__(self, clock: Clock = time.perf_counter, cpu_clock: Clock = time.process_time):
        self.clock, self.cpu_clock, self.stamps = clock, cpu_clock, []

    def __call__(self) -> float:
        self.stamps.append(self.cpu_clock())
        return self.clock()

    def last_cpu(self) -> float:
        return self.stamps[-1] - self.stamps[-2] if len(self.stamps) >= 2 else float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Recorder:
    """Collects measurement rows; each phase also notes the peak memory after it. ``unit``: what the
    clock counts, the row's column for it: ``seconds``, or ``instructions`` (harness.worker.counting)."""

    def __init__(self, unit: str = "seconds"):
        self.rows, self.unit = [], unit

    def add(self, phase: str, seconds: list[float], loops: int = 1, **extra) -> None:
        rss = peak_rss_mb()
        for i, s in enumerate(seconds):
            row = {"phase": phase, "repeat": i, self.unit: s, "loops": loops, "peak_rss_mb": rss}
            row.update({k: v[i] for k, v in extra.items()})
            self.rows.append(row)


def repeated(
    fn: Callable,
    warmup: int,
    repeats,
    rule: StopRule,
    clock: Clock,
    loops: int = 1,
    before: Callable | None = None,
    cpu: list | None = None,
):
    """``repeats`` timings of ``fn`` (or, for ``auto``, as many as ``rule`` asks): seconds, last value,
    and why the repeats stopped ('' for a fixed count). ``before``: untimed, before each timing;
    ``cpu`` receives each timing's process CPU seconds per call."""
    if repeats == AUTO:
        return timed_until(fn, warmup, rule, clock, loops, before, cpu=cpu)
    seconds, value = timed(fn, warmup, repeats, clock, loops, before, cpu=cpu)
    return seconds, value, ""


def stop_rule(task: dict) -> StopRule:
    return StopRule(
        precision=task.get("precision", StopRule.precision), budget_s=task.get("budget_s", StopRule.budget_s)
    )


def time_phase(
    rec: Recorder,
    phase: str,
    call: Callable,
    warmup: int,
    repeats,
    rule: StopRule,
    clock: Clock,
    min_time: float = 0.0,
    before: Callable | None = None,
):
    """Repeated timings of ``call`` with calibrated loops, recorded in ``rec`` as ``phase``; the last value."""
    loops = autorange(call, min_time, clock) if min_time else 1
    cpu: list = []
    seconds, value, stop = repeated(call, warmup, repeats, rule, clock, loops, before=before, cpu=cpu)
    rec.add(phase, seconds, loops, stopped=[stop] * len(seconds), cpu_seconds=cpu)
    return value


def alternated(
    fn: Callable[[], Any],
    base: Callable[[], Any],
    warmup: int,
    repeats,
    rule: StopRule,
    clock: Clock = time.perf_counter,
    loops: int = 1,
    before: Callable[[], Any] | None = None,
    cpu: list | None = None,
    cpu_clock: Clock = time.process_time,
    timer: Callable[[Callable], tuple[float, float, Any]] | None = None,
) -> tuple[list[float], list[float], Any, str]:
    """``fn`` and ``base`` timed in turn, in ABBA order (fn, base; base, fn; fn, base; ...): each repeat
    is a pair of timings taken next to each other in one process, so what the host does on the scale
    of a pair moves both, and the order's own effect (the second of two builds, a warmer cache) falls
    on each side equally over two pairs. ``auto`` repeats stop on ``rule`` applied to the pair ratios
    fn/base, on whole ABBA cycles (two pairs at least). Returns fn's seconds, base's seconds (one per
    pair, per call), fn's last value and why the repeats stopped. ``before`` runs untimed before each
    timing (``gc.collect``); ``cpu`` receives fn's process CPU seconds per call. ``timer`` times one
    side for code that times itself (a backend's compile): (seconds, CPU seconds, value) of one call of
    it, warm-ups included; by default ``loops`` calls on ``clock`` (``one_timing``)."""
    if timer is None:
        warm = lambda side: side()  # noqa: E731
        timer = lambda side: one_timing(side, loops, clock, cpu_clock, before)[:3]  # noqa: E731
    else:
        warm = timer
    for _ in range(warmup):  # fn's value is the last timed call's: every run times at least one pair
        warm(fn)
        warm(base)
    # One ABBA cycle (two pairs) is the least a spent budget stops at: a pair of 8 s compiles (per_param_separate
    # at depth 16) took three, 25 s, where two give each side its turn first and second.
    cycles = replace(rule, min_repeats=min(rule.min_repeats, 2))
    result = None
    seconds: list[float] = []
    bases: list[float] = []
    stop, began = "", clock()
    while True:
        for mine in (True, False) if len(seconds) % 2 == 0 else (False, True):
            per_call, cpu_per_call, value = timer(fn if mine else base)
            if mine:
                result = value
                seconds.append(per_call)
                if cpu is not None:
                    cpu.append(cpu_per_call)
            else:
                bases.append(per_call)
        if repeats == AUTO:
            if len(seconds) % 2 == 0:  # whole ABBA cycles: each side first as often as second
                stop = cycles.reason([s / b for s, b in zip(seconds, bases)], clock() - began)
            if stop:
                return seconds, bases, result, stop
        elif len(seconds) >= repeats:
            return seconds, bases, result, stop
