"""A hand-written NumPy forward and backward pass of the MLP, in float64.

It shares no code with the Theano graph, so it is an independent reference
for every gradient strategy.
"""
from __future__ import annotations

import numpy as np

from harness.core.model import Model

_ACT = {
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda a, z: a * (1.0 - a)),
    "tanh": (np.tanh, lambda a, z: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a, z: (z > 0).astype(z.dtype)),
}


def loss_and_grads(model: Model, params: list[np.ndarray], x: np.ndarray,
                   y: np.ndarray, dtype: str = "float64") -> tuple[float, list[np.ndarray]]:
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
        loss = (diff ** 2).mean()
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
