"""The ``run`` section of a config: how each case is measured, validated into :class:`RunSettings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.config.validation import (
    ConfigError,
    _int_at_least,
    check_choice,
    framework_value,
    known_keys,
    mapping,
    positive_int,
)
from harness.core.counting import METRICS
from harness.core.registry import (
    ALL_PHASES,
    ALTERNATE_PHASES,
    AUTO,
    CONFIG_STRATEGIES,
    DEFAULT_BUDGET_S,
    DEFAULT_FRAMEWORK,
    DEFAULT_PRECISION,
    DEVICES,
    PAIRINGS,
    REPEATED_PHASES,
)

CACHES = ("warm", "cold")
CACHE_CHOICES = ("warm", "cold", "both")
RUN_KEYS = (
    "framework",
    "mode",
    "threads",
    "strategies",
    "seed",
    "repeats",
    "warmup",
    "processes",
    "timeout_s",
    "max_memory_mb",
    "cache",
    "min_time_s",
    "order",
    "precision",
    "budget_s",
    "max_processes",
    "process_precision",
    "device",
    "metric",
    "pairing",
    "alternate",
)
ORDERS = ("shuffled", "as_listed")
DEFAULT_REPEATS = {"construct": AUTO, "compile": AUTO, "execute": AUTO}
DEFAULT_PROCESS_PRECISION = 0.05  # extra processes: expected run-to-run change of a median (runner)
DEFAULT_WARMUP = {"construct": 1, "compile": 1, "execute": 1}
DEFAULT_TIMEOUT_S = 900.0  # per phase of a worker
TIMEOUT_KEYS = ("default", "setup", *ALL_PHASES, "check")
DEFAULT_MIN_TIME_S = 0.02  # calibrated loops: one raw timing of construct/execute lasts at least this
# BLAS/OpenMP threads per worker. One by default: on a small machine a second
# BLAS thread competes with everything else that runs, and its timings then
# differ from one process to the next by ~15% (one thread: ~4%).
DEFAULT_THREADS = 1


@dataclass(frozen=True)
class RunSettings:
    """How a case is measured: framework and mode, strategies, repeats, seed."""

    mode: str | None  # None: each framework's default mode
    strategies: tuple[str, ...]
    seed: int
    repeats: dict = field(hash=False)
    warmup: dict = field(hash=False)
    timeouts: dict = field(hash=False)  # phase -> seconds, with a "default"
    max_memory_mb: float | None = None  # None: a share of the memory available at run time
    caches: tuple[str, ...] = ("warm",)
    min_time_s: float = DEFAULT_MIN_TIME_S
    order: str = "shuffled"  # of a case's workers; as_listed only to study order effects
    threads: int = DEFAULT_THREADS  # BLAS/OpenMP threads of each worker (sweepable)
    processes: int = 1  # warm workers per case x strategy, their samples pooled (as pyperf does)
    framework: str = DEFAULT_FRAMEWORK  # NAME or NAME:MODE (sweepable)
    precision: float = DEFAULT_PRECISION
    budget_s: float = DEFAULT_BUDGET_S
    max_processes: int = 0  # more warm workers, up to this, while a median would move too much (0: processes)
    process_precision: float = DEFAULT_PROCESS_PRECISION
    device: str = "cpu"  # cpu | gpu (sweepable); checked against the framework and mode per case
    metric: str = "time"  # time | instructions (counted under callgrind; sweepable)
    # How each within-case ratio is measured (harness.analysis.pairs): none, each strategy's processes on their
    # own; sequential, a process of single and one of the other strategy back to back, in random order; block,
    # in each round one process of single and one of every other strategy back to back, in random order (no
    # worker more than unpaired); duet, a pair at once, one core each. Paired runs add the A/A control
    # (single_aa) in a config's first case.
    pairing: str = "none"
    # Phases each worker of another strategy (and the A/A control) times alternately with single's, in its
    # own process (ABBA): that phase's ratio then comes from those in-process pairs, processes the clusters.
    alternate: tuple[str, ...] = ()

    @property
    def process_limit(self) -> int:
        return max(self.processes, self.max_processes)


def parse_run(raw: dict, source: str) -> RunSettings:
    allowed = CONFIG_STRATEGIES
    strategies = raw.get("strategies", list(allowed))
    if not isinstance(strategies, list) or not strategies:
        raise ConfigError(
            source, "run.strategies", f"must be a non-empty list (got {strategies!r}; allowed {', '.join(allowed)})"
        )
    strategies = tuple(check_choice(s, allowed, source, f"run.strategies[{i}]") for i, s in enumerate(strategies))
    if len(set(strategies)) != len(strategies):
        raise ConfigError(source, "run.strategies", f"lists a strategy twice (got {list(strategies)})")
    if "single" not in strategies:
        raise ConfigError(source, "run.strategies", "must include 'single': every ratio is taken against it")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(source, "run.seed", f"must be a non-negative integer (got {seed!r})")
    cache = check_choice(raw.get("cache", "warm"), CACHE_CHOICES, source, "run.cache")
    processes = positive_int(raw.get("processes", 1), source, "run.processes")
    max_processes = positive_int(raw.get("max_processes", processes), source, "run.max_processes")
    if max_processes < processes:
        raise ConfigError(
            source, "run.max_processes", f"must be at least run.processes ({processes}) (got {max_processes})"
        )
    max_memory = raw.get("max_memory_mb")
    if max_memory is not None:
        max_memory = _positive_number(max_memory, source, "run.max_memory_mb")
    return RunSettings(
        mode=_mode_name(raw.get("mode"), source, "run.mode"),  # checked against the framework per case
        framework=framework_value(raw.get("framework", DEFAULT_FRAMEWORK), source, "run.framework"),
        strategies=strategies,
        seed=seed,
        repeats=_per_phase(raw.get("repeats"), DEFAULT_REPEATS, 1, source, "run.repeats", auto=True),
        warmup=_per_phase(raw.get("warmup"), DEFAULT_WARMUP, 0, source, "run.warmup"),
        timeouts=_parse_timeouts(raw.get("timeout_s", DEFAULT_TIMEOUT_S), source),
        max_memory_mb=max_memory,
        caches=CACHES if cache == "both" else (cache,),
        min_time_s=_positive_number(raw.get("min_time_s", DEFAULT_MIN_TIME_S), source, "run.min_time_s"),
        order=check_choice(raw.get("order", "shuffled"), ORDERS, source, "run.order"),
        threads=positive_int(raw.get("threads", DEFAULT_THREADS), source, "run.threads"),
        processes=processes,
        device=check_choice(raw.get("device", "cpu"), DEVICES, source, "run.device"),
        metric=check_choice(raw.get("metric", "time"), METRICS, source, "run.metric"),
        pairing=check_choice(raw.get("pairing", "none"), PAIRINGS, source, "run.pairing"),
        alternate=_alternate(raw.get("alternate", []), source),
        precision=_fraction(raw.get("precision", DEFAULT_PRECISION), source, "run.precision"),
        budget_s=_positive_number(raw.get("budget_s", DEFAULT_BUDGET_S), source, "run.budget_s"),
        max_processes=max_processes,
        process_precision=_fraction(
            raw.get("process_precision", DEFAULT_PROCESS_PRECISION), source, "run.process_precision"
        ),
    )


def _alternate(raw: Any, source: str) -> tuple[str, ...]:
    """run.alternate: a list of phases from ALTERNATE_PHASES (execute is not one: a process's history
    biases two functions timed side by side, docs/findings.md, "Ratios from pairs")."""
    if not isinstance(raw, list):
        raise ConfigError(
            source, "run.alternate", f"must be a list of phases (got {raw!r}; allowed {', '.join(ALTERNATE_PHASES)})"
        )
    phases = tuple(check_choice(p, ALTERNATE_PHASES, source, f"run.alternate[{i}]") for i, p in enumerate(raw))
    if len(set(phases)) != len(phases):
        raise ConfigError(source, "run.alternate", f"lists a phase twice (got {list(phases)})")
    return phases


def _mode_name(value: Any, source: str, path: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(source, path, f"must be a mode name (got {value!r})")
    return value


def _parse_timeouts(raw: Any, source: str) -> dict:
    """A number (every phase) or a mapping of phase -> seconds."""
    if not isinstance(raw, dict):
        return {"default": _positive_number(raw, source, "run.timeout_s")}
    known_keys(raw, TIMEOUT_KEYS, source, "run.timeout_s.")
    timeouts = {"default": DEFAULT_TIMEOUT_S}
    timeouts.update({k: _positive_number(v, source, f"run.timeout_s.{k}") for k, v in raw.items()})
    return timeouts


def _positive_number(value: Any, source: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
        raise ConfigError(source, path, f"must be a positive number (got {value!r})")
    return float(value)


def _per_phase(raw: Any, default: dict, minimum: int, source: str, path: str, auto: bool = False) -> dict:
    """A count per phase: one number for all, or a mapping; with ``auto``, 'auto' too."""

    def count(value, where):
        if auto and value == AUTO:
            return AUTO
        if auto and isinstance(value, str):
            raise ConfigError(source, where, f"must be an integer >= {minimum} or 'auto' (got {value!r})")
        return _int_at_least(value, minimum, source, where)

    if raw is None:
        return dict(default)
    if not isinstance(raw, dict):
        return {p: count(raw, path) for p in REPEATED_PHASES}
    mapping(raw, source, path)
    known_keys(raw, REPEATED_PHASES, source, path + ".")
    return {p: count(raw.get(p, default[p]), f"{path}.{p}") for p in REPEATED_PHASES}


def _fraction(value: Any, source: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(source, path, f"must be a number between 0 and 1, e.g. 0.02 for ±2% (got {value!r})")
    return float(value)
