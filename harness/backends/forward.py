"""The MLP's forward pass over any array type with ``@`` and ``+`` (JAX arrays, PyTorch tensors)."""

from __future__ import annotations

from typing import Callable

from harness.core.model import Model


def logits(model: Model, params: list, x, activation: Callable):
    """The output layer's pre-activation: activation on every hidden layer, none on the last."""
    step = 2 if model.biases else 1
    n_layers = len(model.layer_sizes) - 1
    h = x
    for i in range(n_layers):
        z = h @ params[i * step]
        if model.biases:
            z = z + params[i * step + 1]
        h = z if i == n_layers - 1 else activation(z)
    return h
