"""A fixed CPU-bound workload that says how fast this machine runs right now (issue 22).

Python interpreter work (a loop of integer arithmetic) and one BLAS matrix product (float64, one thread),
each timed ``repeats`` times in a fresh process on one core; the medians are the machine's pace. A run
measures it at its start and its end (``env.json``, ``calibration``), so that two runs' shift can be read
apart from a change of the code. Child side: Python 3.7 and the NumPy of then.
"""

import json
import statistics
import sys
import time

PYTHON_LOOPS = 1000000
BLAS_N = 512
REPEATS = 15


def python_work(loops: int) -> int:
    total = 0
    for i in range(loops):
        total += i % 7
    return total


def measure(repeats=REPEATS, python_loops=PYTHON_LOOPS, blas_n=BLAS_N, clock=time.perf_counter) -> dict:
    """The medians (and minima) of ``repeats`` timings of each piece, in seconds, and what was timed."""
    import numpy as np

    rng = np.random.RandomState(0)
    a, b = rng.standard_normal((blas_n, blas_n)), rng.standard_normal((blas_n, blas_n))
    python_s, blas_s = [], []
    for _ in range(repeats):
        start = clock()
        python_work(python_loops)
        python_s.append(clock() - start)
        start = clock()
        np.dot(a, b)
        blas_s.append(clock() - start)
    return {
        "python_s": statistics.median(python_s),
        "blas_s": statistics.median(blas_s),
        "python_min_s": min(python_s),
        "blas_min_s": min(blas_s),
        "repeats": repeats,
        "python_loops": python_loops,
        "blas_n": blas_n,
    }


def main() -> int:
    from harness.core import affinity

    affinity.apply_from_environment()  # the leased core, before anything runs
    out = measure()
    out["cpus"] = affinity.current()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
