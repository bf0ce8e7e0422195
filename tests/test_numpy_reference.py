"""The hand-written NumPy backward pass against central finite differences."""

import numpy as np
import pytest
from helpers import tiny_model

from harness.core.data import init_params, make_batch
from harness.worker.numpy_reference import loss_and_grads


def finite_difference(model, params, x, y, eps=1e-6):
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = loss_and_grads(model, params, x, y)[0]
            p[idx] = old - eps
            down = loss_and_grads(model, params, x, y)[0]
            p[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "mse"])
@pytest.mark.parametrize("biases", [True, False])
def test_matches_finite_differences(activation, loss, biases):
    model = tiny_model(activation=activation, loss=loss, biases=biases)
    params = init_params(model, seed=3)
    x, y = make_batch(model, seed=3)
    _, grads = loss_and_grads(model, params, x, y)
    expected = finite_difference(model, params, x, y)
    assert len(grads) == model.n_params
    for g, e in zip(grads, expected):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-8)
    assert any(np.abs(g).max() > 1e-3 for g in grads)  # not trivially zero
