"""One module per framework, each behind the same small interface (``Backend``).

``harness.backends.NAME.backend(model, values, x, y, mode, threads, device)``
returns a ``Backend``; the worker loads the module by name (``load``), so a
framework is imported only in a worker of its own environment. What the
frameworks are (modes, phases, environments) is plain data in
``harness.core.registry``. Backends import ``harness.core`` and their own
framework only: they run on every Python a measured release needs.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

try:  # Python 3.8+; on 3.7 the interface is documentation only
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore[assignment,misc]


class Backend(Protocol):
    """What a worker asks of a framework for one case (model, data, mode, threads, device).

    A strategy's *graph* is what ``construct`` returns (symbolic gradients, traced
    functions or losses); ``compile`` turns it into functions; ``executable``
    gives the call that ``execute`` times, returning the gradients as the
    framework holds them (``to_numpy`` converts them for the checks).
    """

    def construct(self, strategy: str) -> list: ...

    def compile(self, strategy: str, graph: list, clock: Callable[[], float]) -> tuple[float, Any, dict]:
        """(seconds between the backend's two ``clock()`` readings, compiled functions, extra columns)."""

    def executable(self, strategy: str, graph: list, compiled: Any) -> Callable[[], list]: ...

    def to_numpy(self, outputs: list) -> list[Any]: ...

    def matmul(self, a: Any, b: Any, ta: bool, tb: bool) -> Callable[[], list]: ...

    def graph(self, strategy: str, graph: list, compiled: Any) -> dict:
        """graphs.csv columns: node counts, the functions' fingerprint."""

    def info(self) -> dict:
        """Versions and settings for workers.csv's backend_info."""


# Optional members, asked with hasattr: ``transfer()`` (modes that copy the parameters to the
# device at every call), ``forget_compiled()`` (lazy modes: drop in-memory compiled state),
# ``c_stats()`` (Theano's C modules), and the module-level ``warm_worker()``.


def load(name: str):
    """The framework's module, imported now (this is the worker's framework import)."""
    return importlib.import_module(f"harness.backends.{name}")
