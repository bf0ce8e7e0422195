"""Theano and PyTensor in every mode, for real (the other half: test_every_mode_jax_torch.py; PyTensor's NUMBA:
test_every_mode_numba.py)."""

import pytest
from every_mode import REPO, check_gradients, check_phases, env_json, graphs, run_fixture, wrong_gradient_is_caught

pytestmark = [pytest.mark.slow, pytest.mark.frameworks]
FRAMEWORKS = ("theano", "pytensor")

every_mode_run = run_fixture(FRAMEWORKS)


def test_every_mode_measures_checked_gradients_and_pytorch_fails_as_declared(every_mode_run):
    check_gradients(*every_mode_run, FRAMEWORKS)


def test_each_mode_measures_exactly_its_phases(every_mode_run):
    check_phases(every_mode_run[1])


def test_graph_evidence_says_what_it_counted(every_mode_run):
    g = graphs(every_mode_run[1])
    assert g.loc[("pytensor", "CVM", "per_param"), "nodes_unoptimized_unit"] == "Apply nodes"
    for fw, mode in (("pytensor", "CVM"), ("theano", "FAST_RUN")):  # NUMBA: test_every_mode_numba.py
        # n grad calls build more graph; after rewriting, the same function as single's
        assert g.loc[(fw, mode, "per_param"), "nodes_unoptimized"] > g.loc[(fw, mode, "single"), "nodes_unoptimized"]
    assert g.loc[("pytensor", "CVM", "per_param_separate"), "n_functions"] == 6


def test_env_json_records_the_pytensor_environment_and_theano(every_mode_run):
    env = env_json(every_mode_run[1])
    pytensor = env["frameworks"]["pytensor"]
    pins = dict(line.split("==") for line in (REPO / "envs" / "pytensor.txt").read_text().splitlines() if "==" in line)
    assert pytensor["packages"]["pytensor"] == pins["pytensor"] and pytensor["packages"]["numba"] == pins["numba"]
    assert pytensor["packages"]["numpy"].startswith("2.") and pytensor["python"] and pytensor["cache_kind"]
    assert env["packages"]["theano-pymc"] == "1.1.2"
    assert "PyTensor" in (every_mode_run[1] / "report.md").read_text()


@pytest.mark.parametrize("framework", ["pytensor:CVM"])
def test_a_wrong_gradient_is_caught_and_never_timed(every_mode_run, framework):
    wrong_gradient_is_caught(framework)
