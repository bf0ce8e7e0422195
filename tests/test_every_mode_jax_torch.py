"""JAX and PyTorch in every mode, for real (the other half: test_every_mode_symbolic.py)."""

import pandas as pd
import pytest
from every_mode import check_gradients, check_phases, env_json, graphs, run_fixture, wrong_gradient_is_caught

from harness.config import releases

pytestmark = [pytest.mark.slow, pytest.mark.frameworks]
FRAMEWORKS = ("jax", "torch")

every_mode_run = run_fixture(FRAMEWORKS)


def test_every_mode_measures_checked_gradients(every_mode_run):
    check_gradients(*every_mode_run, FRAMEWORKS)


def test_each_mode_measures_exactly_its_phases(every_mode_run):
    m = check_phases(every_mode_run[1])
    torch_eager = m[(m["framework"] == "torch") & (m["mode"] == "eager")]
    assert "compile" not in set(torch_eager["phase"])  # absent, never a zero
    assert not ((m["framework"] == "torch") & (m["mode"] == "compile") & (m["phase"] == "construct")).any()


def test_graph_evidence_says_what_it_counted(every_mode_run):
    g = graphs(every_mode_run[1])
    assert g.loc[("jax", "jit", "single"), "nodes_unoptimized_unit"] == "jaxpr equations"
    assert g.loc[("jax", "jit", "single"), "nodes_optimized_unit"] == "optimized HLO instructions"
    assert g.loc[("torch", "eager", "single"), "nodes_unoptimized_unit"] == "autograd graph nodes"
    assert pd.isna(g.loc[("torch", "eager", "single"), "nodes_optimized"])  # eager compiles nothing
    assert g.loc[("torch", "compile", "single"), "nodes_optimized_unit"].startswith("FX graph nodes")
    # n grad calls build more graph; after XLA, the same function as single's
    assert (
        g.loc[("jax", "jit", "per_param"), "nodes_unoptimized"] > g.loc[("jax", "jit", "single"), "nodes_unoptimized"]
    )
    assert (
        g.loc[("torch", "eager", "per_param"), "nodes_unoptimized"]
        == g.loc[("torch", "eager", "single"), "nodes_unoptimized"]
    )


def test_env_json_records_each_framework_environment(every_mode_run):
    env = env_json(every_mode_run[1])
    fw = env["frameworks"]
    # What each environment holds is what envs/NAME.txt pins (the run's framework_version column too).
    pins = {name: releases.default_release(name).version for name in ("jax", "torch")}
    assert fw["jax"]["packages"]["jax"] == pins["jax"] and fw["torch"]["packages"]["torch"].startswith(pins["torch"])
    assert fw["jax"]["python"].startswith(releases.default_release("jax").python)  # JAX 0.12 needs Python 3.12
    for name in ("jax", "torch"):
        assert fw[name]["packages"]["numpy"].startswith("2.") and fw[name]["python"]
        assert fw[name]["cache_kind"]
    report = (every_mode_run[1] / "report.md").read_text()
    assert "jax" in report and "PyTorch" in report


@pytest.mark.parametrize("framework", ["jax", "torch:compile"])
def test_a_wrong_gradient_is_caught_and_never_timed(every_mode_run, framework):
    wrong_gradient_is_caught(framework)
