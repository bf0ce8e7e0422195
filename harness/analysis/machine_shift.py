"""How much slower one run's machine ran than another's: their calibrations (``env.json``, ``calibration``,
written by ``harness.orchestrate.calibration``) held against each other."""

from __future__ import annotations

import math


def pace(env: dict) -> dict | None:
    """A run's calibration at its (first) start: {python_s, blas_s}; None if it has none."""
    for entry in env.get("calibration") or []:
        if entry.get("when") == "start" and "error" not in entry:
            return entry
    return None


def shift(base_env: dict, new_env: dict) -> dict | None:
    """How much slower NEW's machine ran the workload than BASE's (>1: slower), per piece, and their
    geometric mean (``machine``): what compare divides out. None unless both runs were calibrated alike."""
    base, new = pace(base_env), pace(new_env)
    if base is None or new is None:
        return None
    if (base.get("python_loops"), base.get("blas_n")) != (new.get("python_loops"), new.get("blas_n")):
        return None  # another workload: not comparable
    python, blas = new["python_s"] / base["python_s"], new["blas_s"] / base["blas_s"]
    return {"python": python, "blas": blas, "machine": math.sqrt(python * blas)}
