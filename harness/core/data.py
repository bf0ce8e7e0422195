"""Seeded parameters and batches, as NumPy arrays shared by Theano and NumPy code."""

from __future__ import annotations

import numpy as np

from harness.core.model import Model

# Where a run's workers share the arrays every worker of a case computes alike (harness.worker.data_cache):
# set by the orchestrator for the run's duration.
DATA_CACHE_VARIABLE = "GRADCOST_DATA_CACHE"


def init_params(model: Model, seed: int) -> list[np.ndarray]:
    """Glorot-uniform weights and small biases: [W1, b1, W2, b2, ...] (or W only).

    Scaled weights keep sigmoid units out of saturation, so gradients are
    not all zero and a wrong gradient cannot hide behind a vanishing one.
    """
    rng = np.random.default_rng(seed)
    params = []
    sizes = model.layer_sizes
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        params.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(model.floatX))
        if model.biases:
            params.append(rng.uniform(-0.1, 0.1, fan_out).astype(model.floatX))
    return params


def make_batch(model: Model, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed input batch and its targets (class labels, or real targets for MSE)."""
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((model.batch, model.input)).astype(model.floatX)
    if model.loss == "softmax_cross_entropy":
        y = rng.integers(0, model.output, model.batch).astype("int32")
    else:
        y = rng.standard_normal((model.batch, model.output)).astype(model.floatX)
    return x, y


def param_names(model: Model) -> list[str]:
    """w1, b1, w2, b2, ... in the order of :func:`init_params`."""
    names = []
    for i in range(1, len(model.layer_sizes)):
        names.append(f"w{i}")
        if model.biases:
            names.append(f"b{i}")
    return names
