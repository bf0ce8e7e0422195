"""The gradient strategies under comparison. Imports Theano: workers only.

Each strategy is three steps, timed separately by the worker:
construct (the symbolic gradients), compile (theano.function) and
execute (evaluate all gradients on a batch).
"""
from __future__ import annotations

import theano
import theano.tensor as T
from theano.compile.profiling import ProfileStats
from theano.graph.basic import ancestors

from harness.config import STRATEGY_PHASES

CONSTRUCT_PHASE = {name: "construct" in phases for name, phases in STRATEGY_PHASES.items()}


def construct(strategy: str, loss, params) -> list:
    """The n gradient variables, built the way the strategy builds them."""
    if strategy == "single":
        return list(T.grad(loss, params))
    # per_param_separate builds its gradients exactly like per_param; it
    # differs only in how they are compiled.
    return [T.grad(loss, p) for p in params]


def compile_functions(strategy: str, inputs, grads, mode, profiles: list | None = None) -> list:
    """One function of all gradients, or n functions of one gradient each.

    With ``profiles`` (a list), each function gets a Theano ProfileStats,
    appended to it, whose optimizer_time and linker_time break compilation down.
    """
    def compile_one(outputs):
        profile = None
        if profiles is not None:
            profile = ProfileStats(atexit_print=False)
            profiles.append(profile)
        return theano.function(inputs, outputs, mode=mode, profile=profile)

    if strategy == "per_param_separate":
        return [compile_one(g) for g in grads]
    return [compile_one(grads)]


def execute(functions, *args) -> list:
    """Evaluate every function once; return the gradients in parameter order."""
    out = []
    for f in functions:
        value = f(*args)
        out.extend(value if isinstance(value, list) else [value])
    return out


def count_unoptimized(grads) -> int:
    """Distinct Apply nodes needed by all the gradient variables together."""
    return len({v.owner for v in ancestors(grads) if v.owner is not None})


def count_optimized(functions) -> int:
    """Apply nodes after compilation, summed over the compiled functions."""
    return sum(len(f.maker.fgraph.apply_nodes) for f in functions)
