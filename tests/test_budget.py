"""A run's time budget (issue 22, item 4c), driven by a fake clock: a simulated machine whose workers take
a known overhead plus the auto repeats they are allowed, quiet (repeats stop on precision) or noisy (they
never do, so every value takes its whole repeat budget and processes keep being wanted)."""

import json
import re
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.config.schema import parse_config
from harness.orchestrate import runner
from harness.orchestrate.budget import RunBudget, repeats_seconds
from harness.orchestrate.plan import plan
from harness.orchestrate.schedule import measure_cases
from harness.report.precision_section import precision_section

CONFIG = {
    "name": "sim",
    "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
    "run": {
        "seed": 1,
        "strategies": ["single", "per_param", "primal"],
        "processes": 2,
        "max_processes": 4,
        "process_precision": 0.05,
        "budget_s": 4,
        "repeats": {"construct": "auto", "compile": 1, "execute": "auto"},
    },
    "sweep": {"depth": [1, 2, 3, 4]},
}


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def simulated(clock, overhead: float, repeats_to_precision: float | None):
    """A worker that moves ``clock`` on by ``overhead`` plus, per auto-repeated value, its repeat budget
    (noisy: ``repeats_to_precision`` None, the stop rule never sees its precision) or the seconds its
    precision takes, whichever is less. On the noisy machine each process of a value runs 20% slower than
    the one before: its medians never agree, so processes keep being wanted."""
    calls = []

    def run(task, env, timeouts, **kwargs):
        before = sum(1 for t in calls if (t["case"], t["strategy"]) == (task["case"], task["strategy"]))
        calls.append(task)
        level = 0.1 * 1.2**before if repeats_to_precision is None else 0.1
        rows, spent = [], overhead
        for phase in ["execute"] if task["strategy"] == "primal" else ["construct", "execute"]:
            seconds = task["budget_s"] if repeats_to_precision is None else min(task["budget_s"], repeats_to_precision)
            stopped = "precision" if repeats_to_precision is not None and seconds >= repeats_to_precision else "budget"
            n = max(3, int(seconds / level))
            rows += [{"phase": phase, "repeat": i, "seconds": level, "loops": 1, "stopped": stopped} for i in range(n)]
            spent += n * level
        clock.now += spent
        return {"status": "ok", "measurements": rows, "check": {"vs_numpy": 0.0}, "graph": {"n_functions": 1}}

    run.calls = calls
    return run


def simulate(budget_s, overhead, repeats_to_precision, doc=CONFIG, tmp=None):
    """Run ``doc``'s cases through the scheduler on the simulated machine: (seconds it took, the ended
    workers as (case, job, result, wall), the budget, the tasks sent)."""
    clock = FakeClock()
    budget = RunBudget(budget_s, clock) if budget_s else None
    worker = simulated(clock, overhead, repeats_to_precision)
    work = plan([parse_config(doc, source="sim.yaml")])
    rows = {item.key: [] for item in work}
    ended = []

    def on_worker(item, order, job, result, wall):
        ended.append((item.case.name, job, result, wall))

    measure_cases(work, set(), rows, worker, tmp or Path(tempfile.mkdtemp()), None, on_worker, budget=budget)
    return clock.now - 1000.0, ended, budget, worker.calls


def budgeted_run(tmp_path, worker, depths, seconds):
    """A real run (the runner, its files, its report) of CONFIG at ``depths`` with 2 fixed processes."""
    doc = {**CONFIG, "sweep": {"depth": depths}, "run": {**CONFIG["run"], "max_processes": 2}}
    return runner.run(
        [parse_config(doc, source="sim.yaml")],
        tmp_path,
        progress=lambda line: None,
        runner=worker,
        compiledir=tmp_path / "cc",
        time_budget_s=seconds,
    )


def test_repeats_seconds_counts_only_auto_repeated_rows():
    rows = [
        {"phase": "construct", "seconds": 0.5, "loops": 2, "stopped": "budget"},
        {"phase": "construct", "seconds": 0.5, "loops": 2, "stopped": "budget"},
        {"phase": "compile", "seconds": 3.0, "loops": 1, "stopped": ""},
        {"phase": "execute", "seconds": 0.25, "loops": 1, "stopped": "precision"},
    ]
    assert repeats_seconds(rows) == (2.25, 2)


def test_repeat_budget_shares_the_time_left_after_the_predicted_overheads():
    clock = FakeClock()
    budget = RunBudget(100, clock)
    a = ("c", "x", "single", "warm")
    assert budget.repeat_budget(a, 4.0, [(a, True)] * 10) == 4.0  # 100 s over 20 values: 5 s, at most 4
    clock.now += 10
    budget.note(a, 10.0, [{"phase": "execute", "seconds": 1.0, "loops": 2, "stopped": "budget"}])  # overhead 8 s
    # 90 s left; 5 workers like a predicted 8 s each besides their one repeated value: (90 - 40) / 5 = 10, at most 4
    assert budget.repeat_budget(a, 4.0, [(a, True)] * 5) == 4.0
    # 8 of them: (90 - 64) / 8 = 3.25 s per value
    assert budget.repeat_budget(a, 4.0, [(a, True)] * 8) == 3.25
    # a cold compile predicted at its whole wall (10 s) is taken off too: (90 - 64 - 10) / 8 = 2
    assert budget.repeat_budget(a, 4.0, [(a, True)] * 8 + [(a, False)]) == 2.0
    assert budget.repeat_budget(a, 4.0, [(a, True)] * 20) == 0.0  # nothing left: the stop rule's minimum
    assert budget.describe()["repeat_budget_s"] == {"workers": 5, "cut": 3, "min": 0.0, "median": 3.25}


def test_predictions_fall_back_from_the_case_to_the_config():
    clock = FakeClock()
    budget = RunBudget(100, clock)
    budget.note(("c", "depth=1", "single", "warm"), 6.0, [])
    budget.note(("c", "depth=1", "per_param", "warm"), 2.0, [])
    assert budget.predicted(("c", "depth=1", "single", "warm")) == 6.0
    assert budget.predicted(("c", "depth=2", "single", "warm")) == 6.0  # same config, strategy, cache
    assert budget.predicted(("c", "depth=2", "primal", "warm")) == 4.0  # same config and cache
    assert budget.predicted(("c", "depth=2", "single", "cold")) == 0.0  # nothing like it: unknown
    assert budget.predicted(("other", "x", "single", "warm")) == 0.0


@pytest.mark.parametrize("bad", [0, -5, float("nan")])
def test_a_budget_must_be_a_positive_number_of_seconds(bad):
    with pytest.raises(ValueError, match="positive number of seconds"):
        RunBudget(bad)


def test_a_noisy_machine_stays_within_the_budget_with_fewer_repeats_and_no_added_process():
    unbounded, _, _, _ = simulate(None, overhead=3.0, repeats_to_precision=None)
    assert unbounded > 250  # 4 cases x 3 strategies x 4 processes, each 3 s + 4 s per value
    spent, ended, budget, calls = simulate(120, overhead=3.0, repeats_to_precision=None)
    longest = max(wall for *_, wall in ended)
    assert spent <= 120 + longest  # the last worker may end past it, never more than one worker's time
    assert spent > 100  # and the time is used, not left idle
    first_round = {(case, job.strategy) for case, job, result, _ in ended if job.slot == 0 and result["status"] == "ok"}
    assert len(first_round) == 4 * 3  # every case has every strategy's first process
    given = [task["budget_s"] for task in calls]
    assert min(given) < 4.0  # the repeats were cut ...
    assert all(0.0 <= g <= 4.0 for g in given)  # ... never above the config's budget_s, never negative
    described = budget.describe()
    assert described["added_processes"]["ran"] < described["added_processes"]["wanted"]
    skipped = [result for *_, result, _ in ended if result["status"] == "skipped"]
    assert len(skipped) == described["planned_skipped"]
    assert all(r["error"].startswith("run time budget:") for r in skipped)


def test_a_quiet_machine_within_the_budget_loses_nothing():
    doc = {**CONFIG, "run": {**CONFIG["run"], "max_processes": 2}}
    unbounded, ended_free, _, calls_free = simulate(None, overhead=1.0, repeats_to_precision=0.5, doc=doc)
    spent, ended, budget, calls = simulate(600, overhead=1.0, repeats_to_precision=0.5, doc=doc)
    assert spent == unbounded and len(ended) == len(ended_free) == 4 * 3 * 2
    assert {task["budget_s"] for task in calls} == {4.0}  # every worker got its config's repeats
    described = budget.describe()
    assert described["planned_skipped"] == 0 and described["repeat_budget_s"]["cut"] == 0


def test_a_run_records_its_budget_and_the_report_says_what_precision_it_reached(tmp_path):
    from helpers import fake_worker

    run_dir = budgeted_run(tmp_path, fake_worker, [1], 300)
    env = json.loads((run_dir / "env.json").read_text())
    (recorded,) = env["time_budget"]
    assert recorded["budget_s"] == 300 and 0 <= recorded["spent_s"] < 300
    workers = pd.read_csv(run_dir / "workers.csv")
    assert (workers["repeat_budget_s"] == 4.0).all()  # a fake worker takes no time: nothing cut
    report = (run_dir / "report.md").read_text()
    assert "## Precision reached" in report and "**Time budget** 300 s" in report
    # single and per_param: construct, compile, first_call, execute; primal: compile, first_call, execute
    assert "Timed warm values**: 11; of the 11 with a 95% CI over processes, 11 within ±2%" in report


def test_precision_section_counts_cis_against_known_widths():
    summary = pd.DataFrame(
        {
            "unit": ["s", "s", "s", "s", "instructions"],
            "cache": ["warm", "warm", "warm", "cold", "warm"],
            "median": [1.0, 1.0, 1.0, 1.0, 1.0],
            "ci_low": [0.99, 0.96, None, 0.5, 0.5],
            "ci_high": [1.01, 1.04, None, 1.5, 1.5],
        }
    )
    (line,) = [x for x in precision_section({"summary": summary, "env": {}}) if x.startswith("- ")]
    assert "Timed warm values**: 3; of the 2 with a 95% CI" in line
    assert "1 within ±2%, 2 within ±5%" in line and "1 with one process" in line


def test_the_command_line_refuses_a_budget_with_dask_or_not_positive(capsys):
    with pytest.raises(SystemExit):
        main(["run", "configs/question.yaml", "--time-budget", "60", "--dask", "tcp://localhost:1"])
    assert "--time-budget bounds the workers of this machine" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "configs/question.yaml", "--time-budget", "-1"])
    assert "positive number of seconds" in capsys.readouterr().err


def test_a_budget_below_the_planned_work_runs_the_headline_first_then_skips_the_later_round_with_the_reason():
    spent, ended, budget, calls = simulate(50, overhead=3.0, repeats_to_precision=None)
    ran = [(case, job) for case, job, result, _ in ended if result["status"] == "ok"]
    skipped = [(case, job, result) for case, job, result, _ in ended if result["status"] == "skipped"]
    headline = {("depth=1", s, slot) for s in ("single", "per_param", "primal") for slot in (0, 1)}
    assert {(c, j.strategy, j.slot) for c, j in ran[:6]} == headline
    assert skipped and all(case != "depth=1" for case, _, _ in skipped)  # the headline never gives way
    if any(job.slot == 0 for _, job, _ in skipped):  # the others' second round gives way before their first
        assert not any(job.slot == 1 and case != "depth=1" for case, job in ran)
    # The headline's repeats are shared out over its own workers: the first got its config's 4 s a value.
    assert calls[0]["budget_s"] == 4
    # the reason, with the prediction: the median of the workers like it so far (the headline's: 3 s of
    # overhead and its repeats)
    assert all(
        re.fullmatch(r"run time budget: \d+ s of 50 s left, this worker predicted to take \d+ s", r["error"])
        for *_, r in skipped
    )
    assert spent <= 50 + 3.0 + 3 * 0.1 * 2  # at most one worker past the budget (3 repeats per value at least)
    assert budget.describe()["planned_skipped"] == len(skipped)


def test_a_hopeless_budget_skips_first_round_workers_too_and_ends_within_one_worker_of_it():
    spent, ended, budget, _ = simulate(20, overhead=3.0, repeats_to_precision=None)
    statuses = [(job.slot, result["status"]) for case, job, result, _ in ended if case != "depth=1"]
    assert (0, "skipped") in statuses and (1, "ok") not in statuses  # beyond the headline, which ran first
    assert spent <= 20 + 3.0 + 2 * 3 * 0.1  # one worker past it at most: its overhead, 3 repeats of 2 values
    assert len(ended) == 4 * 3 * 2  # every planned worker has its row: run or skipped


def test_workers_the_budget_refused_are_one_line_and_not_an_error(tmp_path, capsys):
    import time

    from helpers import fake_worker

    from harness.cli.run import conclude

    def slow(task, env, timeouts, **kwargs):
        time.sleep(0.3)
        return fake_worker(task, env, timeouts)

    run_dir = budgeted_run(tmp_path, slow, [1, 2], 1.0)
    capsys.readouterr()
    assert conclude(run_dir) == 0  # skipped by the budget is a result, not a failure
    err = capsys.readouterr().err
    workers = pd.read_csv(run_dir / "workers.csv")
    refused = int((workers["status"] == "skipped").sum())
    assert refused >= 6 and f"BUDGET {refused} planned worker(s) not run" in err and "SKIPPED" not in err
    assert f"- {refused} planned worker(s) not run" in (run_dir / "report.md").read_text()


def test_an_interrupted_run_with_a_budget_is_resumed_with_one(tmp_path, capsys, monkeypatch):
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps(CONFIG))

    def interrupted(*args, **kwargs):
        assert kwargs["time_budget_s"] == 90.0
        raise runner.RunInterrupted(tmp_path / "run", 3, 9)

    monkeypatch.setattr(runner, "run", interrupted)
    assert main(["run", str(config), "--out", str(tmp_path), "--time-budget", "90"]) == 130
    (command,) = [line for line in capsys.readouterr().err.splitlines() if "resume with: " in line]
    assert command.endswith(f"--resume {tmp_path / 'run'} --time-budget 90")
