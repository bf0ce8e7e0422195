"""The compile phase's timings: a strategy's compiles on their own, or in turn with ``single``'s.

A backend times its own compile (``clock()`` at the start and the end of the
region it calls compiling), and returns with it what it knows of the compile
(the optimizer's and linker's seconds, C modules built and loaded). Each timing
starts from a collected heap, as construct's do: a compile leaves its graphs as
garbage, and a full collection falling inside the next one would make two
modes of a value that is timed several times in one process.
"""

from __future__ import annotations

import gc
from typing import Callable

from harness.core.registry import AUTO
from harness.worker.timing import Clock, CpuStamps, Recorder, StopRule, alternated


def measure_compiles(b, strategy: str, grads, rec: Recorder, clock: Clock, rule: StopRule, counts) -> object:
    """``n_warm`` untimed compiles, then timed ones (a fixed count, or ``auto``); the last compiled.
    ``CpuStamps`` notes the process CPU time at the backend's clock readings."""
    n_warm, n_timed = counts
    compiled = None
    for _ in range(n_warm):
        _, compiled, _ = b.compile(strategy, grads, clock)
    seconds, extras, stop, began = [], {"cpu_seconds": []}, "", clock()
    while True:
        elapsed, cpu, (compiled, extra) = _timed_compile(lambda stamps: b.compile(strategy, grads, stamps), clock)
        seconds.append(elapsed)
        extras["cpu_seconds"].append(cpu)
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


def alternated_compiles(b, strategy: str, grads, rec: Recorder, clock: Clock, rule: StopRule, counts) -> object:
    """The strategy's compiles and ``single``'s in turn in this process (ABBA, ``run.alternate: [compile]``),
    each row with single's compile next to it (``single_value``); the last compiled of the strategy.

    Both sides are compiled once untimed first: the strategy's functions were built before the compile
    phase (``measure.compile_phase``), which loaded its C modules, and single's get the same, so each
    timed compile is the optimizer, the linker and look-ups of modules already loaded, as a warm compile
    is in a worker of single's own."""
    n_warm, n_timed = counts
    single_grads = b.construct("single")
    b.compile("single", single_grads, clock)
    extras: dict[str, list] = {}

    def side(name: str, graphs, keep: bool) -> Callable:
        def compile_once(stamps):
            elapsed, compiled, extra = b.compile(name, graphs, stamps)
            if keep:
                for key, value in extra.items():
                    extras.setdefault(key, []).append(value)
            return elapsed, compiled, extra

        return compile_once

    cpu: list = []
    timer = lambda compile_once: _timed_compile(compile_once, clock)  # noqa: E731
    mine, base = side(strategy, grads, True), side("single", single_grads, False)
    seconds, bases, last, stop = alternated(mine, base, n_warm, n_timed, rule, clock, cpu=cpu, timer=timer)
    timed = {key: values[-len(seconds) :] for key, values in extras.items()}  # the warm-ups' are dropped
    rec.add("compile", seconds, stopped=[stop] * len(seconds), cpu_seconds=cpu, single_value=bases, **timed)
    return last[0]


def _timed_compile(compile_once: Callable, clock: Clock) -> tuple[float, float, object]:
    """One compile from a collected heap (``compile_once(clock)``: a backend's compile, which times itself):
    (seconds, process CPU seconds, (compiled, what the backend says of the compile))."""
    gc.collect()
    stamps = CpuStamps(clock)
    elapsed, compiled, extra = compile_once(stamps)
    return elapsed, stamps.last_cpu(), (compiled, extra)
