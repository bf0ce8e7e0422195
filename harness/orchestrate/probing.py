"""Before anything is measured: every environment a run needs, built if it is a release's, and asked once
what it has (``environments.probe``). The orchestrator never imports a framework: it asks.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from harness.config import releases
from harness.config.releases import Release, same_release
from harness.core.case import Case
from harness.core.registry import framework
from harness.orchestrate import environments, release_envs
from harness.orchestrate.record import Progress


def frameworks_of(cases: list[Case]) -> list[str]:
    return list(dict.fromkeys(case.framework for case in cases))


def environments_of(cases: list[Case]) -> dict[str, Release]:
    """Every environment the cases run in, with the release it holds (in the cases' order)."""
    out = {}
    for case in cases:
        if case.env_name not in out:
            out[case.env_name] = releases.find(case.framework, case.version)
    return out


def check_environments(
    cases: list[Case],
    probe: Callable[..., dict] | None = None,
    skip_missing: bool = False,
    progress: Progress = print,
) -> dict:
    """Each environment, asked once what it has; EnvironmentProblem if a framework's own is unusable.

    Theano's is the orchestrator's own .venv (its versions come from envinfo);
    the others are probed, unless ``probe`` is False (tests with fake workers).
    With ``skip_missing``, an unusable environment is recorded (``unusable``)
    and its cases are skipped with the reason, not the whole run. A release's own environment
    (``theano-0.7.0``) is built first if it must be, and always skipped with the reason when it
    cannot be had (no Python of the version it needs, a failed install): the rest of the run goes on.
    """
    if probe is False:
        return {}
    probe = probe or environments.probe
    out = {}
    for name, release in environments_of(cases).items():
        if name == "theano" and not os.environ.get(environments.python_variable("theano")):
            continue
        info = {}
        try:
            if not release.default and not os.environ.get(environments.python_variable(name)):
                release_envs.ensure(release, progress)
            info = probe(name) if release.default else probe(name, release.distribution)
        except (environments.EnvironmentProblem, release_envs.ReleaseUnavailable) as exc:
            if not skip_missing and release.default:
                raise
            info = {"unusable": str(exc)}
        if not release.default:
            found = info.get("version")
            if found is not None and not same_release(found, release.version) and "unusable" not in info:
                info["unusable"] = (
                    f"{name}: its environment holds {release.distribution} {found}, not {release.version}"
                )
        info["cache_kind"] = framework(release.framework).cache_kind
        out[name] = info
    return out


def release_record(release: Release) -> dict:
    """What env.json keeps of a release: where its environment comes from, and its date."""
    return {
        "framework": release.framework,
        "version": release.version,
        "distribution": release.distribution,
        "released": release.released,
        "python": release.python,
        "requirements": release.requirements,
        "build_constraints": list(release.build_constraints),
    }
