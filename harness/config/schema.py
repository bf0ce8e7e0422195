"""Load and validate YAML benchmark configs into frozen dataclasses.

A config describes one MLP (the ``model`` section), how to measure it (the
``run`` section) and optionally a ``sweep``: a cartesian product over model
fields or the optimizer mode. Everything is checked here, once, so the rest of
the harness can trust what it receives. YAML is only read with a safe loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.config.cases import expand
from harness.config.config_file import Config
from harness.config.run_section import RUN_KEYS, parse_run
from harness.config.validation import ConfigError, known_keys, mapping

__all__ = ["Config", "ConfigError", "load_config", "parse_config"]  # Config is defined in config_file

MODEL_KEYS = ("input", "hidden", "depth", "width", "output", "activation", "loss", "biases", "floatX", "batch")
TOP_KEYS = ("name", "description", "model", "run", "sweep")
SWEEPABLE = MODEL_KEYS + ("framework", "mode", "threads", "device", "metric")

DEFAULT_MODEL = {
    "activation": "sigmoid",
    "loss": "softmax_cross_entropy",
    "biases": True,
    "floatX": "float64",
    "batch": 32,
}


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
    mapping(data, source, "(top level)")
    known_keys(data, TOP_KEYS, source, "")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name or any(c in name for c in "/\\ ,"):
        raise ConfigError(
            source, "name", f"must be a non-empty string without spaces, commas or slashes (got {name!r})"
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(source, "description", f"must be a string (got {type(description).__name__})")
    if "model" not in data:
        raise ConfigError(source, "model", "missing (a mapping with at least input, output and hidden or depth/width)")
    model = mapping(data["model"], source, "model")
    known_keys(model, MODEL_KEYS, source, "model.")
    run_raw = data.get("run", {}) if data.get("run") is not None else {}
    mapping(run_raw, source, "run")
    known_keys(run_raw, RUN_KEYS, source, "run.")
    sweep = _parse_sweep(data.get("sweep"), source)
    model = {**DEFAULT_MODEL, **model}
    run = parse_run(run_raw, source)
    config = Config(name=name, description=description, source=source, model=model, run=run, sweep=sweep)
    expand(config)  # validate every case now, so errors surface before anything runs
    return config


def _parse_sweep(raw: Any, source: str) -> dict:
    if raw is None:
        return {}
    mapping(raw, source, "sweep")
    if not raw:
        raise ConfigError(source, "sweep", "is empty (remove it, or give at least one field with a list of values)")
    known_keys(raw, SWEEPABLE, source, "sweep.")
    sweep = {}
    for key, values in raw.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(source, f"sweep.{key}", f"must be a non-empty list of values (got {values!r})")
        if key != "hidden" and len(set(map(repr, values))) != len(values):
            raise ConfigError(source, f"sweep.{key}", f"lists a value twice (got {values!r})")
        if key == "mode" and not all(isinstance(v, str) and v for v in values):
            # An empty or non-text mode would fall back to the framework's default mode unnoticed.
            raise ConfigError(source, "sweep.mode", f"must be a list of mode names (got {values!r})")
        sweep[key] = tuple(tuple(v) if isinstance(v, list) else v for v in values)
    if "hidden" in sweep and ("depth" in sweep or "width" in sweep):
        raise ConfigError(source, "sweep", "cannot sweep 'hidden' together with 'depth' or 'width'")
    return sweep
