"""The worker's measurement sequence and its refusal to time wrong gradients."""
from dataclasses import asdict

import numpy as np
import pytest

from helpers import tiny_model

pytest.importorskip("theano")
from harness import numpy_reference, worker  # noqa: E402


def task(strategy, **model):
    return {"model": asdict(tiny_model(**model)), "mode": "FAST_RUN", "strategy": strategy, "seed": 0,
            "warmup": {"construct": 1, "compile": 0, "execute": 1},
            "repeats": {"construct": 3, "compile": 2, "execute": 4}}


def phases(result):
    out = {}
    for row in result["measurements"]:
        out.setdefault(row["phase"], []).append(row["repeat"])
    return out


def test_single_worker_rows_and_checks():
    result = worker.run_task(task("single"))
    assert result["status"] == "ok"
    assert phases(result) == {"construct": [0, 1, 2], "compile": [0, 1], "execute": [0, 1, 2, 3]}
    assert all(r["seconds"] > 0 for r in result["measurements"])
    assert result["check"]["vs_numpy"] < 1e-10 and "vs_single" not in result["check"]
    assert result["graph"]["n_functions"] == 1


def test_separate_worker_has_no_construct_phase_and_n_functions():
    result = worker.run_task(task("per_param_separate"))
    assert result["status"] == "ok"
    assert set(phases(result)) == {"compile", "execute"}
    assert result["graph"]["n_functions"] == 6
    assert result["check"]["vs_single"] < 1e-10


def test_gradient_mismatch_is_a_failure_without_timings(monkeypatch):
    real = numpy_reference.loss_and_grads

    def wrong(*args):
        loss, grads = real(*args)
        return loss, [g * 1.01 for g in grads]

    monkeypatch.setattr(numpy_reference, "loss_and_grads", wrong)
    result = worker.run_task(task("per_param"))
    assert result["status"] == "failed"
    assert "gradient mismatch" in result["error"] and "vs_numpy" in result["error"]
    assert result["measurements"] == []


def test_relative_error():
    assert worker.relative_error([np.array([1.0, 2.0])], [np.array([1.0, 4.0])]) == 0.5
    assert worker.relative_error([np.zeros(2)], [np.zeros(2)]) == 0.0
