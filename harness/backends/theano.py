"""Theano: Theano-PyMC 1.1.2, the framework gradcost was born on, and Theano's releases from 0.7.0
(2015) to 1.0.5 (2020) for the lineage. Workers only (imports Theano).

THEANO_FLAGS (compiledir, floatX, BLAS) must be in the environment before
this module is imported; the orchestrator sets them (see theano_env). What differs between releases,
found by running each: Theano up to 1.0.x keeps its graph and C modules under ``theano.gof``
(Theano-PyMC 1.1 moved them to ``theano.graph`` and ``theano.link.c``), and Theano 0.7.0 has no
``T.nnet.relu`` (an elementwise maximum stands in).
"""

from __future__ import annotations

import theano
import theano.tensor as T
from theano.compile.profiling import ProfileStats

try:  # Theano-PyMC 1.1
    from theano.graph.basic import ancestors
except ImportError:  # Theano 0.x and 1.0
    from theano.gof.graph import ancestors

from harness.backends.symbolic import Library, SymbolicBackend


def _module_cache():
    try:
        from theano.link.c import cmodule
    except ImportError:  # Theano 0.x and 1.0
        from theano.gof import cmodule
    return getattr(cmodule, "_module_cache", None)


def _loss(T, h, y, model):
    if model.loss == "softmax_cross_entropy":
        return T.nnet.categorical_crossentropy(T.nnet.softmax(h), y).mean()
    return T.sqr(h - y).mean()


def _relu(z):  # Theano 0.7.0 has no T.nnet.relu
    return T.maximum(z, 0)


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
    activations={
        "sigmoid": T.nnet.sigmoid,
        "tanh": T.tanh,
        "relu": getattr(T.nnet, "relu", None) or _relu,
    },
    loss=_loss,
    get_mode=_mode,
    flags_variable="THEANO_FLAGS",
)


def warm_worker() -> dict:
    """A worker with a warm compile cache: keep the modules Theano-PyMC 1.1.2 recompiles in every
    process (see theano_cache_key; untimed work only). Older releases are measured as they are."""
    from harness.backends import theano_cache_key

    try:
        import theano.link.c.basic  # noqa: F401  (Theano-PyMC 1.1's layout)
    except ImportError:
        return {"cache_key_fix": False}
    return {"cache_key_fix": theano_cache_key.apply()}


def backend(model, values, x, y, mode: str, threads: int | None = None, device: str = "cpu") -> SymbolicBackend:
    return SymbolicBackend(LIBRARY, model, values, x, y, mode)
