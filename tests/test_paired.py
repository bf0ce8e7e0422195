"""Paired measurement: both strategies in one worker, timed alternately, beside separate workers."""

import math

import pandas as pd
import pytest

from harness.config.schema import parse_config
from harness.experiments import paired

pytestmark = pytest.mark.slow


def test_summary_takes_each_process_median_ratio_and_a_ci_over_processes():
    rows = []
    for slot, ratio in enumerate([1.0, 1.1, 1.2]):  # each process: per_param = ratio x single
        for pair in range(4):
            rows += [
                {
                    "config": "c",
                    "case": "k",
                    "framework": "theano",
                    "mode": "FAST_RUN",
                    "slot": slot,
                    "pair": pair,
                    "position": 0,
                    "strategy": "single",
                    "seconds": 1.0 + pair,
                },
                {
                    "config": "c",
                    "case": "k",
                    "framework": "theano",
                    "mode": "FAST_RUN",
                    "slot": slot,
                    "pair": pair,
                    "position": 1,
                    "strategy": "per_param",
                    "seconds": (1.0 + pair) * ratio,
                },
            ]
    s = paired.summarize(pd.DataFrame(rows), {"k": {"single": "ab", "per_param": "ab"}}).iloc[0]
    assert s["processes"] == 3 and s["pairs"] == 4 and s["process_ratios"] == "1.000 1.100 1.200"
    assert s["paired_ratio"] == pytest.approx(math.exp(sum(map(math.log, [1.0, 1.1, 1.2])) / 3))
    assert s["ci_low"] < 1.0 < 1.2 < s["ci_high"] and s["same_function"] == True  # noqa: E712


def test_paired_workers_alternate_and_stand_beside_separate_processes(tmp_path):
    pytest.importorskip("theano")
    config = parse_config(
        {
            "name": "pair",
            "model": {"input": 6, "depth": 2, "width": 5, "output": 3, "batch": 4},
            "run": {
                "repeats": {"construct": 1, "compile": 1, "execute": 3},
                "warmup": {"construct": 0, "compile": 0, "execute": 1},
            },
        },
        source="pair.yaml",
    )
    run_dir = paired.measure(config, tmp_path, processes=2, pairs=4, progress=lambda line: None)
    p = pd.read_csv(run_dir / "paired.csv")
    assert len(p) == 2 * 2 * 4 * 2 and set(p["slot"]) == {0, 1} and set(p["phase"]) == {"construct", "execute"}
    for phase in ("construct", "execute"):
        first = p[(p["position"] == 0) & (p["phase"] == phase)].sort_values(["slot", "pair"])
        assert first["strategy"].tolist() == ["single", "per_param"] * 4  # AB, BA, AB, BA in each process
    summary = pd.read_csv(run_dir / "paired_summary.csv").set_index("phase")
    for phase in ("construct", "execute"):
        s = summary.loc[phase]
        assert s["processes"] == 2 and s["same_function"] == True  # noqa: E712 (the optimizer merged them)
        assert s["ci_low"] <= s["paired_ratio"] <= s["ci_high"]
        assert s["separate_ratio"] > 0 and s["separate_ci_low"] <= s["separate_ci_high"]  # 2 processes a side
    assert summary.loc["construct", "paired_ratio"] > 1.3  # eight gradient graphs cost more than one
