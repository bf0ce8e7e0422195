"""What crosses the process boundary: a worker's task and its result, as typed data to and from JSON.

The orchestrator builds a ``Task`` and writes ``task.to_json()``; the worker reads it back with
``Task.from_json`` (unknown fields are refused: a parent and a child of two gradcost versions must not
silently disagree) and answers with a ``Result``, read back by the parent with ``Result.from_json``.
Standard library only: both sides, every Python from 3.7.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from harness.core.registry import DEFAULT_BUDGET_S, DEFAULT_FRAMEWORK, DEFAULT_PRECISION

KINDS = ("gradient", "paired", "naive")  # one strategy of a case; the two side experiments' workers
STATUSES = ("ok", "failed", "skipped")  # what a worker can answer (the parent adds "expected failure")


def _known(cls, data: dict, what: str) -> dict:
    if not isinstance(data, dict):
        raise ValueError(f"a {what} must be a JSON object (got {type(data).__name__})")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(
            f"unknown {what} field(s) {', '.join(unknown)}: a parent and a worker of two gradcost versions?"
        )
    return data


@dataclass(frozen=True)
class Task:
    """One worker's work. ``kind`` picks the measurement; a gradient task measures ``strategy`` of one case."""

    kind: str = "gradient"
    model: dict = field(default_factory=dict)  # harness.core.model.Model as a dict
    config: str = ""
    case: str = ""
    framework: str = DEFAULT_FRAMEWORK
    mode: str = "FAST_RUN"
    threads: int = 1
    device: str = "cpu"
    metric: str = "time"  # time | instructions (counted under callgrind: harness.worker.counting)
    strategy: str = "single"
    cache: str = "warm"  # warm | cold (an empty compile cache of its own)
    seed: int = 0
    repeats: Any = field(default_factory=dict)  # phase -> a count or "auto" (paired: unused)
    warmup: Any = field(default_factory=dict)  # phase -> untimed calls first (paired: one integer)
    min_time_s: float = 0.0
    precision: float = DEFAULT_PRECISION
    budget_s: float = DEFAULT_BUDGET_S
    limit: bool = False  # also time the framework's matrix products (limits.csv)
    fault: dict | None = None  # fault injection for the tests: {"perturb_gradient": 0.01}
    pairs: int = 0  # paired: alternating pairs to time
    alternate: list = field(default_factory=list)  # phases timed alternately with single's (run.alternate)
    order: list = field(default_factory=list)  # naive: the strategies, in the order compiled

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown task kind {self.kind!r} ({', '.join(KINDS)})")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Task:
        data = _known(cls, data, "task")
        if data.get("kind", "gradient") not in KINDS:
            raise ValueError(f"unknown task kind {data['kind']!r} ({', '.join(KINDS)})")
        return cls(**data)


@dataclass
class Result:
    """A worker's answer: its status, its rows (measurements.csv, one per timed call) and its evidence."""

    status: str
    error: str | None = None
    measurements: list = field(default_factory=list)
    info: dict = field(default_factory=dict)  # pid, versions, threads, cores, backend settings
    check: dict = field(default_factory=dict)  # relative errors: vs_numpy, vs_single
    graph: dict | None = None  # graphs.csv: node counts, fingerprint
    limits: list = field(default_factory=list)  # limits.csv rows
    traceback: str | None = None  # a failed worker's, where it raised
    fingerprints: dict | None = None  # paired: each strategy's compiled function

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown worker status {self.status!r} ({', '.join(STATUSES)})")

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict) -> Result:
        return cls(**_known(cls, data, "result"))
