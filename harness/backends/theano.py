"""Theano-PyMC 1.1.2: the framework gradbench was born on. Workers only (imports Theano).

THEANO_FLAGS (compiledir, floatX, BLAS) must be in the environment before
this module is imported; the orchestrator sets them (see theano_env).
"""

from __future__ import annotations

import theano
import theano.tensor as T
from theano.compile.profiling import ProfileStats
from theano.graph.basic import ancestors

from harness.backends.symbolic import Library, SymbolicBackend


def _module_cache():
    from theano.link.c import cmodule

    return cmodule._module_cache


def _loss(T, h, y, model):
    if model.loss == "softmax_cross_entropy":
        return T.nnet.categorical_crossentropy(T.nnet.softmax(h), y).mean()
    return T.sqr(h - y).mean()


def _mode(name: str):
    if name == "NO_OPT":
        return theano.compile.mode.Mode(linker=theano.config.linker, optimizer=None)
    return theano.compile.mode.get_mode(name)


LIBRARY = Library(
    name="theano",
    module=theano,
    tensor=T,
    profile_stats=ProfileStats,
    ancestors=ancestors,
    module_cache=_module_cache,
    activations={"sigmoid": T.nnet.sigmoid, "tanh": T.tanh, "relu": T.nnet.relu},
    loss=_loss,
    get_mode=_mode,
    flags_variable="THEANO_FLAGS",
)


def warm_worker() -> dict:
    """A worker with a warm compile cache: keep the modules Theano 1.1.2 recompiles in every
    process (see theano_cache_key; untimed work only)."""
    from harness.backends import theano_cache_key

    return {"cache_key_fix": theano_cache_key.apply()}


def backend(model, values, x, y, mode: str, threads: int | None = None, device: str = "cpu") -> SymbolicBackend:
    return SymbolicBackend(LIBRARY, model, values, x, y, mode)
