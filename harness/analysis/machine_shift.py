"""How much slower one run's machine ran than another's: their calibrations (``env.json``, ``calibration``,
written by ``harness.orchestrate.calibration``) held against each other."""

from __future__ import annotations

import math


def pace(env: dict) -> dict | None:
    """A run's pace: the geometric mean of its calibrations' medians (start and end, and a resumed run's),
    {python_s, blas_s, python_loops, blas_n}; None if it has none. One calibration lasts about a second,
    and this VM has slow seconds: two of them, at both ends of the run, average over more of its time."""
    entries = [e for e in env.get("calibration") or [] if "error" not in e]
    if not entries or len({(e.get("python_loops"), e.get("blas_n")) for e in entries}) != 1:
        return None

    def mean(key):
        return math.exp(sum(math.log(e[key]) for e in entries) / len(entries))

    return {
        "python_s": mean("python_s"),
        "blas_s": mean("blas_s"),
        "python_loops": entries[0].get("python_loops"),
        "blas_n": entries[0].get("blas_n"),
    }


def shift(base_env: dict, new_env: dict) -> dict | None:
    """How much slower NEW's machine ran the workload than BASE's (>1: slower), per piece, and their
    geometric mean (``machine``): what compare divides out. None unless both runs were calibrated alike."""
    base, new = pace(base_env), pace(new_env)
    if base is None or new is None:
        return None
    if (base["python_loops"], base["blas_n"]) != (new["python_loops"], new["blas_n"]):
        return None  # another workload: not comparable
    python, blas = new["python_s"] / base["python_s"], new["blas_s"] / base["blas_s"]
    return {"python": python, "blas": blas, "machine": math.sqrt(python * blas)}
