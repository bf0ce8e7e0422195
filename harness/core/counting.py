"""Counting instructions under Valgrind's callgrind: what the parent and the worker share (issue 22).

The parent builds ``SOURCE`` (callgrind's client requests, a few lines of C) into a library once per run
and starts a counting worker under ``valgrind --tool=callgrind --collect-atstart=no``, with the library
and callgrind's output file named in two variables; the worker's clock (``harness.worker.counting``)
calls the library around every measured region. Standard library only (both sides).
"""

SOURCE = r"""
#include <valgrind/callgrind.h>
int gb_running(void) { return RUNNING_ON_VALGRIND; }
void gb_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; CALLGRIND_TOGGLE_COLLECT; }
void gb_pause_and_dump(const char *name) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS_AT(name); }
void gb_resume(void) { CALLGRIND_TOGGLE_COLLECT; }
"""
LIBRARY_VARIABLE = "GRADCOST_CALLGRIND_LIB"  # the compiled SOURCE
OUT_VARIABLE = "GRADCOST_CALLGRIND_OUT"  # callgrind's --callgrind-out-file: its dumps are OUT.1, OUT.2, ...
METRICS = ("time", "instructions")  # what a case measures: seconds (wall clock), or instructions counted
UNITS = {"time": "seconds", "instructions": "instructions"}  # the measurements.csv column of each metric
