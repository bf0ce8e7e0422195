import math

import numpy as np
import pandas as pd
import pytest

from harness.stats import describe, summarize
from harness.timing import timed


class FakeClock:
    """Advances by a fixed step on each reading (as in pyperf's tests)."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def test_timed_counts_warmup_and_repeats_exactly():
    calls = []
    clock = FakeClock(0.25)
    seconds, last = timed(lambda: calls.append(1) or len(calls), warmup=2, repeats=3, clock=clock)
    assert seconds == [0.25, 0.25, 0.25]  # one step between start and stop reading
    assert len(calls) == 5 and last == 5
    assert clock.now == pytest.approx(0.25 * 6)  # warmup calls are never timed


def test_timed_sees_the_work_between_readings():
    clock = FakeClock(0.0)
    durations = iter([1.0, 2.0, 4.0])

    def work():
        clock.now += next(durations)

    seconds, _ = timed(work, warmup=0, repeats=3, clock=clock)
    assert seconds == [1.0, 2.0, 4.0]


def test_describe_worked_example():
    # Worked by hand: sorted 1,2,3,4,10. Median 3, mean 4, sample variance
    # (9+4+1+0+36)/4 = 12.5; quartiles by linear interpolation (numpy default,
    # Hyndman & Fan type 7): Q1 = 2, Q3 = 4, IQR = 2.
    d = describe([4, 1, 10, 3, 2])
    assert d == {"n": 5, "min": 1.0, "median": 3.0, "mean": 4.0,
                 "std": pytest.approx(math.sqrt(12.5)), "iqr": 2.0}


def test_describe_empty_and_single():
    assert describe([])["n"] == 0 and math.isnan(describe([])["median"])
    assert describe([2.0])["std"] == 0.0


def _rows(strategy, phase, seconds, status="ok"):
    base = {"config": "c", "case": "k", "input": 1, "hidden": "2", "depth": 1, "width": 2,
            "output": 1, "activation": "sigmoid", "loss": "mse", "biases": True, "floatX": "float64",
            "batch": 1, "mode": "FAST_RUN", "n_params": 4}
    return [{**base, "strategy": strategy, "phase": phase, "repeat": i, "seconds": s, "status": status}
            for i, s in enumerate(seconds)]


def test_summary_ratio_uses_medians_and_skips_failures():
    df = pd.DataFrame(_rows("single", "execute", [1.0, 2.0, 9.0])
                      + _rows("per_param", "execute", [4.0, 6.0, 100.0])
                      + _rows("per_param_separate", "execute", [np.nan], status="failed"))
    s = summarize(df).set_index("strategy")
    assert s.loc["single", "ratio_vs_single"] == 1.0
    assert s.loc["per_param", "ratio_vs_single"] == 3.0  # 6 / 2
    assert "per_param_separate" not in s.index
    assert set(s["unit"]) == {"s"}
