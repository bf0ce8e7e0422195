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
from harness.worker.timing import Clock, Recorder, stop_rule, time_phase

_ACT = {
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda a, z: a * (1.0 - a)),
    "tanh": (np.tanh, lambda a, z: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a, z: (z > 0).astype(z.dtype)),
}


def loss_and_grads(
    model: Model, params: list[np.ndarray], x: np.ndarray, y: np.ndarray, dtype: str = "float64"
) -> tuple[float, list[np.ndarray]]:
    """Return the mean loss over the batch and its gradient for every parameter.

    float64 (the default) makes it a reference for checking; the case's own
    floatX makes it a fair timing baseline.
    """
    p = [np.asarray(v, dtype=dtype) for v in params]
    step = 2 if model.biases else 1
    weights = p[0::step]
    biases = p[1::step] if model.biases else [None] * len(weights)
    act, dact = _ACT[model.activation]
    h = np.asarray(x, dtype=dtype)
    inputs, pre, post = [], [], []
    for i, (w, b) in enumerate(zip(weights, biases)):
        inputs.append(h)
        z = h @ w + (b if b is not None else 0.0)
        last = i == len(weights) - 1
        h = z if last else act(z)
        pre.append(z)
        post.append(h)
    n = h.shape[0]
    if model.loss == "softmax_cross_entropy":
        z = h - h.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(n), y].mean()
        delta = np.exp(logp)
        delta[np.arange(n), y] -= 1.0
        delta /= n
    else:
        diff = h - np.asarray(y, dtype=dtype)
        loss = (diff**2).mean()
        delta = 2.0 * diff / diff.size
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


def run(task: dict, clock: Clock, on_phase: Callable[[str], None]) -> dict:
    """The hand-written NumPy pass in the case's floatX, and NumPy's matmul limit."""
    model = Model.from_dict(task["model"])
    values = init_params(model, task["seed"])
    x, y = make_batch(model, task["seed"])
    rec, rule = Recorder(), stop_rule(task)
    warmup, repeats, min_time = task["warmup"]["execute"], task["repeats"]["execute"], task.get("min_time_s", 0.0)

    on_phase("execute")
    call = lambda: loss_and_grads(model, values, x, y, dtype=model.floatX)  # noqa: E731
    time_phase(rec, "execute", call, warmup, repeats, rule, clock, min_time)

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
