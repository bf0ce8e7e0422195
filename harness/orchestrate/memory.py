"""Estimate a case's memory before anything is allocated, and what is available."""

from __future__ import annotations

from pathlib import Path

from harness.core.model import Model

ITEMSIZE = {"float32": 4, "float64": 8}
# Python, NumPy, Theano and its compiled modules in one worker (measured: ~250 MB).
PROCESS_OVERHEAD_MB = 400
# Share of MemAvailable a case may use when the config sets no limit.
DEFAULT_SHARE = 0.8


def estimate_mb(model: Model, strategy: str) -> float:
    """Peak memory of one worker, roughly, in MiB.

    Counts parameter values, the NumPy reference's float64 copy, gradients
    (twice: Theano's output and the reference's), and per layer the batch's
    pre-activation, activation and backward delta. per_param_separate keeps
    one set of intermediates per compiled function.
    """
    sizes = model.layer_sizes
    n_weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    n_biases = sum(sizes[1:]) if model.biases else 0
    n_params = n_weights + n_biases
    n_acts = model.batch * sum(sizes)
    item = ITEMSIZE[model.floatX]
    functions = model.n_params if strategy == "per_param_separate" else 1
    total = (
        n_params * item  # parameter values (shared variables)
        + n_params * 8 * 2  # reference: float64 copy and its gradients
        + n_params * item * 2  # gradients returned, and the single check
        + n_acts * item * 3 * functions  # forward and backward intermediates
        + n_acts * 8 * 3
    )  # reference pass intermediates
    return total / 2**20 + PROCESS_OVERHEAD_MB


def available_mb() -> float | None:
    """MemAvailable from /proc/meminfo in MiB (None where it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def limit_mb(configured: float | None) -> float | None:
    """The configured limit, else a share of what is available now."""
    if configured is not None:
        return configured
    available = available_mb()
    return available * DEFAULT_SHARE if available is not None else None
