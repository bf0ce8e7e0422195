"""JAX: ``jax.grad`` traced to a jaxpr, compiled ahead of time with ``lower().compile()``.

Phases: construct = tracing the gradient function (the primal: the loss) to a jaxpr (``jit(f).trace``);
compile = lowering to StableHLO and XLA's compile (``.lower().compile()``);
first_call and execute call the compiled executable. JAX dispatches
asynchronously, on the CPU too: every call waits for its results
(``block_until_ready``) inside the timed region. Workers only (imports JAX).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from harness.backends import fingerprint
from harness.backends.counting import hlo_instructions
from harness.backends.forward import logits
from harness.backends.sync import ready
from harness.core.model import Model

_ACTIVATIONS = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu}


def _loss_function(model: Model) -> Callable:
    """A new function object each call: JAX caches traces by function identity."""
    act = _ACTIVATIONS[model.activation]

    def loss(params, x, y):
        h = logits(model, params, x, act)
        if model.loss == "softmax_cross_entropy":
            logp = jax.nn.log_softmax(h, axis=1)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
        return jnp.mean((h - y) ** 2)

    return loss


def _gradient_functions(model: Model, strategy: str, n: int) -> list[Callable]:
    """The functions a strategy jits: one returning all n gradients, or n returning one each; for the
    primal, the loss alone."""

    def grad_of(i, loss):
        def grad_i(params, x, y):
            def loss_i(p):
                return loss([*params[:i], p, *params[i + 1 :]], x, y)

            return jax.grad(loss_i)(params[i])

        return grad_i

    if strategy == "primal":
        return [_loss_function(model)]
    if strategy == "single":
        loss = _loss_function(model)
        return [lambda params, x, y: jax.grad(loss)(params, x, y)]
    if strategy == "per_param":  # n gradient calls, compiled together into one function
        loss = _loss_function(model)
        grads = [grad_of(i, loss) for i in range(n)]
        return [lambda params, x, y: [g(params, x, y) for g in grads]]
    return [grad_of(i, _loss_function(model)) for i in range(n)]  # per_param_separate


def _count_equations(jaxpr) -> int:
    """Equations of a jaxpr, with those of the jaxprs inside its equations (pjit, custom_jvp, ...)."""
    total = 0
    for eqn in jaxpr.eqns:
        total += 1
        for value in eqn.params.values():
            for sub in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(sub, "jaxpr", sub)  # ClosedJaxpr -> Jaxpr
                if hasattr(inner, "eqns"):
                    total += _count_equations(inner)
    return total


class JaxBackend:
    def __init__(self, model: Model, values: list, x: np.ndarray, y: np.ndarray, mode: str, device: str = "cpu"):
        self.model = model
        # Parameters and batch live on the device before anything is timed.
        self.device = jax.devices("gpu" if device == "gpu" else "cpu")[0]
        self.params = [jax.device_put(v, self.device) for v in values]
        self.x, self.y = jax.device_put(x, self.device), jax.device_put(y, self.device)
        jax.block_until_ready([self.params, self.x, self.y])

    def construct(self, strategy: str) -> list:
        """Trace the strategy's gradient function(s) to jaxprs (fresh functions: no trace cache)."""
        return [
            jax.jit(f).trace(self.params, self.x, self.y)
            for f in _gradient_functions(self.model, strategy, len(self.params))
        ]

    def compile(self, strategy: str, traced: list, clock) -> tuple[float, list, dict]:
        """Lowering and XLA compilation of a fresh trace (made untimed): lowering the same traced
        object again would be served from JAX's in-memory caches. The persistent cache (warm:
        filled by the worker's warm-up compile) is what a warm compile may use."""
        fresh = self.construct(strategy)
        start = clock()
        compiled = [t.lower().compile() for t in fresh]
        return clock() - start, compiled, {}

    def executable(self, strategy: str, traced: list, compiled: list | None) -> Callable[[], list]:
        if compiled is None:
            compiled = [t.lower().compile() for t in traced]
        params, x, y = self.params, self.x, self.y

        def call():
            out = []
            for c in compiled:
                value = c(params, x, y)
                out.extend(value if isinstance(value, list) else [value])
            return ready(out)  # asynchronous dispatch: wait for the work

        return call

    def to_numpy(self, outputs: list) -> list:
        return [np.asarray(o) for o in outputs]

    def matmul(self, a: np.ndarray, b: np.ndarray, ta: bool, tb: bool) -> Callable[[], list]:
        """One jit-compiled matrix product of device-resident operands (compiled untimed), waited for."""
        A, B = jax.device_put(a, self.device), jax.device_put(b, self.device)
        f = jax.jit(lambda a, b: (a.T if ta else a) @ (b.T if tb else b)).lower(A, B).compile()
        return lambda: ready([f(A, B)])

    def graph(self, strategy: str, traced: list, compiled: list) -> dict:
        return {
            "nodes_unoptimized": sum(_count_equations(t.jaxpr.jaxpr) for t in traced),
            "nodes_optimized": sum(hlo_instructions(c.as_text()) for c in compiled),
            "n_functions": len(compiled),
            "nodes_unoptimized_unit": "jaxpr equations",
            "nodes_optimized_unit": "optimized HLO instructions",
            "fingerprint": fingerprint.combine(
                [fingerprint.digest(fingerprint.canonical_hlo(c.as_text())) for c in compiled]
            ),
            "fingerprint_of": "optimized HLO modules (names numbered, metadata dropped)",
        }

    def info(self) -> dict:
        return {
            "jax_version": jax.__version__,
            "jaxlib_version": getattr(jax.lib, "__version__", None),
            "devices": [str(d) for d in jax.devices()],
            "device": str(self.device),
            "device_kind": self.device.device_kind,
            "matmul_precision": str(jax.config.jax_default_matmul_precision),
            "x64": bool(jax.config.jax_enable_x64),
            "compilation_cache_dir": jax.config.jax_compilation_cache_dir,
        }


def backend(model, values, x, y, mode: str, threads: int | None = None, device: str = "cpu") -> JaxBackend:
    if model.floatX == "float64":
        jax.config.update("jax_enable_x64", True)  # otherwise JAX silently computes in float32
    if device == "gpu":
        # float32 means float32: XLA's default on a GPU multiplies float32 matrices in TF32.
        jax.config.update("jax_default_matmul_precision", "highest")
    return JaxBackend(model, values, x, y, mode, device)
