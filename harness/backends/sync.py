"""Waiting for results: frameworks that dispatch asynchronously return before the work is done."""

from __future__ import annotations

from typing import Callable


def ready(outputs: list) -> list:
    """Block until every output that can say so is computed (JAX arrays: ``block_until_ready``).

    JAX, and PyTensor's JAX backend, return arrays whose computation may still
    run, on the CPU too; a timed region that did not wait would time a launch.
    NumPy arrays and PyTorch CPU tensors are ready when returned.
    """
    for o in outputs:
        wait = getattr(o, "block_until_ready", None)
        if wait is not None:
            wait()
    return outputs


def then_wait(call: Callable[[], list], wait: Callable[[], None]) -> Callable[[], list]:
    """``call`` followed by ``wait`` (a device synchronisation), as one call: whoever times the
    returned function times the wait too (PyTorch's CUDA kernels run after the call returns)."""

    def run():
        out = call()
        wait()
        return out

    return run
