"""Instructions instead of seconds: a clock that reads Valgrind callgrind's count (issue 22).

A worker started under ``valgrind --tool=callgrind --collect-atstart=no`` (``harness.orchestrate.counting``
builds that command) uses ``InstructionClock`` where it would use ``time.perf_counter``: every timing loop
reads a clock at the start and the end of its measured region, and ``end - start`` is then the number of
instructions executed in between, by every thread of the process (callgrind runs them one at a time and
counts them all): Python, the framework's C and generated code, BLAS. A count cannot see what an
instruction cost (cache misses, memory stalls, frequency), nor a child process (gcc in a cold compile).

How a reading works: callgrind's client requests (a tiny C library, ``harness.core.counting.SOURCE``,
built with gcc by the parent) switch collection off, dump the counts since the previous dump into a file
(callgrind zeroes them), and switch collection back on once the file is read; the reading's own work is
not counted. What is counted of a reading is the few Python and ctypes steps on either side of the
switches, and the timing loop's own steps: a constant for a given loop. ``calibrate`` measures it with an
empty call through the same loop the measurements use (the median of five) and takes it off every region
from then on, so that an empty region counts 0 within a few hundred instructions (the allocator's state
moves it; the tests check this in another process, and that a region's count repeats). A backend that
reads the clock inside its own compile has a few hundred instructions of other steps around its region:
not subtracted, far below one compile's millions.

Standard library and gradcost's child side only (the worker runs it on every Python from 3.7).
"""

from __future__ import annotations

import ctypes
import os
import time

from harness.backends import load as load_backend
from harness.core.counting import LIBRARY_VARIABLE, OUT_VARIABLE, UNITS
from harness.core.registry import DEFAULT_FRAMEWORK, NUMPY_REFERENCE


class CountingUnavailable(RuntimeError):
    """The worker was asked to count but does not run under callgrind with the library."""


def dump_total(path: str) -> int:
    """The instruction total of one callgrind dump (its ``summary:`` line, near the top)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("summary:"):
                return int(line.split()[1])
            if line.startswith("fn=") or line.startswith("totals:"):
                break
    raise ValueError(f"no summary line in callgrind dump {path}")


class InstructionClock:
    """Instructions counted since the clock started, read like ``time.perf_counter``.

    After ``calibrate``, ``empty`` is taken off each reading, so the difference of two consecutive
    readings is the instructions of the code between them alone."""

    def __init__(self, environ=None):
        environ = os.environ if environ is None else environ
        library, self.out = environ.get(LIBRARY_VARIABLE), environ.get(OUT_VARIABLE)
        if not library or not self.out:
            raise CountingUnavailable(f"{LIBRARY_VARIABLE} and {OUT_VARIABLE} are not set: not started to count")
        self.lib = ctypes.CDLL(library)
        if not self.lib.gb_running():
            raise CountingUnavailable("not running under valgrind: instructions cannot be counted")
        self.lib.gb_pause_and_dump.argtypes = [ctypes.c_char_p]
        self.dumps, self.total, self.empty, self.readings = 0, 0, 0, 0
        self.lib.gb_start()

    def __call__(self) -> float:
        self.lib.gb_pause_and_dump(b"gradcost")
        self.dumps += 1
        path = f"{self.out}.{self.dumps}"
        self.total += dump_total(path)
        os.remove(path)
        self.readings += 1
        value = self.total - self.empty * self.readings  # each reading's own counted steps come off
        self.lib.gb_resume()
        return float(value)

    def calibrate(self, empty_regions) -> int:
        """``empty_regions(clock)``: the counts of empty regions, measured through the loop that will
        measure; their median is taken off every reading from now on (no region spans this call)."""
        counts = sorted(empty_regions(self))
        self.empty = int(counts[len(counts) // 2])
        self.readings = 0
        return self.empty


def value_column(task: dict) -> str:
    """The column a task's measured values go in: ``seconds``, or ``instructions`` where it counts."""
    return UNITS[task.get("metric", "time")]


def start_counting(task: dict, empty_regions) -> tuple:
    """The counting clock, and what the worker's info records of it. The task's framework is imported
    first, before callgrind instruments anything (``--instr-atstart=no``: four times faster).
    ``empty_regions(clock)``: the counts of empty regions through the loop that will measure
    (``InstructionClock.calibrate``)."""
    start = time.perf_counter()
    if task.get("strategy") != NUMPY_REFERENCE:
        load_backend(task.get("framework", DEFAULT_FRAMEWORK))
    imported = time.perf_counter() - start
    clock = InstructionClock()
    return clock, {
        "import_seconds": imported,
        "counting": {"empty_region_instructions": clock.calibrate(empty_regions)},
    }
