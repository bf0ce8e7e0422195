"""PyTensor's NUMBA mode for real, in a file of its own (every_mode.OWN_FILE): its cold compile, about 2 minutes
on an empty cache, runs beside the rest of the symbolic half (test_every_mode_symbolic.py)."""

import pytest
from every_mode import check_gradients, check_phases, graphs, run_fixture

pytestmark = [pytest.mark.slow, pytest.mark.frameworks]
FRAMEWORKS = ("pytensor:NUMBA",)

every_mode_run = run_fixture(FRAMEWORKS)


def test_numba_measures_checked_gradients(every_mode_run):
    check_gradients(*every_mode_run, FRAMEWORKS)


def test_numba_measures_exactly_its_phases_and_compiles_at_the_first_call(every_mode_run):
    m = check_phases(every_mode_run[1])
    assert set(m["mode"]) == {"NUMBA"} and "first_call" in set(m["phase"])  # a lazy mode: compiled when first called


def test_numba_graph_evidence(every_mode_run):
    g = graphs(every_mode_run[1])
    # n grad calls build more graph; after rewriting, the same function as single's
    assert (
        g.loc[("pytensor", "NUMBA", "per_param"), "nodes_unoptimized"]
        > g.loc[("pytensor", "NUMBA", "single"), "nodes_unoptimized"]
    )
