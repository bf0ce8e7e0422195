"""A hand-written NumPy forward and backward pass of the MLP, in float64.

It shares no code with the Theano graph, so it is an independent reference
for every gradient strategy.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from harness.core.data import init_params, make_batch
from harness.core.flops import largest_layer
from harness.core.model import Model
from harness.worker import data_cache
from harness.worker.counting import value_column
from harness.worker.timing import Clock, Recorder, stop_rule, time_phase

_ACT = {
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda a, z: a * (1.0 - a)),
    "tanh": (np.tanh, lambda a, z: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a, z: (z > 0).astype(z.dtype)),
}


def _layers(model: Model, params: list, dtype: str) -> tuple[list, list]:
    p = [np.asarray(v, dtype=dtype) for v in params]
    step = 2 if model.biases else 1
    weights = p[0::step]
    return weights, (p[1::step] if model.biases else [None] * len(weights))


def _forward(model: Model, weights: list, biases: list, x: np.ndarray, dtype: str, keep: bool):
    """The output layer's values, and (``keep``) every layer's input, pre- and post-activation."""
    act = _ACT[model.activation][0]
    h = np.asarray(x, dtype=dtype)
    inputs, pre, post = [], [], []
    for i, (w, b) in enumerate(zip(weights, biases)):
        z = h @ w + (b if b is not None else 0.0)
        if keep:
            inputs.append(h)
            pre.append(z)
        h = z if i == len(weights) - 1 else act(z)
        if keep:
            post.append(h)
    return h, (inputs, pre, post)


def _loss(model: Model, h: np.ndarray, y: np.ndarray, dtype: str) -> tuple[float, np.ndarray]:
    """The mean loss over the batch, and the log-probabilities (softmax) or the differences (squared)."""
    if model.loss == "softmax_cross_entropy":
        z = h - h.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -logp[np.arange(h.shape[0]), y].mean(), logp
    diff = h - np.asarray(y, dtype=dtype)
    return (diff**2).mean(), diff


def loss_only(model: Model, params: list[np.ndarray], x: np.ndarray, y: np.ndarray, dtype: str = "float64") -> float:
    """The mean loss over the batch: the forward pass alone, nothing kept for a backward pass (the
    hand-written primal, and the reference every framework's primal is checked against)."""
    weights, biases = _layers(model, params, dtype)
    h, _ = _forward(model, weights, biases, x, dtype, keep=False)
    return float(_loss(model, h, y, dtype)[0])


def loss_and_grads(
    model: Model, params: list[np.ndarray], x: np.ndarray, y: np.ndarray, dtype: str = "float64"
) -> tuple[float, list[np.ndarray]]:
    """Return the mean loss over the batch and its gradient for every parameter.

    float64 (the default) makes it a reference for checking; the case's own
    floatX makes it a fair timing baseline.
    """
    weights, biases = _layers(model, params, dtype)
    dact = _ACT[model.activation][1]
    h, (inputs, pre, post) = _forward(model, weights, biases, x, dtype, keep=True)
    n = h.shape[0]
    loss, out = _loss(model, h, y, dtype)
    if model.loss == "softmax_cross_entropy":
        delta = np.exp(out)
        delta[np.arange(n), y] -= 1.0
        delta /= n
    else:
        delta = 2.0 * out / out.size
    grads_w, grads_b = [], []
    for i in reversed(range(len(weights))):
        if i < len(weights) - 1:
            delta = delta * dact(post[i], pre[i])
        grads_w.append(inputs[i].T @ delta)
        grads_b.append(delta.sum(axis=0))
        if i > 0:
            delta = delta @ weights[i].T
    grads_w.reverse()
    grads_b.reverse()
    grads = []
    for gw, gb in zip(grads_w, grads_b):
        grads.append(gw)
        if model.biases:
            grads.append(gb)
    return float(loss), grads


def reference_grads(task: dict, model: Model, values, x, y) -> list:
    """The float64 gradients a worker's are checked against: the same in every worker of a case, so
    computed once a run (``data_cache``)."""
    return data_cache.cached("grads", [task["model"], task["seed"]], lambda: loss_and_grads(model, values, x, y)[1])


def run(task: dict, clock: Clock, on_phase: Callable[[str], None]) -> dict:
    """The hand-written NumPy pass in the case's floatX, its forward pass alone, and NumPy's matmul limit."""
    model = Model.from_dict(task["model"])
    values = data_cache.cached("params", [task["model"], task["seed"]], lambda: init_params(model, task["seed"]))
    x, y = make_batch(model, task["seed"])
    rec, rule = Recorder(value_column(task)), stop_rule(task)
    warmup, repeats, min_time = task["warmup"]["execute"], task["repeats"]["execute"], task.get("min_time_s", 0.0)

    on_phase("execute")
    call = lambda: loss_and_grads(model, values, x, y, dtype=model.floatX)  # noqa: E731
    time_phase(rec, "execute", call, warmup, repeats, rule, clock, min_time)

    on_phase("forward")
    forward = lambda: loss_only(model, values, x, y, dtype=model.floatX)  # noqa: E731
    time_phase(rec, "forward", forward, warmup, repeats, rule, clock, min_time)

    on_phase("matmul")
    fan_in, fan_out = largest_layer(model.input, model.hidden, model.output)
    rng = np.random.default_rng(task["seed"])
    a = rng.standard_normal((model.batch, fan_in)).astype(model.floatX)
    b = rng.standard_normal((fan_in, fan_out)).astype(model.floatX)
    time_phase(rec, "matmul", lambda: a @ b, warmup, repeats, rule, clock, min_time)
    return {
        "status": "ok",
        "error": None,
        "measurements": rec.rows,
        "info": {"pid": os.getpid(), "numpy_version": np.__version__, "matmul_shape": [model.batch, fan_in, fan_out]},
    }
