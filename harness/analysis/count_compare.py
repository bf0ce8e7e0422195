"""Is a counted value a change? Instructions need no t test where they repeat, and say so where they do not.

A time changes between two runs by chance, so ``stats.compare_samples`` asks for a ratio beyond a factor
and a Welch test over process medians. An instruction count of the same code, data and environment is
nearly the same number every time (measured: identical between processes for Theano's construct and
execute, within 0.3% between repeats of one process, about 1% for a compile), so a small threshold is
enough (default 1%): a change is a ratio of medians beyond it **and** beyond what the counts showed of
their own spread, i.e. the two runs' process medians do not overlap. Where the counts spread more than
the threshold inside a run, the row says so (``spread``), and a ratio inside that spread is not a
change, however large the threshold allows it to be.
"""

from __future__ import annotations

import numpy as np

from harness.analysis.stats import comparison_row, process_medians

DEFAULT_THRESHOLD = 0.01  # a counted value that moved by more than 1% (and beyond its spread) changed
MORE, FEWER = "more instructions", "fewer instructions"


def spread(levels: np.ndarray) -> float:
    """Largest over smallest process median, less one: 0 where the processes counted the same."""
    return float(levels.max() / levels.min() - 1) if levels.size and levels.min() > 0 else float("nan")


def compare_counts(base, new, threshold: float = DEFAULT_THRESHOLD, base_slots=None, new_slots=None) -> dict:
    """The row ``compare`` writes for one counted key (the same columns as a timed one; no p value)."""
    base, new = np.asarray(base, dtype=float), np.asarray(new, dtype=float)
    levels_base, levels_new = process_medians(base, base_slots), process_medians(new, new_slots)
    ratio = float(np.median(new) / np.median(base))
    # Apart: every process of one run counted more than every process of the other.
    apart = levels_new.min() > levels_base.max() or levels_new.max() < levels_base.min()
    change = ""
    if apart and ratio > 1 + threshold:
        change = MORE
    elif apart and ratio < 1 / (1 + threshold):
        change = FEWER
    row = comparison_row(base, new, levels_base, levels_new, float("nan"), change)
    return {**row, "spread": max(spread(levels_base), spread(levels_new))}
