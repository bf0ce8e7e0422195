"""The distribution-free CI of a median (NumPy only: workers import it to decide when to stop)."""

from __future__ import annotations

import math

import numpy as np

CONFIDENCE = 0.95


def median_ci(values, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Distribution-free CI of the median of independent values, from order statistics.

    The interval [x_(l), x_(n-l+1)] covers the median with probability
    1 - 2 P(B <= l - 1), B ~ Binomial(n, 1/2); l is the largest index whose
    coverage is still >= ``confidence`` (Conover, Practical Nonparametric
    Statistics, 3rd ed., section 3.2). NaN when n is too small (n < 6 at 95%).
    Within one process this is the precision of that process's median (what
    adaptive sampling stops on), not of what another process would measure.
    """
    a = np.sort(np.asarray(values, dtype=float))
    n = a.size
    alpha = 1.0 - confidence
    cdf, rank = 0.0, 0
    for k in range(n + 1):
        cdf += _comb(n, k) / 2.0**n
        if 2 * cdf > alpha:
            rank = k  # P(B <= rank - 1) is the last tail small enough
            break
    if rank < 1:
        return math.nan, math.nan
    return float(a[rank - 1]), float(a[n - rank])


def _comb(n: int, k: int) -> int:
    """n choose k (math.comb is Python 3.8+; the child side runs on 3.7)."""
    return math.factorial(n) // (math.factorial(k) * math.factorial(n - k))
