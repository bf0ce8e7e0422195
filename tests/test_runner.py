"""The orchestrator, with a fake worker: jobs, order, caches, failures, files."""

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import fake_worker

from harness import results
from harness.config.schema import parse_config
from harness.orchestrate import plan as planning
from harness.orchestrate import runner

CONFIG = {
    "name": "fake",
    "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
    "run": {"seed": 7, "repeats": {"construct": 2, "compile": 1, "execute": 3}},
    "sweep": {"depth": [1, 2]},
}


def recording(fail=None):
    calls = []

    def run(task, env, timeouts):
        calls.append((task, env))
        if task["strategy"] == fail:
            return {"status": "failed", "error": "boom", "measurements": [], "output_tail": "trace"}
        return fake_worker(task, env, timeouts)

    run.calls = calls
    return run


def test_job_order_is_seeded_and_varies_by_case():
    config = parse_config(CONFIG, source="fake.yaml")
    assert planning.case_jobs(config, 0) == planning.case_jobs(config, 0)
    orders = {tuple(j.strategy for j in planning.case_jobs(config, i)) for i in range(20)}
    assert len(orders) > 1
    assert all(sorted(o) == sorted(config.run.strategies) for o in orders)


def test_cold_cache_adds_one_job_per_compile_repeat_for_theano_strategies():
    doc = {**CONFIG, "run": {**CONFIG["run"], "cache": "both", "repeats": {"compile": 4}}}
    jobs = planning.case_jobs(parse_config(doc, source="x"), 0)
    cold = [j for j in jobs if j.cache == "cold"]
    assert len(cold) == 3 * 4 and {j.slot for j in cold} == {0, 1, 2, 3}
    assert {j.strategy for j in cold} == {"single", "per_param", "per_param_separate"}  # the gradients
    assert len([j for j in jobs if j.cache == "warm"]) == 5  # and the primal and the NumPy reference, warm


@pytest.mark.slow  # draws the figures (seconds)
def test_run_writes_every_row_and_file(tmp_path, plots):
    config = parse_config(CONFIG, source="fake.yaml")
    worker = recording()
    run_dir = runner.run([config], tmp_path, progress=lambda line: None, runner=worker, compiledir=tmp_path / "cc")
    assert len(worker.calls) == 2 * 5
    task, env = worker.calls[0]
    assert env["PYTHONHASHSEED"] == "0" and "blas__ldflags=" in env["THEANO_FLAGS"]
    assert f"base_compiledir={tmp_path / 'cc'}" in env["THEANO_FLAGS"]
    json.dumps(task)  # plain data only

    m = pd.read_csv(run_dir / "measurements.csv")
    assert tuple(m.columns) == results.MEASUREMENT_COLUMNS
    # per case: single 2+1+1+3, per_param 7, separate 1+1+3, primal 1+1+3, numpy_reference 3+3+3
    assert len(m) == 2 * (7 + 7 + 5 + 5 + 9)
    assert set(m["depth"]) == {1, 2} and set(m["n_params"]) == {4, 6}
    orders = m.groupby(["case", "strategy"])["order"].first()
    for index, case in enumerate(["depth=1", "depth=2"]):
        expected = [j.strategy for j in planning.case_jobs(config, index)]
        assert list(orders[case].sort_values().index) == expected

    s = pd.read_csv(run_dir / "summary.csv")
    for col in (
        "n",
        "min",
        "median",
        "mean",
        "std",
        "iqr",
        "ci_low",
        "ci_high",
        "cv",
        "unstable",
        "ratio_vs_single",
        "ratio_ci_low",
        "ratio_ci_high",
        "unit",
    ):
        assert col in s.columns
    g = pd.read_csv(run_dir / "graphs.csv")
    assert list(g.columns[:2]) == ["config", "case"] and len(g) == 8  # every strategy but the NumPy reference
    env = json.loads((run_dir / "env.json").read_text())
    assert env["schema_version"] == results.SCHEMA_VERSION and env["status"] == "complete"
    assert env["configs"][0]["sweep"] == {"depth": [1, 2]}
    for name in ("scaling.csv", "throughput.csv", "plots/fake-phases.png", "plots/fake-sweep-depth.svg"):
        assert (run_dir / name).exists(), name


def test_cold_jobs_get_an_empty_compiledir_of_their_own(tmp_path):
    doc = {**CONFIG, "run": {**CONFIG["run"], "cache": "both", "repeats": {"compile": 2}}}
    seen = []

    def check_dir(task, env, timeouts):
        flags = dict(f.split("=", 1) for f in env["THEANO_FLAGS"].split(","))
        path = Path(flags["base_compiledir"])
        seen.append((task["cache"], path, sorted(path.iterdir()) if path.exists() else None))
        return fake_worker(task, env, timeouts)

    shared = tmp_path / "cc"
    shared.mkdir()
    (shared / "module").write_text("filled by earlier compiles")
    runner.run(
        [parse_config(doc, source="x")],
        tmp_path / "out",
        progress=lambda line: None,
        runner=check_dir,
        compiledir=shared,
    )
    warm = [p for c, p, _ in seen if c == "warm"]
    cold = [(p, listing) for c, p, listing in seen if c == "cold"]
    assert set(warm) == {shared}
    assert len(cold) == 2 * 3 * 2 and len({p for p, _ in cold}) == len(cold)  # each its own
    assert all(listing == [] for _, listing in cold)  # empty when the worker starts
    assert not any(p.exists() for p, _ in cold)  # removed afterwards
    m = pd.read_csv(next((tmp_path / "out").iterdir()) / "measurements.csv")
    cold_rows = m[m["cache"] == "cold"]
    assert set(cold_rows["phase"]) == {"compile"} and set(cold_rows["repeat"]) == {0}
    assert set(cold_rows["slot"]) == {0, 1}  # one compile per worker process


def test_failed_worker_is_recorded_and_run_goes_on(tmp_path):
    config = parse_config(CONFIG, source="fake.yaml")
    lines = []
    run_dir = runner.run(
        [config], tmp_path, progress=lines.append, runner=recording(fail="per_param"), compiledir=tmp_path / "cc"
    )
    m = pd.read_csv(run_dir / "measurements.csv")
    failed = m[m["status"] == "failed"]
    assert len(failed) == 2 * 4  # one row per phase of per_param, in both cases
    assert set(failed["error"]) == {"boom"} and failed["seconds"].isna().all()
    assert (m[m["status"] == "ok"]["strategy"] != "per_param").all()
    w = pd.read_csv(run_dir / "workers.csv")
    assert (w[w["strategy"] == "per_param"]["output_tail"] == "trace").all()
    env = json.loads((run_dir / "env.json").read_text())
    assert len(env["failures"]) == 2
    assert any("FAILED: boom" in line for line in lines)


def test_results_of_another_schema_are_refused(tmp_path):
    (tmp_path / "env.json").write_text(json.dumps({"schema_version": 99}))
    try:
        results.read_run(tmp_path)
    except ValueError as exc:
        assert "schema version 99" in str(exc) and "re-run" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_run_ids_sort_by_time_and_are_unique(tmp_path):
    import datetime as dt

    t = dt.datetime(2026, 1, 2, 3, 4, 5)
    a, b = results.new_run_dir(tmp_path, t), results.new_run_dir(tmp_path, t)
    c = results.new_run_dir(tmp_path, t + dt.timedelta(seconds=1))
    assert a != b and a.name.startswith("20260102-030405-") and sorted([c.name, a.name])[1] == c.name


@pytest.mark.slow  # draws the figures (seconds)
def test_report_md_answers_with_this_runs_numbers(tmp_path, plots):
    config = parse_config({**CONFIG, "run": {**CONFIG["run"], "processes": 2}}, source="fake.yaml")
    run_dir = runner.run([config], tmp_path, progress=lambda line: None, runner=recording(), compiledir=tmp_path / "cc")
    text = (run_dir / "report.md").read_text()
    s = pd.read_csv(run_dir / "summary.csv")
    row = s[(s["case"] == "depth=2") & (s["phase"] == "construct") & (s["strategy"] == "per_param")].iloc[0]
    assert "**The question.**" in text and "## fake" in text
    assert "**Answer for depth=2**" in text
    assert f"`per_param` builds its gradients in {row['median'] * 1e3:.2f} ms" in text
    assert f"{row['ratio_vs_single']:.2f}× (95% CI {row['ratio_ci_low']:.2f}–{row['ratio_ci_high']:.2f})" in text
    assert "Apply nodes before the compiler: 9 (`single`) vs 9 (`per_param`)" in text
    assert (
        "| case | cache | phase | `single` | `per_param` | `per_param_separate` | `primal` | `numpy_reference` |"
        in text
    )
    assert "![fake-phases](plots/fake-phases.png)" in text and "![fake-sweep-depth](plots/fake-sweep-depth.png)" in text
    assert "## Environment" in text and "theano-pymc" in text


def test_report_says_when_a_ratio_has_no_ci_because_of_one_process(tmp_path):
    config = parse_config(CONFIG, source="fake.yaml")
    run_dir = runner.run([config], tmp_path, progress=lambda line: None, runner=recording(), compiledir=tmp_path / "cc")
    text = (run_dir / "report.md").read_text()
    assert "(no CI: one process)" in text and "95% CI nan" not in text
    assert "with one process a value has none" in text


class RecordingDisplay:
    def __init__(self):
        self.events = []

    def start(self, total):
        self.events.append(("start", total))

    def begin(self, label):
        self.events.append(("begin", label))

    def phase(self, name):
        self.events.append(("phase", name))

    def end(self):
        self.events.append(("end",))

    def write(self, line):
        self.events.append(("write", line))

    def close(self):
        self.events.append(("close",))


def test_display_follows_workers_and_their_phases(tmp_path):
    def worker(task, env, timeouts, on_phase):
        for phase in ("setup", "construct", "execute"):
            on_phase(phase)
        if task["strategy"] == "per_param":
            return {"status": "failed", "error": "boom", "measurements": []}
        return fake_worker(task, env, timeouts)

    display = RecordingDisplay()
    runner.run(
        [parse_config(CONFIG, source="fake.yaml")],
        tmp_path,
        progress=lambda line: None,
        runner=worker,
        compiledir=tmp_path / "cc",
        display=display,
    )
    events = display.events
    assert events[0] == ("start", 10) and events[-1] == ("close",)  # 2 cases x 5 strategies
    assert events.count(("end",)) == 10 and events.count(("phase", "construct")) == 10
    assert ("begin", "fake depth=1 per_param") in events
    failures = [e for e in events if e[0] == "write"]
    assert len(failures) == 2 and all("FAILED: boom" in e[1] for e in failures)


def test_bar_renders_label_phase_and_count(tmp_path):
    import io

    from harness.orchestrate.progress import Bar

    stream = io.StringIO()
    bar = Bar(stream)
    bar.start(3)
    bar.begin("question question per_param")
    bar.phase("compile")
    bar.end()
    bar.write("[1/3] question question per_param: 1.0 s, FAILED: boom")
    bar.close()
    text = stream.getvalue()
    assert "question question per_param: compile" in text and "1/3 workers" in text
    assert "FAILED: boom" in text


def test_processes_pool_several_warm_workers_per_strategy(tmp_path):
    doc = {**CONFIG, "run": {**CONFIG["run"], "processes": 3}, "sweep": {"depth": [1]}}
    config = parse_config(doc, source="fake.yaml")
    jobs = planning.case_jobs(config, 0)
    assert sorted((j.strategy, j.slot) for j in jobs) == sorted((s, k) for s in config.run.strategies for k in range(3))
    worker = recording()
    run_dir = runner.run([config], tmp_path, progress=lambda line: None, runner=worker, compiledir=tmp_path / "cc")
    assert len(worker.calls) == 5 * 3
    m = pd.read_csv(run_dir / "measurements.csv")
    assert set(m["slot"]) == {0, 1, 2}
    single = m[(m["strategy"] == "single") & (m["phase"] == "execute")]
    assert single.groupby("slot").size().tolist() == [3, 3, 3]  # repeats are per process
    assert len(pd.read_csv(run_dir / "graphs.csv")) == 4  # one graph per Theano strategy, the primal's too
    s = pd.read_csv(run_dir / "summary.csv")
    row = s[(s["strategy"] == "single") & (s["phase"] == "execute")].iloc[0]
    assert row["n"] == 9 and row["ci_method"] == "t over process medians"
    assert len(pd.read_csv(run_dir / "workers.csv")) == 15


def test_threads_reach_the_worker_environment_and_sweep(tmp_path):
    doc = {**CONFIG, "run": {**CONFIG["run"], "threads": 2}, "sweep": {"threads": [1, 2]}}
    config = parse_config(doc, source="fake.yaml")
    worker = recording()
    run_dir = runner.run([config], tmp_path, progress=lambda line: None, runner=worker, compiledir=tmp_path / "cc")
    seen = {(task["case"], env["OPENBLAS_NUM_THREADS"], env["OMP_NUM_THREADS"]) for task, env in worker.calls}
    assert seen == {("threads=1", "1", "1"), ("threads=2", "2", "2")}
    m = pd.read_csv(run_dir / "measurements.csv")
    assert set(zip(m["case"], m["threads"])) == {("threads=1", 1), ("threads=2", 2)}
    default = parse_config({k: v for k, v in CONFIG.items() if k != "sweep"}, source="x")
    assert default.run.threads == 1  # one BLAS thread unless a config says otherwise


def test_cold_compiles_match_the_warm_ones_in_number():
    doc = {**CONFIG, "run": {**CONFIG["run"], "cache": "both", "processes": 3, "repeats": {"compile": 2}}}
    jobs = planning.case_jobs(parse_config(doc, source="x"), 0)
    cold = [j for j in jobs if j.cache == "cold" and j.strategy == "single"]
    assert sorted(j.slot for j in cold) == list(range(6))  # 3 processes x 2 compiles
    doc["run"]["alternate"] = ["construct", "compile"]  # warm compiles held against single's in turn
    jobs = planning.case_jobs(parse_config(doc, source="x"), 0)
    assert sorted(j.slot for j in jobs if j.cache == "cold" and j.strategy == "single") == [0, 1, 2]  # one each
    doc["run"]["alternate"] = ["construct"]
    jobs = planning.case_jobs(parse_config(doc, source="x"), 0)
    assert len([j for j in jobs if j.cache == "cold" and j.strategy == "single"]) == 6


def levels_worker(level_of):
    """A fake worker whose every value is its process's level: level_of(strategy, slot)."""
    slots = {}

    def run(task, env, timeouts, **kwargs):
        result = fake_worker(task, env, timeouts)
        key = (task["case"], task["strategy"], task["cache"])
        slot = slots[key] = slots.get(key, -1) + 1
        for row in result["measurements"]:
            row["seconds"] = level_of(task["strategy"], slot) * (1 + 0.001 * row["repeat"])
        return result

    return run


def test_processes_are_added_while_they_disagree_up_to_the_limit(tmp_path):
    doc = {
        **CONFIG,
        "run": {
            **CONFIG["run"],
            "processes": 2,
            "max_processes": 5,
            "process_precision": 0.05,
            "strategies": ["single", "per_param"],
        },
        "sweep": {"depth": [1]},
    }
    config = parse_config(doc, source="fake.yaml")
    # single's processes agree to 0.1%; per_param's alternate between 1 and 2 s: never precise.
    worker = levels_worker(lambda strategy, slot: 1.0 if strategy == "single" else 1.0 + slot % 2)
    lines = []
    run_dir = runner.run([config], tmp_path, progress=lines.append, runner=worker, compiledir=tmp_path / "cc")
    w = pd.read_csv(run_dir / "workers.csv")
    warm = w[w["cache"] == "warm"].groupby("strategy")["slot"].apply(sorted).to_dict()
    assert warm == {"single": [0, 1], "per_param": [0, 1, 2, 3, 4]}
    assert lines[-1].startswith("[7/7]")  # the total grew with the added workers
    orders = w.sort_values("order")["order"].tolist()
    assert orders == sorted(set(orders))  # every worker its own place in the order


def test_no_processes_are_added_without_max_processes(tmp_path):
    doc = {
        **CONFIG,
        "run": {**CONFIG["run"], "processes": 2, "strategies": ["single", "per_param"]},
        "sweep": {"depth": [1]},
    }
    worker = levels_worker(lambda strategy, slot: 1.0 + slot)
    run_dir = runner.run(
        [parse_config(doc, source="f.yaml")],
        tmp_path,
        progress=lambda line: None,
        runner=worker,
        compiledir=tmp_path / "cc",
    )
    assert len(pd.read_csv(run_dir / "workers.csv")) == 4


def test_resume_of_a_run_with_added_processes_adds_none_twice(tmp_path):
    doc = {
        **CONFIG,
        "run": {**CONFIG["run"], "processes": 2, "max_processes": 4, "strategies": ["single", "per_param"]},
        "sweep": {"depth": [1]},
    }
    level = lambda strategy, slot: 1.0 + slot % 2  # noqa: E731 (never precise: up to the limit)
    run_dir = runner.run(
        [parse_config(doc, source="f.yaml")],
        tmp_path,
        progress=lambda line: None,
        runner=levels_worker(level),
        compiledir=tmp_path / "cc",
    )
    before = pd.read_csv(run_dir / "workers.csv")
    assert len(before) == 8
    calls = []
    runner.resume(run_dir, progress=calls.append, runner=levels_worker(level), probe=False)
    assert calls == [] and len(pd.read_csv(run_dir / "workers.csv")) == 8


def test_workers_run_in_rounds_across_cases_then_added_ones(tmp_path):
    """Round k runs the k-th process of every strategy of every case (a slow minute of the machine
    lands in one process of many values, not in every process of one case); added processes
    come after all planned rounds, in rounds too."""
    doc = {
        **CONFIG,
        "run": {
            **CONFIG["run"],
            "processes": 2,
            "max_processes": 3,
            "cache": "both",
            "strategies": ["single", "per_param"],
        },
        "sweep": {"depth": [1, 2, 3]},
    }
    config = parse_config(doc, source="fake.yaml")
    # single's processes agree; per_param's differ by 2x: it gets one more process in each case.
    worker = levels_worker(lambda strategy, slot: 1.0 if strategy == "single" else 1.0 + slot)
    calls = []

    def recorded(task, env, timeouts, **kwargs):
        calls.append(task)
        return worker(task, env, timeouts, **kwargs)

    runner.run([config], tmp_path, progress=lambda line: None, runner=recorded, compiledir=tmp_path / "cc")
    seen = [(c["case"], c["strategy"], c["cache"]) for c in calls]
    slot = {}
    rounds = []
    for key in seen:
        slot[key] = slot.get(key, -1) + 1
        rounds.append(slot[key] if key[2] == "warm" else slot[key] % 2)
    cases = [c["case"] for c in calls]
    assert len(calls) == 3 * (2 * 2 + 2 * 2) + 3  # 3 cases: 2 warm + 2 cold per strategy, 1 added
    assert rounds == sorted(rounds)  # every case's round 0, then every case's round 1, then the added
    assert rounds[-3:] == [2, 2, 2] and [c["strategy"] for c in calls[-3:]] == ["per_param"] * 3
    per_round = len(calls[:-3]) // 2
    for k in range(2):  # within a round, the cases in config order
        block = cases[k * per_round : (k + 1) * per_round]
        assert block == sorted(block, key=["depth=1", "depth=2", "depth=3"].index)
    assert cases[-3:] == ["depth=1", "depth=2", "depth=3"]


def test_a_run_expands_each_config_into_cases_once_and_its_plan_flows_down(tmp_path, monkeypatch):
    """Issue 33, item 6: run() expanded a config five times (environment check, machine env, environments,
    frameworks, plan); the plan is made once and everything after it reads its cases. A resume reads its
    configs back from env.json and plans them once too. (The report, a reader of the files, orders
    cases from the configs env.json records: not counted here.)"""
    import sys

    from harness.config.cases import expand

    calls = []

    def count(frame, event, arg):
        if event == "call" and frame.f_code is expand.__code__:
            caller = frame.f_back
            while caller.f_code.co_name.startswith("<"):  # a comprehension's frame: the function around it
                caller = caller.f_back
            calls.append(caller.f_code.co_name)

    configs = [parse_config(CONFIG, source="fake.yaml"), parse_config({**CONFIG, "name": "other"}, source="o.yaml")]
    monkeypatch.setattr(runner, "finish", lambda run_dir: None)
    sys.setprofile(count)
    try:
        run_dir = runner.run(configs, tmp_path, progress=lambda line: None, runner=fake_worker, compiledir=tmp_path)
        during_run = list(calls)
        runner.resume(run_dir, progress=lambda line: None, runner=fake_worker)
    finally:
        sys.setprofile(None)
    assert during_run == ["plan", "plan"]
    # resume: each recorded config validated (parse_config) and planned, once each
    assert calls[len(during_run) :] == ["parse_config", "parse_config", "plan", "plan"]
