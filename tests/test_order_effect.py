"""The naive one-process timing that the order-effect demonstration runs."""

import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from helpers import tiny_model

from harness.orchestrate import environments, spawn

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def test_second_compile_in_one_process_reuses_the_first_ones_c_code(tmp_path):
    task = {
        "kind": "naive",
        "model": asdict(tiny_model()),
        "mode": "FAST_RUN",
        "seed": 0,
        "order": ["per_param", "single"],
    }
    env = environments.worker_env("theano", tmp_path / "empty", "float64", None)
    result = spawn.run_worker(task, env, {"default": 300}, command=[sys.executable, "-m", "harness.worker"])
    assert result["status"] == "ok", result
    first, second = result["measurements"]
    assert (first["strategy"], second["strategy"]) == ("per_param", "single")
    # No timing thresholds: the C module counts show what the naive timer misses.
    assert first["c_compiled"] > 0 and second["c_compiled"] == 0
