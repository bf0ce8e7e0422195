"""Aesara (Theano's fork between Theano-PyMC and PyTensor, 2021-2024), measured as a release of the
lineage. Workers only (imports Aesara).

AESARA_FLAGS (compiledir, floatX, BLAS) are set by the orchestrator before import: Aesara 2.9 cannot find
BLAS by itself with numpy 1.26 (its probe imports numpy.distutils, which fails on Python 3.11). Aesara 2.9
has no ``aesara.tensor.nnet`` any more: the loss is PyTensor's (a log-softmax of elementwise ops and
reductions, a one-hot product picking the labels' log-probabilities), so Aesara builds the graph PyTensor
builds.
"""

from __future__ import annotations

import aesara
import aesara.tensor as at
from aesara.compile.profiling import ProfileStats
from aesara.graph.basic import ancestors

from harness.backends.symbolic import Library, SymbolicBackend, elementwise_loss


def _module_cache():
    from aesara.link.c import cmodule

    return getattr(cmodule, "_module_cache", None)


LIBRARY = Library(
    name="aesara",
    module=aesara,
    tensor=at,
    profile_stats=ProfileStats,
    ancestors=ancestors,
    module_cache=_module_cache,
    activations={"sigmoid": at.sigmoid, "tanh": at.tanh, "relu": lambda z: at.maximum(z, 0)},
    loss=elementwise_loss,
    get_mode=aesara.compile.mode.get_mode,
    flags_variable="AESARA_FLAGS",
)


def backend(model, values, x, y, mode: str, threads: int | None = None, device: str = "cpu") -> SymbolicBackend:
    return SymbolicBackend(LIBRARY, model, values, x, y, mode)
