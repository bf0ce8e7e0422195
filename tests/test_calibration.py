"""The calibration workload (issue 22): the machine's pace at a run's start and end."""

import json

import pytest
from helpers import fake_worker

from harness.config.schema import parse_config
from harness.core.affinity import parse_cpus
from harness.orchestrate import calibration, runner
from harness.worker import calibration as workload


def test_the_workload_reports_the_median_of_each_piece():
    # A fake clock: per round, the Python piece lasts 2, 9, 2, 2, 3 ms and the BLAS piece 4, 4, 1, 5, 4 ms.
    python_ms, blas_ms = [2, 9, 2, 2, 3], [4, 4, 1, 5, 4]
    readings, now = [], 0.0
    for p, b in zip(python_ms, blas_ms):
        readings += [now, now + p / 1000, now + 1, now + 1 + b / 1000]
        now += 2
    clock = iter(readings).__next__
    out = workload.measure(repeats=5, python_loops=10, blas_n=4, clock=clock)
    assert out["python_s"] == pytest.approx(0.002) and out["blas_s"] == pytest.approx(0.004)  # the medians
    assert out["python_min_s"] == pytest.approx(0.002) and out["blas_min_s"] == pytest.approx(0.001)
    assert (out["repeats"], out["python_loops"], out["blas_n"]) == (5, 10, 4)
    assert workload.python_work(10) == sum(i % 7 for i in range(10))


@pytest.mark.slow
def test_a_run_times_the_workload_at_its_start_and_end_on_one_core(tmp_path, monkeypatch):
    monkeypatch.setenv(calibration.VARIABLE, "on")
    config = parse_config(
        {"name": "c", "model": {"input": 3, "depth": 1, "width": 2, "output": 2}, "run": {"repeats": 1}},
        source="c.yaml",
    )
    worker = lambda task, env, timeouts, **kwargs: fake_worker(task, env, timeouts)  # noqa: E731
    run_dir = runner.run([config], tmp_path, lambda line: None, runner=worker, probe=False)
    entries = json.loads((run_dir / "env.json").read_text())["calibration"]
    assert [e["when"] for e in entries] == ["start", "end"]
    for entry in entries:
        assert "error" not in entry, entry
        assert 0 < entry["python_s"] < 5 and 0 < entry["blas_s"] < 5
        assert len(parse_cpus(entry["cpus"])) == 1  # one leased core
        assert entry["blas_n"] == workload.BLAS_N and entry["python_loops"] == workload.PYTHON_LOOPS


def test_a_workload_that_cannot_run_is_recorded_with_its_reason(tmp_path):
    got = calibration.calibrate("start", command=[str(tmp_path / "no-such-python")])
    assert got["when"] == "start" and "FileNotFoundError" in got["error"]
    assert calibration.enabled({}) and not calibration.enabled({calibration.VARIABLE: "off"})
