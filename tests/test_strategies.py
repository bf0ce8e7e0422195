"""Theano gradients of every strategy against the NumPy reference, and graph sizes."""

import numpy as np
import pytest
from helpers import tiny_model

from harness.core.data import init_params, make_batch
from harness.worker.numpy_reference import loss_and_grads

theano = pytest.importorskip("theano")
from harness.backends import theano as theano_backend  # noqa: E402

pytestmark = pytest.mark.slow

STRATEGIES = ["single", "per_param", "per_param_separate"]


def gradients(model, strategy, mode="FAST_RUN", seed=0):
    values = init_params(model, seed)
    x, y = make_batch(model, seed)
    b = theano_backend.backend(model, values, x, y, mode)
    grads = b.construct(strategy)
    functions = b.functions(strategy, grads)
    got = b.executable(strategy, grads, functions)()
    return grads, functions, got, loss_and_grads(model, values, x, y)[1]


count_optimized = theano_backend.SymbolicBackend.count_optimized


def count_unoptimized(grads):
    return len({v.owner for v in theano_backend.LIBRARY.ancestors(grads) if v.owner is not None})


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    "activation, loss, biases",
    [("sigmoid", "softmax_cross_entropy", True), ("tanh", "mse", False), ("relu", "softmax_cross_entropy", False)],
)
def test_strategy_matches_numpy_backward_pass(strategy, activation, loss, biases):
    model = tiny_model(activation=activation, loss=loss, biases=biases)
    _, functions, got, expected = gradients(model, strategy)
    assert len(got) == model.n_params
    assert len(functions) == (model.n_params if strategy == "per_param_separate" else 1)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["FAST_RUN", "FAST_COMPILE", "NO_OPT"])
def test_all_strategies_agree_in_every_mode(mode):
    model = tiny_model(hidden=(4, 4, 3), floatX="float32", activation="tanh")
    results = [gradients(model, s, mode)[2] for s in STRATEGIES]
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("depth", [2, 3])
def test_per_param_graph_is_larger_before_and_equal_after_optimization(depth):
    model = tiny_model(hidden=(4,) * depth)
    single, f_single, _, _ = gradients(model, "single")
    per, f_per, _, _ = gradients(model, "per_param")
    assert count_unoptimized(per) > count_unoptimized(single)
    assert count_optimized(f_per) == count_optimized(f_single)


def test_without_optimizer_per_param_graphs_stay_duplicated():
    model = tiny_model(hidden=(4, 4))
    _, f_single, _, _ = gradients(model, "single", "NO_OPT")
    _, f_per, _, _ = gradients(model, "per_param", "NO_OPT")
    assert count_optimized(f_per) > count_optimized(f_single)


def test_unoptimized_count_is_distinct_nodes_of_all_gradients():
    model = tiny_model(hidden=(4,), biases=False)
    values = init_params(model, 0)
    grads = theano_backend.backend(model, values, *make_batch(model, 0), "FAST_RUN").construct("per_param")
    each = [count_unoptimized([g]) for g in grads]
    together = count_unoptimized(grads)
    # They share the forward pass, so the union is smaller than the sum.
    assert max(each) < together < sum(each)
