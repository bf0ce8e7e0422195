"""Expand a config's sweep into concrete, independent cases."""

from __future__ import annotations

import itertools

from harness.config.config_file import Config
from harness.config.validation import (
    ConfigError,
    check_choice,
    check_device,
    check_release,
    framework_value,
    positive_int,
    resolve_framework,
    split_framework,
    validate_model,
)
from harness.core.case import Case, label
from harness.core.counting import METRICS


def expand(config: Config) -> list[Case]:
    """All cases of a config: the cartesian product of its sweep, in file order."""
    keys = list(config.sweep)
    cases, names = [], set()
    for values in itertools.product(*(config.sweep[k] for k in keys)):
        fields = dict(config.model)
        mode, threads, framework = config.run.mode, config.run.threads, config.run.framework
        device, device_path = config.run.device, "run.device"
        metric = config.run.metric
        mode_path, framework_path = "run.mode", "run.framework"
        for key, value in zip(keys, values):
            if key == "mode":
                mode, mode_path = value, "sweep.mode"
            elif key == "framework":
                framework, framework_path = value, "sweep.framework"
            elif key == "threads":
                threads = value
            elif key == "device":
                device, device_path = value, "sweep.device"
            elif key == "metric":
                metric = check_choice(value, METRICS, config.source, "sweep.metric")
            else:
                fields[key] = list(value) if isinstance(value, tuple) else value
        # A swept layout replaces the base layout rather than contradicting it.
        if {"depth", "width"} & set(keys):
            fields.pop("hidden", None)
        if "hidden" in keys:
            fields.pop("depth", None)
            fields.pop("width", None)
        name = label(keys, values) or config.name
        try:
            model = validate_model(fields, config.source)
            framework_value(framework, config.source, framework_path)
            if "mode" in keys and ":" in str(framework):
                raise ConfigError(
                    config.source,
                    "sweep",
                    f"a mode is given twice: in sweep.mode and in framework {framework!r} (give it in one place)",
                )
            release = check_release(*split_framework(framework)[:2], config.source, framework_path)
            framework, mode = resolve_framework(
                framework, mode, config.source, framework_path if ":" in str(framework) else mode_path
            )
            threads = positive_int(threads, config.source, "sweep.threads")
            device = check_device(framework, mode, device, config.source, device_path)
        except ConfigError as exc:
            if not keys:
                raise
            raise ConfigError(config.source, f"{exc.path} (in case {name})", exc.problem) from None
        if name in names:
            raise ConfigError(config.source, "sweep", f"two cases are both named {name!r}")
        names.add(name)
        cases.append(
            Case(
                config=config.name,
                name=name,
                model=model,
                mode=mode,
                threads=threads,
                framework=framework,
                device=device,
                metric=metric,
                version=release.version,
                environment=None if release.default else release.environment,
            )
        )
    return cases
