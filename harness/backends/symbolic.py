"""What Theano and PyTensor share: symbolic graphs, ``grad``, ``function``, Apply nodes.

PyTensor is Theano's descendant and keeps its API, so both frameworks are
this one class, given a :class:`Library` that names their modules and the few
ops that differ (see ``theano.py`` and ``pytensor.py``). Imports nothing
itself: the library's module does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from harness.backends import fingerprint
from harness.backends.sync import ready
from harness.core.data import param_names
from harness.core.model import Model


@dataclass(frozen=True)
class Library:
    """One Theano-like framework's modules and ops."""

    name: str
    module: Any  # theano or pytensor
    tensor: Any  # theano.tensor or pytensor.tensor
    profile_stats: type  # ProfileStats: optimizer_time and linker_time of a compile
    ancestors: Callable  # graph ancestors of a list of variables
    module_cache: Callable  # () -> the C module cache (or None)
    activations: dict  # name -> elementwise op
    loss: Callable  # (tensor, logits, y, model) -> scalar loss
    get_mode: Callable  # mode name -> Mode
    flags_variable: str  # THEANO_FLAGS or PYTENSOR_FLAGS


def elementwise_loss(T, h, y, model):
    """The loss written with elementwise ops and reductions (PyTensor's and Aesara's): a log-softmax, and a
    one-hot product that picks the labels' log-probabilities (see harness.backends.pytensor for why)."""
    if model.loss == "softmax_cross_entropy":
        z = h - T.max(h, axis=1, keepdims=True)
        logp = z - T.log(T.sum(T.exp(z), axis=1, keepdims=True))
        onehot = T.eq(y[:, None], T.arange(model.output)[None, :])
        return -T.mean(T.sum(logp * onehot, axis=1))
    return T.mean(T.sqr(h - y))


class SymbolicBackend:
    """One MLP as a graph of shared parameters, and the strategies' gradients of it."""

    def __init__(self, lib: Library, model: Model, values: list, x: np.ndarray, y: np.ndarray, mode: str):
        self.lib, self.model, self.x, self.y = lib, model, x, y
        T = lib.tensor
        self.xv = T.matrix("x", dtype=model.floatX)
        self.yv = T.ivector("y") if model.loss == "softmax_cross_entropy" else T.matrix("y", dtype=model.floatX)
        self.params = [lib.module.shared(v, name=n, borrow=True) for v, n in zip(values, param_names(model))]
        step = 2 if model.biases else 1
        act = lib.activations[model.activation]
        h, n_layers = self.xv, len(model.layer_sizes) - 1
        for i in range(n_layers):
            z = T.dot(h, self.params[i * step])
            if model.biases:
                z = z + self.params[i * step + 1]
            h = z if i == n_layers - 1 else act(z)
        self.loss = lib.loss(T, h, self.yv, model)
        self.mode = lib.get_mode(mode)

    @property
    def inputs(self) -> list:
        return [self.xv, self.yv]

    def construct(self, strategy: str) -> list:
        """The n gradient variables: one grad call over all parameters, or one per parameter; for the
        primal, the loss (built with the model: there is nothing more to construct)."""
        if strategy == "primal":
            return [self.loss]
        grad = self.lib.module.grad
        if strategy == "single":
            return list(grad(self.loss, self.params))
        # per_param_separate builds its gradients exactly like per_param.
        return [grad(self.loss, p) for p in self.params]

    def functions(self, strategy: str, grads: list, profiles: list | None = None) -> list:
        """One function of all gradients (or of the loss alone), or n functions of one gradient each (untimed).

        With ``profiles`` (a list), each function gets a ProfileStats, appended to it.
        """

        def compile_one(outputs):
            profile = None
            if profiles is not None:
                profile = self.lib.profile_stats(atexit_print=False)
                profiles.append(profile)
            return self.lib.module.function(self.inputs, outputs, mode=self.mode, profile=profile)

        if strategy == "per_param_separate":
            return [compile_one(g) for g in grads]
        return [compile_one(grads)]

    def compile(self, strategy: str, grads: list, clock) -> tuple[float, list, dict]:
        """``function`` of the gradients, timed alone; the profile's break-down and C module counts."""
        profiles, before = [], self.c_stats()
        start = clock()  # only function() is inside the timed region
        functions = self.functions(strategy, grads, profiles)
        elapsed = clock() - start
        after = self.c_stats()
        return (
            elapsed,
            functions,
            {
                # Theano's optimizer_time is PyTensor 3's rewriting_time.
                "optimizer_seconds": sum(
                    p.optimizer_time if hasattr(p, "optimizer_time") else p.rewriting_time for p in profiles
                ),
                "linker_seconds": sum(p.linker_time for p in profiles),
                # Evidence of the cache state: C modules built, and loaded from disk.
                "c_compiled": after[2] - before[2],
                "c_loaded": after[1] - before[1],
            },
        )

    def executable(self, strategy: str, grads: list, compiled: list | None) -> Callable[[], list]:
        """A call that evaluates every gradient once. Profiled functions time every op when
        called, so what is executed is an unprofiled compile of the same gradients."""
        functions = self.functions(strategy, grads)
        x, y = self.x, self.y

        def call():
            out = []
            for f in functions:
                value = f(x, y)
                out.extend(value if isinstance(value, list) else [value])
            return ready(out)  # PyTensor's JAX mode returns JAX arrays still being computed

        return call

    def to_numpy(self, outputs: list) -> list:
        return [np.asarray(o) for o in outputs]

    def transfer(self) -> Callable[[], list]:
        """What PyTensor's JAX backend does with the parameters at every call: copy them from the
        host (shared variables hold NumPy arrays) to JAX's default device, and wait."""
        import jax

        values = [p.get_value(borrow=True) for p in self.params]
        return lambda: ready([jax.device_put(v) for v in values])

    def matmul(self, a: np.ndarray, b: np.ndarray, ta: bool, tb: bool) -> Callable[[], list]:
        """A compiled function of one matrix product of shared operands, in the case's mode: the
        Dot22/Gemm (and BLAS) the gradient's own products go through (compiled untimed)."""
        A, B = (self.lib.module.shared(v, borrow=True) for v in (a, b))
        f = self.lib.module.function([], self.lib.tensor.dot(A.T if ta else A, B.T if tb else B), mode=self.mode)
        return lambda: ready([f()])

    def count_unoptimized(self, grads: list) -> int:
        """Distinct Apply nodes needed by all the gradient variables together."""
        return len({v.owner for v in self.lib.ancestors(grads) if v.owner is not None})

    @staticmethod
    def count_optimized(functions: list) -> int:
        """Apply nodes after compilation, summed over the compiled functions."""
        return sum(len(f.maker.fgraph.apply_nodes) for f in functions)

    @staticmethod
    def structure(function) -> tuple:
        """A compiled function's graph as plain data: per Apply node in topological order, its op
        (type and parameters), where each input comes from, and its outputs' types.

        Inputs and shared parameters are referred to by name (x, y, w1, b1, ...),
        constants by dtype, shape and a digest of their data, other variables by
        (node, output) position: no memory address or made-up name enters.
        """
        fgraph = function.maker.fgraph
        where = {}
        for i, v in enumerate(fgraph.inputs):
            where[v] = ("input", v.name if v.name else i)
        nodes = []
        for n, node in enumerate(fgraph.toposort()):
            refs = []
            for v in node.inputs:
                if v in where:
                    refs.append(where[v])
                elif hasattr(v, "data"):  # a constant
                    data = np.asarray(v.data)
                    refs.append(("constant", str(data.dtype), data.shape, fingerprint.digest(data.tobytes())))
                else:
                    refs.append(("unknown", str(v.type)))
            op = node.op
            props = tuple((p, fingerprint.without_addresses(str(getattr(op, p)))) for p in getattr(op, "__props__", ()))
            nodes.append(
                (
                    type(op).__name__,
                    props or fingerprint.without_addresses(str(op)),
                    tuple(refs),
                    tuple(str(o.type) for o in node.outputs),
                )
            )
            for k, o in enumerate(node.outputs):
                where[o] = (n, k)
        return tuple(nodes), tuple(where.get(o, ("unknown", str(o.type))) for o in fgraph.outputs)

    def graph(self, strategy: str, grads: list, compiled: list) -> dict:
        """Apply nodes before rewriting (distinct, over all gradients) and after (summed over functions),
        and the fingerprint of the compiled functions."""
        return {
            "nodes_unoptimized": self.count_unoptimized(grads),
            "nodes_optimized": self.count_optimized(compiled),
            "n_functions": len(compiled),
            "nodes_unoptimized_unit": "Apply nodes",
            "nodes_optimized_unit": "Apply nodes after rewriting",
            "fingerprint": fingerprint.combine([fingerprint.digest(self.structure(f)) for f in compiled]),
            "fingerprint_of": f"compiled {self.lib.name} function graphs (ops, parameters, types, edges)",
        }

    def c_stats(self) -> list[int]:
        """The C module cache's counters: [reused in memory, loaded from disk, compiled]."""
        cache = self.lib.module_cache()
        return list(cache.stats) if cache is not None else [0, 0, 0]

    def info(self) -> dict:
        config = self.lib.module.config
        return {
            f"{self.lib.name}_version": self.lib.module.__version__,
            "flags": os.environ.get(self.lib.flags_variable, ""),
            # Theano up to 1.0 nests its flags (config.blas.ldflags).
            "blas_ldflags": config.blas.ldflags if hasattr(config, "blas") else config.blas__ldflags,
            "compiledir": str(config.compiledir),
            "linker": getattr(self.mode, "linker", None).__class__.__name__,
            "pythonhashseed": os.environ.get("PYTHONHASHSEED"),
        }
