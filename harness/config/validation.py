"""Checks of single values and of one model, shared by the config and its cases.

Every check raises ConfigError with the file, the field and what is allowed.
Nothing here knows about whole configs, so config (which expands its cases
to validate them) and cases both import this module, and neither imports the other's
importer.
"""

from __future__ import annotations

import difflib
from typing import Any

from harness.config import releases
from harness.core.model import Model
from harness.core.registry import DEVICES, FRAMEWORKS

ACTIVATIONS = ("sigmoid", "tanh", "relu")
LOSSES = ("softmax_cross_entropy", "mse")
FLOATX = ("float32", "float64")
FRAMEWORK_NAMES = tuple(FRAMEWORKS)


class ConfigError(ValueError):
    """A config that cannot be used; the message names file, field and fix."""

    def __init__(self, source: str, path: str, problem: str):
        self.source, self.path, self.problem = source, path, problem
        super().__init__(f"{source}: {path}: {problem}" if path else f"{source}: {problem}")


def validate_model(fields: dict, source: str, prefix: str = "model.") -> Model:
    """Turn resolved model fields into a :class:`Model`, or raise ConfigError."""
    has_hidden = fields.get("hidden") is not None
    has_dw = fields.get("depth") is not None or fields.get("width") is not None
    if has_hidden and has_dw:
        raise ConfigError(
            source, prefix + "hidden", "give either 'hidden' (a list of widths) or 'depth' and 'width', not both"
        )
    if has_hidden:
        hidden = fields["hidden"]
        if not isinstance(hidden, list) or not hidden:
            raise ConfigError(
                source, prefix + "hidden", f"must be a non-empty list of positive integers (got {hidden!r})"
            )
        hidden = tuple(positive_int(h, source, f"{prefix}hidden[{i}]") for i, h in enumerate(hidden))
    elif has_dw:
        for key in ("depth", "width"):
            if fields.get(key) is None:
                raise ConfigError(source, prefix + key, "missing: 'depth' and 'width' go together")
        depth = positive_int(fields["depth"], source, prefix + "depth")
        width = positive_int(fields["width"], source, prefix + "width")
        hidden = (width,) * depth
    else:
        raise ConfigError(source, prefix + "hidden", "missing: give 'hidden' (list of widths) or 'depth' and 'width'")
    for key in ("input", "output"):
        if key not in fields:
            raise ConfigError(source, prefix + key, "missing (a positive integer)")
    biases = fields["biases"]
    if not isinstance(biases, bool):
        raise ConfigError(source, prefix + "biases", f"must be true or false (got {biases!r})")
    return Model(
        input=positive_int(fields["input"], source, prefix + "input"),
        hidden=hidden,
        output=positive_int(fields["output"], source, prefix + "output"),
        activation=check_choice(fields["activation"], ACTIVATIONS, source, prefix + "activation"),
        loss=check_choice(fields["loss"], LOSSES, source, prefix + "loss"),
        biases=biases,
        floatX=check_choice(fields["floatX"], FLOATX, source, prefix + "floatX"),
        batch=positive_int(fields["batch"], source, prefix + "batch"),
    )


def split_framework(value: str) -> tuple[str, str | None, str]:
    """``NAME[==VERSION][:MODE]`` as (name, version or None, mode or '')."""
    head, _, mode = value.partition(":")
    name, sep, version = head.partition("==")
    return name.strip(), (version.strip() if sep else None), mode


def framework_value(value: Any, source: str, path: str) -> str:
    """``NAME``, ``NAME:MODE``, ``NAME==VERSION`` or ``NAME==VERSION:MODE``: a known framework, one of its
    modes if a mode is given, and a release with an environment if a version is given."""
    if not isinstance(value, str):
        raise ConfigError(
            source,
            path,
            f"must be a framework name, NAME:MODE or NAME==VERSION[:MODE] (got {value!r}; "
            f"allowed {', '.join(FRAMEWORK_NAMES)})",
        )
    name, version, mode = split_framework(value)
    check_choice(name, FRAMEWORK_NAMES, source, path)
    if mode:
        check_mode(name, mode, source, path)
    check_release(name, version, source, path)
    return value


def check_release(name: str, version: str | None, source: str, path: str) -> releases.Release:
    """The release a case asks for, or ConfigError naming the releases that have an environment."""
    found = releases.find(name, version)
    if found is None:
        known = [f"{name}=={r.version}" for r in releases.releases(name)]
        where = f"envs/{name}-{version}.txt" if version else f"envs/{name}.txt"
        raise ConfigError(
            source,
            path,
            f"no environment for {name}{'==' + version if version else ''} (no {where}); "
            + (f"releases with one: {', '.join(known)}" if known else f"{name} has none: add {where}"),
        )
    return found


def check_mode(framework: str, mode: Any, source: str, path: str) -> str:
    """A mode of ``framework``, or ConfigError naming the framework's modes."""
    allowed = FRAMEWORKS[framework].modes
    if mode not in allowed:
        close = difflib.get_close_matches(str(mode), allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(source, path, f"not a {framework} mode (got {mode!r}; allowed {', '.join(allowed)}){hint}")
    return mode


def resolve_framework(framework: str, mode: str | None, source: str, path: str) -> tuple[str, str]:
    """(framework, mode) of a case: a mode in ``NAME:MODE`` wins over run.mode; else the default."""
    name, _, own_mode = split_framework(framework)
    chosen = own_mode or mode or FRAMEWORKS[name].default_mode
    return name, check_mode(name, chosen, source, path)


def positive_int(value: Any, source: str, path: str) -> int:
    return _int_at_least(value, 1, source, path)


def _int_at_least(value: Any, minimum: int, source: str, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(source, path, f"must be an integer >= {minimum} (got {value!r})")
    if value < minimum:
        raise ConfigError(source, path, f"must be >= {minimum} (got {value})")
    return value


def check_choice(value: Any, allowed: tuple, source: str, path: str) -> str:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(source, path, f"unknown value (got {value!r}; allowed {', '.join(allowed)}){hint}")
    return value


def check_device(framework: str, mode: str, device: Any, source: str, path: str) -> str:
    """``cpu`` or ``gpu``; ``gpu`` only for the framework modes that can run there."""
    device = check_choice(device, DEVICES, source, path)
    if device == "gpu" and mode not in FRAMEWORKS[framework].gpu_modes:
        able = ", ".join(f"{name}:{m}" for name, f in FRAMEWORKS.items() for m in f.gpu_modes)
        raise ConfigError(source, path, f"{framework}:{mode} runs on the CPU only (got 'gpu'; the GPU is for {able})")
    return device


def mapping(value: Any, source: str, path: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(source, path, f"must be a mapping (got {type(value).__name__})")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(source, path, f"keys must be strings (got {key!r})")
    return value


def known_keys(mapping: dict, allowed: tuple, source: str, prefix: str) -> None:
    for key in mapping:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(source, prefix + key, f"unknown key (allowed: {', '.join(allowed)}){hint}")
