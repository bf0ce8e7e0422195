"""Load and validate YAML benchmark configs into frozen dataclasses.

A config describes one MLP (the ``model`` section), how to measure it (the
``run`` section) and optionally a ``sweep``: a cartesian product over model
fields or the optimizer mode. Everything is checked here, once, so the rest of
the harness can trust what it receives. YAML is only read with a safe loader.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness.config.cases import expand
from harness.config.validation import (ConfigError, check_choice, framework_value, positive_int,
                                       _int_at_least)
from harness.core.registry import (ALL_PHASES, AUTO, DEFAULT_BUDGET_S, DEFAULT_FRAMEWORK, DEFAULT_PRECISION, DEVICES,
                                    REPEATED_PHASES, STRATEGIES)

CACHES = ("warm", "cold")
CACHE_CHOICES = ("warm", "cold", "both")

MODEL_KEYS = ("input", "hidden", "depth", "width", "output", "activation",
              "loss", "biases", "floatX", "batch")
RUN_KEYS = ("framework", "mode", "threads", "strategies", "seed", "repeats", "warmup", "processes", "timeout_s",
            "max_memory_mb", "cache", "min_time_s", "order", "precision", "budget_s", "max_processes",
            "process_precision", "device")
ORDERS = ("shuffled", "as_listed")
TOP_KEYS = ("name", "description", "model", "run", "sweep")
SWEEPABLE = MODEL_KEYS + ("framework", "mode", "threads", "device")

DEFAULT_MODEL = {"activation": "sigmoid", "loss": "softmax_cross_entropy",
                 "biases": True, "floatX": "float64", "batch": 32}
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

    @property
    def process_limit(self) -> int:
        return max(self.processes, self.max_processes)


@dataclass(frozen=True)
class Config:
    """A validated config file: a base model, run settings and a sweep."""
    name: str
    description: str
    source: str
    model: dict = field(hash=False)       # validated raw model fields (before sweep)
    run: RunSettings = None
    sweep: dict = field(default_factory=dict, hash=False)  # key -> tuple of values

    def as_dict(self) -> dict:
        return {"name": self.name, "description": self.description,
                "source": self.source, "model": dict(self.model),
                "run": {**({"mode": self.run.mode} if self.run.mode else {}),
                        "framework": self.run.framework, "threads": self.run.threads, "strategies": list(self.run.strategies),
                        "seed": self.run.seed, "repeats": dict(self.run.repeats),
                        "warmup": dict(self.run.warmup), "processes": self.run.processes,
                        "timeout_s": dict(self.run.timeouts),
                        **({"max_memory_mb": self.run.max_memory_mb} if self.run.max_memory_mb else {}),
                        "cache": "both" if len(self.run.caches) == 2 else self.run.caches[0],
                        "min_time_s": self.run.min_time_s, "order": self.run.order,
                        "precision": self.run.precision, "budget_s": self.run.budget_s,
                        "max_processes": self.run.process_limit,
                        "process_precision": self.run.process_precision, "device": self.run.device},
                # No sweep is no key: an empty sweep is an error in a file a user writes.
                **({"sweep": {k: list(v) for k, v in self.sweep.items()}} if self.sweep else {})}


def load_config(path: str | Path) -> Config:
    """Read one YAML file and return a validated :class:`Config`."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, "", f"not a UTF-8 text file (byte {exc.start}: {exc.reason})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and cmark:
            problem += f" ({context} that starts at line {cmark.line + 1})"
        raise ConfigError(source, "", f"invalid YAML{where}: {problem}") from None
    return parse_config(data, source=source, default_name=path.stem)


def parse_config(data: Any, source: str = "<config>", default_name: str = "config") -> Config:
    """Validate an already-parsed YAML document."""
    if data is None:
        raise ConfigError(source, "", "file is empty (expected a mapping with a 'model' section)")
    _mapping(data, source, "(top level)")
    _known_keys(data, TOP_KEYS, source, "")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name or any(c in name for c in "/\\ ,"):
        raise ConfigError(source, "name", f"must be a non-empty string without spaces, commas or slashes (got {name!r})")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(source, "description", f"must be a string (got {type(description).__name__})")
    if "model" not in data:
        raise ConfigError(source, "model", "missing (a mapping with at least input, output and hidden or depth/width)")
    model = _mapping(data["model"], source, "model")
    _known_keys(model, MODEL_KEYS, source, "model.")
    run_raw = data.get("run", {}) if data.get("run") is not None else {}
    _mapping(run_raw, source, "run")
    _known_keys(run_raw, RUN_KEYS, source, "run.")
    sweep = _parse_sweep(data.get("sweep"), source)
    model = {**DEFAULT_MODEL, **model}
    run = _parse_run(run_raw, source)
    config = Config(name=name, description=description, source=source,
                    model=model, run=run, sweep=sweep)
    expand(config)  # validate every case now, so errors surface before anything runs
    return config


def _parse_run(raw: dict, source: str) -> RunSettings:
    strategies = raw.get("strategies", list(STRATEGIES))
    if not isinstance(strategies, list) or not strategies:
        raise ConfigError(source, "run.strategies", f"must be a non-empty list (got {strategies!r}; allowed {', '.join(STRATEGIES)})")
    strategies = tuple(check_choice(s, STRATEGIES, source, f"run.strategies[{i}]") for i, s in enumerate(strategies))
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
        raise ConfigError(source, "run.max_processes", f"must be at least run.processes ({processes}) "
                          f"(got {max_processes})")
    max_memory = raw.get("max_memory_mb")
    if max_memory is not None:
        max_memory = _positive_number(max_memory, source, "run.max_memory_mb")
    return RunSettings(
        mode=_mode_name(raw.get("mode"), source, "run.mode"),  # checked against the framework per case
        framework=framework_value(raw.get("framework", DEFAULT_FRAMEWORK), source, "run.framework"),
        strategies=strategies, seed=seed,
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
        precision=_fraction(raw.get("precision", DEFAULT_PRECISION), source, "run.precision"),
        budget_s=_positive_number(raw.get("budget_s", DEFAULT_BUDGET_S), source, "run.budget_s"),
        max_processes=max_processes,
        process_precision=_fraction(raw.get("process_precision", DEFAULT_PROCESS_PRECISION), source,
                                    "run.process_precision"),
    )


def _mode_name(value: Any, source: str, path: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(source, path, f"must be a mode name (got {value!r})")
    return value


def _parse_timeouts(raw: Any, source: str) -> dict:
    """A number (every phase) or a mapping of phase -> seconds."""
    if not isinstance(raw, dict):
        return {"default": _positive_number(raw, source, "run.timeout_s")}
    _known_keys(raw, TIMEOUT_KEYS, source, "run.timeout_s.")
    timeouts = {"default": DEFAULT_TIMEOUT_S}
    timeouts.update({k: _positive_number(v, source, f"run.timeout_s.{k}") for k, v in raw.items()})
    return timeouts


def _positive_number(value: Any, source: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or value == float("inf"):
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
    _mapping(raw, source, path)
    _known_keys(raw, REPEATED_PHASES, source, path + ".")
    return {p: count(raw.get(p, default[p]), f"{path}.{p}") for p in REPEATED_PHASES}


def _fraction(value: Any, source: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(source, path, f"must be a number between 0 and 1, e.g. 0.02 for ±2% (got {value!r})")
    return float(value)


def _parse_sweep(raw: Any, source: str) -> dict:
    if raw is None:
        return {}
    _mapping(raw, source, "sweep")
    if not raw:
        raise ConfigError(source, "sweep", "is empty (remove it, or give at least one field with a list of values)")
    _known_keys(raw, SWEEPABLE, source, "sweep.")
    sweep = {}
    for key, values in raw.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(source, f"sweep.{key}", f"must be a non-empty list of values (got {values!r})")
        if key != "hidden" and len(set(map(repr, values))) != len(values):
            raise ConfigError(source, f"sweep.{key}", f"lists a value twice (got {values!r})")
        sweep[key] = tuple(tuple(v) if isinstance(v, list) else v for v in values)
    if "hidden" in sweep and ("depth" in sweep or "width" in sweep):
        raise ConfigError(source, "sweep", "cannot sweep 'hidden' together with 'depth' or 'width'")
    return sweep


def _mapping(value: Any, source: str, path: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(source, path, f"must be a mapping (got {type(value).__name__})")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(source, path, f"keys must be strings (got {key!r})")
    return value


def _known_keys(mapping: dict, allowed: tuple, source: str, prefix: str) -> None:
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(source, prefix + key, f"unknown key (allowed: {', '.join(allowed)}){hint}")


def config_from_dict(d: dict) -> Config:
    """A config as recorded in env.json, validated again.

    Run folders written before the fix of issue 9 record ``sweep: {}`` for a
    config without a sweep; that means no sweep, as it did when they were written.
    """
    doc = {k: v for k, v in d.items() if k != "source" and not (k == "sweep" and v == {})}
    return parse_config(doc, source=d.get("source", "env.json"), default_name=d["name"])


def in_config_order(frame: pd.DataFrame, configs: list) -> pd.DataFrame:
    """Rows of ``frame`` with cases in the order the configs list them (``configs`` as env.json
    records them); within a case, as they are. A merged or Dask run's cases finish in any order."""
    if frame.empty:
        return frame
    try:
        rank = {(case.config, case.name): i for i, case in
                enumerate(case for c in configs for case in expand(config_from_dict(c)))}
    except (ValueError, KeyError, TypeError):  # configs this gradbench cannot read: keep the order measured
        return frame
    ranks = [rank.get((c, k), len(rank)) for c, k in zip(frame["config"], frame["case"])]
    return frame.assign(_rank=ranks).sort_values("_rank", kind="stable").drop(columns="_rank")
