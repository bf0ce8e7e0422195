"""The checks a gradient (or a primal's loss) passes before anything of it is timed."""

from __future__ import annotations

import numpy as np

# Largest max-abs difference, relative to the reference's max-abs value.
TOLERANCE = {
    "vs_numpy": {"float64": 1e-8, "float32": 2e-3},
    "vs_single": {"float64": 1e-10, "float32": 1e-5},
}


CHUNK = 1 << 18  # elements compared at a time: the question's 82M-element W1 in float64 would take 650 MB a copy


def relative_error(got: list, ref: list) -> float:
    """max |got - ref| / max |ref| over all gradients (0 when both are zero), in float64, a chunk at a
    time (the whole-array version took 3.6 times as long on the question's network: two 650 MB temporaries)."""
    err = scale = 0.0
    for g, r in zip(got, ref):
        g, r = np.asarray(g).reshape(-1), np.asarray(r, np.float64).reshape(-1)
        for i in range(0, max(r.size, 1), CHUNK):
            part = r[i : i + CHUNK]
            err = max(err, float(np.max(np.abs(g[i : i + CHUNK].astype(np.float64) - part))))
            scale = max(scale, float(np.max(np.abs(part))))
    return err / scale if scale > 0 else err


def check_failure(check: dict, floatx: str, what: str = "gradient") -> str | None:
    """The error of a worker whose relative errors (``{"vs_numpy": e, ...}``) exceed the tolerance; else None.
    ``what`` names what was checked: the gradient, or the primal's loss."""
    bad = {k: v for k, v in check.items() if not v <= TOLERANCE[k][floatx]}
    if not bad:
        return None
    detail = ", ".join(f"{k} relative error {v:.3g} > {TOLERANCE[k][floatx]:g}" for k, v in bad.items())
    return f"{what} mismatch: {detail}"
