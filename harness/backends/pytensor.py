"""PyTensor (Theano's descendant, under PyMC). Workers only (imports PyTensor).

PYTENSOR_FLAGS (compiledir, floatX, BLAS) are set by the orchestrator before
import. Two things this MLP needs for PyTensor's ``C`` mode, found by running it:
BLAS ldflags (without them ``Dot22.c_code`` raises NotImplementedError, and
pip's PyTensor finds no BLAS by itself), and a log-softmax written with
elementwise ops and reductions: PyTensor 3's ``Softmax``/``LogSoftmax`` are
Python-only symbolic ops with no C code, which ``CVM`` runs through its Python
fallback and the pure C linker cannot (advanced indexing of the log-probabilities
has no C code either: a one-hot product picks them). Every mode gets the same
graph. PyTensor's ``PYTORCH`` mode (3.0.7 and 3.3.7) fails on this MLP: the gradient of a
broadcast addition (a bias added to every row) hands ``scalar_from_tensor`` a
Python bool (``TypeError: 'bool' object is not subscriptable``); the gradient of
``max`` fails the same way, and so does the loss alone (the ``primal``). gradcost
records those workers as expected failures (``core.registry``).
"""

from __future__ import annotations

import pytensor
import pytensor.tensor as pt

try:
    from pytensor.compile.debug.profiling import ProfileStats
except ImportError:  # PyTensor 2
    from pytensor.compile.profiling import ProfileStats

from harness.backends.symbolic import Library, SymbolicBackend, elementwise_loss

try:
    from pytensor.graph.traversal import ancestors
except ImportError:  # older PyTensor
    from pytensor.graph.basic import ancestors


def _module_cache():
    from pytensor.link.c import cmodule

    return getattr(cmodule, "_module_cache", None)


def _mode(name: str):
    """A predefined mode; PyTensor 2 has no ``CVM`` by name: its ``FAST_RUN`` is the C VM with all rewrites."""
    try:
        return pytensor.compile.mode.get_mode(name)
    except Exception:
        if name != "CVM":
            raise
        return pytensor.compile.mode.get_mode("FAST_RUN")


LIBRARY = Library(
    name="pytensor",
    module=pytensor,
    tensor=pt,
    profile_stats=ProfileStats,
    ancestors=ancestors,
    module_cache=_module_cache,
    activations={"sigmoid": pt.sigmoid, "tanh": pt.tanh, "relu": lambda z: pt.maximum(z, 0)},
    loss=elementwise_loss,
    get_mode=_mode,
    flags_variable="PYTENSOR_FLAGS",
)


def backend(model, values, x, y, mode: str, threads: int | None = None, device: str = "cpu") -> SymbolicBackend:
    if mode == "C" and not pytensor.config.blas__ldflags:
        raise RuntimeError(
            "PyTensor mode C needs BLAS: blas__ldflags is empty (install libopenblas-dev; "
            "without BLAS, Dot22 has no C code and the C linker has no Python fallback)"
        )
    # device: gpu (JAX mode only) is JAX_PLATFORMS=cuda in the worker's environment; the shared
    # variables stay NumPy arrays on the host and are copied to the device at every call.
    return SymbolicBackend(LIBRARY, model, values, x, y, mode)
