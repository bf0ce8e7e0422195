"""Framework releases: which ones gradcost can measure, and the environment each is measured in.

A framework's default release is the one its own environment pins (``envs/NAME.txt``; Theano's is
``.venv``, pinned in ``envs/venv.txt``). Any other release has a requirements file of its own,
``envs/NAME-VERSION.txt`` (``envs/theano-0.7.0.txt``), whose header says what the environment needs::

    # python: 3.7                      the interpreter's version (default: the orchestrator's, 3.11)
    # released: 2015-03-16             the release's date (its PyPI upload), for the lineage's time axis
    # build-constraint: setuptools<58  a constraint on the packages that build an sdist (repeatable)

A config names a release as ``NAME==VERSION`` (``theano==0.7.0``, ``pytensor==3.3.7:CVM``). This
module only reads those files; ``harness.orchestrate.release_envs`` builds the environments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ENVS = REPO / "envs"
# The file that pins each framework's default release (Theano's: the orchestrator's own .venv).
DEFAULT_FILES = {"theano": "venv.txt"}
# The package that holds each framework's releases, by the import name the worker uses; Theano's
# releases up to 1.0.x are the package `theano`, the 1.1 line the fork `theano-pymc`.
DISTRIBUTIONS = {"theano": ("theano-pymc", "theano"), "aesara": ("aesara",), "pytensor": ("pytensor",)}
_HEADER = re.compile(r"^#\s*(python|released|build-constraint)\s*:\s*(\S+)")


@dataclass(frozen=True)
class Release:
    """One release of a framework and the environment it is measured in."""

    framework: str
    version: str
    environment: str  # the environment's name: NAME for the default release, else NAME-VERSION
    requirements: str  # its pinned requirements file, relative to the repository
    distribution: str  # the package whose version it is
    python: str | None = None  # the interpreter version it needs (None: the orchestrator's own)
    released: str | None = None  # YYYY-MM-DD
    build_constraints: tuple[str, ...] = ()

    @property
    def default(self) -> bool:
        return self.environment == self.framework


def requirement_files(path: Path) -> list[Path]:
    """A requirements file and every file it includes (``-r``), in order."""
    out = [path]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("-r "):
            out += requirement_files(path.parent / line.strip()[3:].strip())
    return out


def distributions(framework: str) -> tuple[str, ...]:
    return DISTRIBUTIONS.get(framework, (framework,))


def release_version(found: str) -> str:
    """The release an installed version is: a local build label names the same release (2.13.0+cpu is 2.13.0)."""
    return str(found).split("+")[0]


def same_release(found: str, version: str | None) -> bool:
    """Whether an installed version is the release (``release_version``)."""
    return release_version(found) == version


def _read(path: Path) -> tuple[dict, dict]:
    """(its own header's keys, {package: version} of it and the files it includes) of a requirements file."""
    header: dict = {"build-constraint": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _HEADER.match(line.strip())
        if match and match.group(1) == "build-constraint":
            header["build-constraint"].append(match.group(2))
        elif match:
            header.setdefault(match.group(1), match.group(2))
    pins: dict = {}
    for included in requirement_files(path):
        for line in included.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r ")) and "==" in line:
                name, _, version = line.partition("==")
                pins[name.strip().lower().replace("_", "-")] = version.split(";")[0].strip()
    return header, pins


def _release(framework: str, environment: str, path: Path) -> Release | None:
    header, pins = _read(path)
    for dist in distributions(framework):
        if dist in pins:
            return Release(
                framework=framework,
                version=pins[dist],
                environment=environment,
                requirements=str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
                distribution=dist,
                python=header.get("python"),
                released=header.get("released"),
                build_constraints=tuple(header["build-constraint"]),
            )
    return None


def default_release(framework: str, envs: Path = ENVS) -> Release | None:
    """The release a framework's own environment pins (None when it has none, e.g. Aesara)."""
    path = envs / DEFAULT_FILES.get(framework, f"{framework}.txt")
    return _release(framework, framework, path) if path.exists() else None


def releases(framework: str, envs: Path = ENVS) -> list[Release]:
    """Every release of ``framework`` with an environment: the default one first, then by version."""
    out = [r for r in [default_release(framework, envs)] if r is not None]
    for path in sorted(envs.glob(f"{framework}-*.txt")):
        found = _release(framework, path.stem, path)
        if found is not None and found.version == path.stem[len(framework) + 1 :]:
            out.append(found)
    return out


def find(framework: str, version: str | None, envs: Path = ENVS) -> Release | None:
    """The release a case asks for: the default one when ``version`` is None (or equal to it), else the
    one with an ``envs/NAME-VERSION.txt``; None when there is no such environment."""
    known = releases(framework, envs)
    if version is None:
        return next((r for r in known if r.default), None)
    own = next((r for r in known if not r.default and r.version == version), None)
    return own or next((r for r in known if r.default and r.version == version), None)
