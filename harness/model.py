"""Build the MLP and its loss as a Theano graph. Imports Theano: workers only."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import theano
import theano.tensor as T

from harness.config import Model
from harness.data import param_names

_ACTIVATIONS = {"sigmoid": T.nnet.sigmoid, "tanh": T.tanh, "relu": T.nnet.relu}


@dataclass
class Graph:
    """Symbolic inputs, shared parameters and the scalar loss of one MLP."""
    x: T.TensorVariable
    y: T.TensorVariable
    params: list
    loss: T.TensorVariable

    @property
    def inputs(self) -> list:
        return [self.x, self.y]


def build(model: Model, values: list[np.ndarray]) -> Graph:
    """The MLP from ``values`` ([W1, b1, ...] as from data.init_params)."""
    x = T.matrix("x", dtype=model.floatX)
    if model.loss == "softmax_cross_entropy":
        y = T.ivector("y")
    else:
        y = T.matrix("y", dtype=model.floatX)
    params = [theano.shared(v, name=n, borrow=True) for v, n in zip(values, param_names(model))]
    step = 2 if model.biases else 1
    act = _ACTIVATIONS[model.activation]
    h = x
    n_layers = len(model.layer_sizes) - 1
    for i in range(n_layers):
        z = T.dot(h, params[i * step])
        if model.biases:
            z = z + params[i * step + 1]
        h = z if i == n_layers - 1 else act(z)
    if model.loss == "softmax_cross_entropy":
        loss = T.nnet.categorical_crossentropy(T.nnet.softmax(h), y).mean()
    else:
        loss = T.sqr(h - y).mean()
    return Graph(x=x, y=y, params=params, loss=loss)


def compile_mode(name: str):
    """A Theano Mode for the config's optimizer mode name."""
    if name == "NO_OPT":
        return theano.compile.mode.Mode(linker=theano.config.linker, optimizer=None)
    return theano.compile.mode.get_mode(name)
