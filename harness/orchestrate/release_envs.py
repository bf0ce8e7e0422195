"""A framework release's own environment (``.envs/NAME-VERSION``), built on first use.

A release other than a framework's default one (``harness.config.releases``) is measured in an
environment of its own, built by uv from its pinned requirements file with the Python its header asks
for. That interpreter is found, in order, from ``GRADCOST_PYTHON_X_Y`` (``GRADCOST_PYTHON_3_7``), from
pyenv's versions (``$PYENV_ROOT/versions``, default ``~/.pyenv/versions``: the newest X.Y.Z), and from
``pythonX.Y`` on the PATH. When none is found, or the environment does not build, the release's cases are
skipped with the reason before anything runs (as GPU cases are without a GPU); the rest of the run goes on.

An environment is built again when its requirements file or interpreter changes (the stamp holds both).
Its build's output is kept in ``.envs/NAME-VERSION.build.log``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.config.releases import REPO, Release, find, requirement_files

ENVS_DIR = REPO / ".envs"
STAMP = ".installed-stamp"
BUILD_TIMEOUT_S = 1800


class ReleaseUnavailable(RuntimeError):
    """A release's environment cannot be had on this machine; the message says why and what to do."""


def python_override(version: str) -> str:
    return "GRADCOST_PYTHON_" + version.replace(".", "_")


def _patch(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.name))


def find_python(version: str, environ: dict | None = None) -> tuple[str | None, str]:
    """(an interpreter of Python ``version``, e.g. "3.7", or None; where it was looked for, in words)."""
    environ = os.environ if environ is None else environ
    variable = python_override(version)
    if environ.get(variable):
        return environ[variable], variable
    root = Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates = sorted(
        (p for p in root.glob(f"{version}.*") if re.fullmatch(rf"{re.escape(version)}\.\d+", p.name)), key=_patch
    )
    for path in reversed(candidates):
        python = path / "bin" / "python"
        if python.exists():
            return str(python), f"pyenv ({root})"
    on_path = shutil.which(f"python{version}", path=environ.get("PATH"))
    if on_path:
        return on_path, "PATH"
    return None, f"{variable}, {root}/{version}.*, python{version} on the PATH"


def uv() -> str | None:
    """uv, as make setup installs it into .venv (beside this interpreter), else on the PATH."""
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else shutil.which("uv")


def stamp_text(release: Release, python: str) -> str:
    """What an environment was built from: its requirements (and the files they include) and interpreter."""
    digest = hashlib.sha256()
    for path in requirement_files(REPO / release.requirements):
        digest.update(path.read_bytes())
    return f"{release.requirements} {digest.hexdigest()}\n{python}\n"


def uv_environment() -> dict:
    """uv's environment: it looks where pip is told to look (PIP_FIND_LINKS, e.g. this machine kind's CPU
    build of PyTorch 2.13.0) unless UV_FIND_LINKS says otherwise, as the Makefile does for make's builds."""
    env = dict(os.environ)
    if env.get("PIP_FIND_LINKS") and not env.get("UV_FIND_LINKS"):
        env["UV_FIND_LINKS"] = env["PIP_FIND_LINKS"]
    return env


def why(log: Path) -> str:
    """The line of a failed build's output that says why: uv's first error and its cause, else the last line."""
    lines = [line.strip() for line in log.read_text().splitlines() if line.strip() and not line.startswith("$ ")]
    first = next((i for i, line in enumerate(lines) if line.lower().startswith(("error", "×", "x "))), None)
    if first is None:
        return lines[-1] if lines else "no output"
    return " ".join(lines[first : first + 2])


def environment_python(release: Release) -> Path:
    return ENVS_DIR / release.environment / "bin" / "python"


def ensure(release: Release, progress: Callable[[str], None] = print, environ: dict | None = None) -> str:
    """The interpreter of ``release``'s environment, built now if it is missing or out of date.

    Raises ReleaseUnavailable (no interpreter of the Python it needs, no uv, a failed build), naming why.
    """
    wanted = release.python or f"{sys.version_info[0]}.{sys.version_info[1]}"
    base, where = find_python(wanted, environ)
    if base is None:
        raise ReleaseUnavailable(
            f"{release.framework} {release.version} needs Python {wanted}: none found (looked in {where}); "
            f"install it (pyenv install {wanted}) or set {python_override(wanted)}"
        )
    folder = ENVS_DIR / release.environment
    stamp = folder / STAMP
    text = stamp_text(release, base)
    if stamp.exists() and stamp.read_text() == text and environment_python(release).exists():
        return str(environment_python(release))
    tool = uv()
    if tool is None:
        raise ReleaseUnavailable(f"{release.environment}: uv not found (run make setup, which installs it)")
    progress(f"building .envs/{release.environment} from {release.requirements} (Python {wanted}: {base})")
    log = ENVS_DIR / f"{release.environment}.build.log"
    ENVS_DIR.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp, "build-constraints.txt")
        constraints.write_text("".join(f"{c}\n" for c in release.build_constraints))
        steps = [
            [tool, "venv", "--quiet", "--python", base, str(folder)],
            [tool, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(folder / "bin" / "python")]
            + (["--build-constraint", str(constraints)] if release.build_constraints else [])
            + ["-r", str(REPO / release.requirements)],
        ]
        with log.open("w") as out:
            for step in steps:
                out.write("$ " + " ".join(step) + "\n")
                out.flush()
                try:
                    proc = subprocess.run(
                        step,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        timeout=BUILD_TIMEOUT_S,
                        stdin=subprocess.DEVNULL,
                        env=uv_environment(),
                    )
                except (OSError, subprocess.TimeoutExpired) as exc:
                    raise ReleaseUnavailable(f"{release.environment}: could not build ({exc}); see {log}") from None
                if proc.returncode != 0:
                    raise ReleaseUnavailable(f"{release.environment}: does not install here ({why(log)}); see {log}")
    stamp.write_text(text)
    return str(environment_python(release))


def main(argv: list[str]) -> int:
    """``python -m harness.orchestrate.release_envs build NAME [VERSION]``: ``make env-NAME`` (a framework's own
    environment, with the Python its file asks for), or a release's environment ahead of a run."""
    if len(argv) not in (2, 3) or argv[0] != "build":
        print("usage: python -m harness.orchestrate.release_envs build NAME [VERSION]", file=sys.stderr)
        return 2
    release = find(argv[1], argv[2] if len(argv) == 3 else None)
    if release is None:
        print(f"error: no environment file for {' '.join(argv[1:])} under envs/", file=sys.stderr)
        return 2
    try:
        python = ensure(release)
    except ReleaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f".envs/{release.environment}: {release.distribution} {release.version} ({python})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
