"""The orchestrator, with a fake worker: rows, order, failures, files."""
import json

import pandas as pd

from harness import results, runner
from harness.config import parse_config

CONFIG = {"name": "fake", "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
          "run": {"seed": 7, "repeats": {"construct": 2, "compile": 1, "execute": 3}},
          "sweep": {"depth": [1, 2]}}


def fake_worker(fail=None):
    calls = []

    def run(task, env, timeout_s):
        calls.append((task, env))
        if task["strategy"] == fail:
            return {"status": "failed", "error": "boom", "measurements": [], "output_tail": "trace"}
        rows = [{"phase": p, "repeat": i, "seconds": 0.1 * (i + 1)}
                for p in ("construct", "compile", "execute") if p in runner.STRATEGY_PHASES[task["strategy"]]
                for i in range(task["repeats"][p])]
        return {"status": "ok", "measurements": rows, "check": {"vs_numpy": 0.0},
                "graph": {"nodes_unoptimized": 10, "nodes_optimized": 5, "n_functions": 1}}
    run.calls = calls
    return run


def test_strategy_order_is_seeded_and_varies_by_case():
    s = ("single", "per_param", "per_param_separate")
    assert runner.strategy_order(s, 1, 0) == runner.strategy_order(s, 1, 0)
    orders = {tuple(runner.strategy_order(s, 1, i)) for i in range(20)}
    assert len(orders) > 1 and all(sorted(o) == sorted(s) for o in orders)


def test_run_writes_every_row_and_file(tmp_path):
    config = parse_config(CONFIG, source="fake.yaml")
    worker = fake_worker()
    run_dir = runner.run([config], tmp_path, progress=lambda line: None, runner=worker,
                         compiledir=tmp_path / "cc")
    assert len(worker.calls) == 6
    task, env = worker.calls[0]
    assert env["PYTHONHASHSEED"] == "0" and "blas__ldflags=" in env["THEANO_FLAGS"]
    assert f"base_compiledir={tmp_path / 'cc'}" in env["THEANO_FLAGS"]
    json.dumps(task)  # plain data only

    m = pd.read_csv(run_dir / "measurements.csv")
    assert tuple(m.columns) == results.MEASUREMENT_COLUMNS
    # 2 cases x (single 6 + per_param 6 + separate 4) rows
    assert len(m) == 2 * (6 + 6 + 4)
    assert set(m["depth"]) == {1, 2} and set(m["n_params"]) == {4, 6}
    orders = m.groupby(["case", "strategy"])["order"].first()
    for index, case in enumerate(["depth=1", "depth=2"]):
        expected = runner.strategy_order(config.run.strategies, 7, index)
        assert list(orders[case].sort_values().index) == expected

    s = pd.read_csv(run_dir / "summary.csv")
    for col in ("n", "min", "median", "mean", "std", "iqr", "ratio_vs_single", "unit"):
        assert col in s.columns
    assert len(s) == 2 * 8
    g = pd.read_csv(run_dir / "graphs.csv")
    assert list(g.columns[:2]) == ["config", "case"] and len(g) == 6
    env = json.loads((run_dir / "env.json").read_text())
    assert env["schema_version"] == results.SCHEMA_VERSION and env["status"] == "complete"
    assert env["configs"][0]["sweep"] == {"depth": [1, 2]}
    assert (run_dir / "plots" / "fake-phases.png").exists()
    assert (run_dir / "plots" / "fake-sweep-depth.svg").exists()


def test_failed_worker_is_recorded_and_run_goes_on(tmp_path):
    config = parse_config(CONFIG, source="fake.yaml")
    lines = []
    run_dir = runner.run([config], tmp_path, progress=lines.append, runner=fake_worker(fail="per_param"),
                         compiledir=tmp_path / "cc")
    m = pd.read_csv(run_dir / "measurements.csv")
    failed = m[m["status"] == "failed"]
    assert len(failed) == 2 * 3  # one row per phase of per_param, in both cases
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
