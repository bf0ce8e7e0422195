"""run.alternate: a phase timed in turn with single's in each worker's own process (ABBA), its ratio from
those in-process pairs over processes (issue 34's design (c))."""

import math
import re
import time

import numpy as np
import pandas as pd
import pytest
from helpers import fake_worker

from harness.analysis import coverage
from harness.analysis.pairs import ALTERNATED, PROCESSES, alternated, design, differences
from harness.config.schema import ConfigError, parse_config
from harness.core.task import Task
from harness.orchestrate import plan as planning
from harness.orchestrate import runner
from harness.worker.timing import StopRule
from harness.worker.timing import alternated as alternate_calls

FACTORS = {"single": 1.0, "per_param": 4.0, "per_param_separate": 3.0, "primal": 0.5}


def config(alternate=("construct",), pairing="block", processes=3, **run):
    return parse_config(
        {
            "name": "a",
            "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
            "run": {
                "pairing": pairing,
                "processes": processes,
                "alternate": list(alternate) if isinstance(alternate, tuple) else alternate,
                "repeats": {"construct": 8, "compile": 1, "execute": 3},
                "cache": "both",
                **run,
            },
        },
        source="a.yaml",
    )


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_two_calls_are_timed_in_abba_order_each_next_to_the_other():
    clock, order, pace = FakeClock(), [], iter(1.04 ** np.arange(10))

    def call(name, cost):
        def run():
            order.append(name)
            clock.now += cost * next(pace)  # the machine slows down 4% a call
            return name

        return run

    seconds, bases, last, stop = alternate_calls(call("A", 4.0), call("B", 1.0), 1, 4, StopRule(), clock)
    assert order == ["A", "B"] + ["A", "B", "B", "A", "A", "B", "B", "A"]  # one warm-up pair, then ABBA
    assert last == "A" and stop == "" and len(seconds) == len(bases) == 4
    ratios = [s / b for s, b in zip(seconds, bases)]
    assert all(3.8 < r < 4.2 for r in ratios)  # next to each other, the drift hardly moves a pair's ratio
    assert seconds[-1] / seconds[0] > 1.3  # ... though it moves every timing
    # ABBA: the drift within a pair falls on each side alike over two pairs
    assert math.isclose(float(np.exp(np.mean(np.log(ratios)))), 4.0, rel_tol=1e-9)


def test_auto_repeats_stop_when_the_ratio_is_known_not_the_values():
    clock = FakeClock()
    pace = iter([1.0, 1.0, 2.0, 2.0] * 50)  # each pair at its own pace: values spread, ratios exact

    def call(cost):
        def run():
            clock.now += cost * next(pace)

        return run

    seconds, bases, _, stop = alternate_calls(
        call(2.0), call(1.0), 0, "auto", StopRule(precision=0.02, budget_s=1e9), clock
    )
    assert stop == "precision" and len(seconds) == 6  # the median's CI exists from 6 values on
    assert max(seconds) / min(seconds) == 2.0 and {s / b for s, b in zip(seconds, bases)} == {2.0}


def test_only_the_other_strategies_and_the_control_alternate_and_only_where_asked():
    c = config(alternate=("construct", "compile"))
    tasks = {
        (j.strategy, j.cache): planning.make_task(planning.plan([c])[0].case, c, j) for j in planning.case_jobs(c, 0)
    }
    assert {s for s, _ in tasks} >= {"single", "per_param", "per_param_separate", "primal", "single_aa"}
    others = ("per_param", "per_param_separate", "primal", "single_aa")  # not single, nor the NumPy pass
    for (strategy, cache), task in tasks.items():
        want = ["construct", "compile"] if cache == "warm" and strategy in others else []
        assert task["alternate"] == want, (strategy, cache)
        assert Task.from_json(task).alternate == want  # the worker reads it back
    plain = config(alternate=())
    assert all(
        not planning.make_task(planning.plan([plain])[0].case, plain, j)["alternate"]
        for j in planning.case_jobs(plain, 0)
    )
    assert config().as_dict()["run"]["alternate"] == ["construct"] and "alternate" not in plain.as_dict()["run"]
    assert c.as_dict()["run"]["alternate"] == ["construct", "compile"]  # results' config.yaml keeps the order


@pytest.mark.parametrize(
    "value, message",
    [
        (["execute"], "unknown value (got 'execute'; allowed construct, compile)"),
        (["first_call"], "unknown value (got 'first_call'; allowed construct, compile)"),
        ("construct", "must be a list of phases (got 'construct'; allowed construct, compile)"),
        (["construct", "construct"], "lists a phase twice"),
    ],
)
def test_a_config_may_alternate_construct_and_compile_only(value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        config(alternate=value)


def alternating_worker(pace):
    """A fake worker whose every timing is its side's factor times the machine's pace at that moment;
    alternated phases carry single's timing next to each of its own (ABBA in time)."""

    def run(task, env, timeouts, **kwargs):
        result = fake_worker(task, env, timeouts)
        level = FACTORS.get(task["strategy"], 1.0)
        for m in result["measurements"]:
            m["seconds"] = 0.01 * level * pace()
            if m["phase"] in task["alternate"]:
                m["single_value"] = 0.01 * pace()
        time.sleep(0.02)
        return result

    return run


def test_an_alternated_phase_takes_its_ratio_from_the_processes_and_the_others_from_pairs(tmp_path):
    """The machine's pace swings by ±40%: construct's ratio, from pairs of timings next to each other,
    is exact and says so (pair_design alternated, over the 3 processes); execute's comes from the blocks."""
    started = time.monotonic()
    run_dir = runner.run(
        [config()],
        tmp_path,
        progress=lambda s: None,
        runner=alternating_worker(lambda: 1.0 + 0.4 * math.sin((time.monotonic() - started) * 3)),
        compiledir=tmp_path / "cc",
    )
    m = pd.read_csv(run_dir / "measurements.csv")
    construct = m[(m["phase"] == "construct") & (m["cache"] == "warm")]
    assert construct.groupby("strategy")["single_value"].apply(lambda v: v.notna().all()).to_dict() == {
        "per_param": True,
        "single": False,
        "single_aa": True,
    }
    s = pd.read_csv(run_dir / "summary.csv", keep_default_na=False, na_values=[""])
    warm = s[s["cache"] == "warm"].set_index(["phase", "strategy"])
    for strategy, truth in (("per_param", 4.0), ("single_aa", 1.0)):
        r = warm.loc[("construct", strategy)]
        assert r["pair_design"] == ALTERNATED and r["pairs"] == 3, r
        assert math.isclose(r["paired_ratio"], truth, rel_tol=1e-6)
        assert r["paired_ci_high"] / r["paired_ci_low"] < 1.0001  # the unpaired one carries the swing
        assert r["ratio_ci_high"] / r["ratio_ci_low"] > 1.05
    assert warm.loc[("execute", "per_param"), "pair_design"] == PROCESSES
    report = (run_dir / "report.md").read_text()
    assert "over 3 processes timing it in turn with `single`" in report
    assert "construct 1.00× (1.00–1.00) (in turn, in one process); compile " in report
    assert "construct timed in turn with `single`'s in each worker of another strategy (ABBA)" in report
    assert "rounds, a worker process of `single` and one of each other strategy" in report
    assert "(duet)" not in report  # block, back to back (the method line once said duet for block)
    assert "construct `per_param` ×/÷1.000 (alternated)" in report


def test_compile_in_turn_gives_every_other_strategy_its_ratio_from_the_processes_primal_included(tmp_path):
    """alternate: [construct, compile]: each warm worker of another strategy (the primal's too) compiles in
    turn with single, so through the same ±40% swing every compile ratio is exact, over 3 processes; a cold
    compile (one into an empty cache, in a process of its own) is never alternated."""
    started = time.monotonic()
    run_dir = runner.run(
        [config(alternate=("construct", "compile"))],
        tmp_path,
        progress=lambda s: None,
        runner=alternating_worker(lambda: 1.0 + 0.4 * math.sin((time.monotonic() - started) * 3)),
        compiledir=tmp_path / "cc",
    )
    s = pd.read_csv(run_dir / "summary.csv", keep_default_na=False, na_values=[""])
    compile_rows = s[s["phase"] == "compile"].set_index(["cache", "strategy"])
    for strategy in ("per_param", "per_param_separate", "primal", "single_aa"):
        r = compile_rows.loc[("warm", strategy)]
        assert r["pair_design"] == ALTERNATED and r["pairs"] == 3, r
        assert math.isclose(r["paired_ratio"], FACTORS.get(strategy, 1.0), rel_tol=1e-4)  # pace read twice
    assert compile_rows.loc[("cold", "per_param"), "pair_design"] != ALTERNATED
    report = (run_dir / "report.md").read_text()
    assert "construct and compile timed in turn with `single`'s" in report and "those ratios' CIs are" in report
    assert "compile 1.00× (1.00–1.00) (in turn, in one process); execute" in report


def rows(processes: dict):
    """One phase's rows: {(strategy, slot): [(value, single_value), ...]}; single_value None for none."""
    return pd.DataFrame(
        [
            {"strategy": strategy, "slot": slot, "pair": "block:0", "value": v, "single_value": b}
            for (strategy, slot), pairs in processes.items()
            for v, b in pairs
        ]
    )


def test_each_process_gives_one_difference_the_median_of_its_pairs():
    r = rows(
        {
            ("per_param", 0): [(4.0, 1.0), (8.0, 2.0), (40.0, 1.0)],  # one outlier pair: the median ignores it
            ("per_param", 1): [(3.0, 1.0), (6.0, 2.0), (3.0, 1.0)],
            ("single", 0): [(1.0, None), (1.0, None)],
        }
    )
    got = alternated(r)
    assert list(got) == ["per_param"] and np.allclose(got["per_param"], np.log([4.0, 3.0]))
    assert np.allclose(differences(r)["per_param"], np.log([4.0, 3.0]))  # in-process pairs first
    assert design(r, "per_param") == ALTERNATED
    plain = r.assign(single_value=None)
    assert alternated(plain) == {} and design(plain, "per_param") == PROCESSES  # the block's pair is left
    assert design(plain.assign(pair=""), "per_param") == ""


def test_simulated_alternated_intervals_cover_with_clustered_drifting_processes():
    """Each process's layout moves each side (spread), the machine drifts within the process, the second
    of two timings is faster: the t interval over processes of their median log ratio covers at 95%."""
    rng = np.random.default_rng(34)
    got = coverage.alternated_coverage(rng, 1000, processes=6, per_process=8, spread=0.05, noise=0.08, drift=0.1)
    assert 0.93 <= got["alternated_coverage"] <= 0.97, got
    assert got["ci_factor"] < 1.12
    # A quiet machine: each process's median over its ABBA pairs cancels the order's 3% (half its pairs
    # have each side second), so the interval is narrow and still covers:
    flat = coverage.alternated_coverage(rng, 300, processes=6, per_process=8, spread=0.0, noise=0.01, drift=0.0)
    assert flat["alternated_coverage"] >= 0.9 and flat["ci_factor"] < 1.02, flat
