"""A case: one network to measure in one framework, mode and device, as plain data for a worker."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from harness.core.model import Model


@dataclass(frozen=True)
class Case:
    """One network to measure, with everything a worker needs as plain data."""

    config: str
    name: str
    model: Model
    mode: str
    threads: int = 1  # BLAS/OpenMP threads of the worker
    framework: str = "theano"
    device: str = "cpu"  # cpu | gpu (JAX, PyTorch, PyTensor's JAX mode)
    metric: str = "time"  # time (seconds) | instructions (counted under callgrind)
    # The framework's release (None: not known yet) and the environment that holds it (None: the
    # framework's own, which holds its default release): harness.config.releases.
    version: str | None = None
    environment: str | None = None

    @property
    def env_name(self) -> str:
        """The environment its workers run in: the framework's own, or a release's (theano-0.7.0)."""
        return self.environment or self.framework

    def columns(self) -> dict:
        """The case's parameters as tidy-CSV columns (same set for every case)."""
        m = self.model
        uniform = len(set(m.hidden)) == 1
        return {
            "input": m.input,
            "hidden": "-".join(map(str, m.hidden)),
            "depth": m.depth,
            "width": m.hidden[0] if uniform else None,
            "output": m.output,
            "activation": m.activation,
            "loss": m.loss,
            "biases": m.biases,
            "floatX": m.floatX,
            "batch": m.batch,
            "framework": self.framework,
            "framework_version": self.version,
            "mode": self.mode,
            "device": self.device,
            "threads": self.threads,
            "n_params": m.n_params,
            "metric": self.metric,
        }


PARAM_COLUMNS = (
    "input",
    "hidden",
    "depth",
    "width",
    "output",
    "activation",
    "loss",
    "biases",
    "floatX",
    "batch",
    "framework",
    "framework_version",
    "mode",
    "device",
    "threads",
    "n_params",
    "metric",
)


def label(keys, values) -> str:
    return ",".join(f"{k}={format_value(v)}" for k, v in zip(keys, values))


def case_label(assignment: dict) -> str:
    """A case's name from its swept values, in sweep order (as expand names it)."""
    return label(list(assignment), list(assignment.values()))


def format_value(v) -> str:
    return "-".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)


def sweep_lines(sweep: dict):
    """For each swept key, and each assignment of the other swept keys: (key, {other key: value},
    [(value, case name)]): the cases along one line of the sweep, as ``expand`` names them."""
    for key, values in sweep.items():
        others = [k for k in sweep if k != key]
        for combo in itertools.product(*(sweep[k] for k in others)):
            fixed = dict(zip(others, combo))
            yield key, fixed, [(v, case_label({k: ({**fixed, key: v})[k] for k in sweep})) for v in values]
