"""Collect, once per run, everything about the environment that can change a number."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def collect(blas_ldflags: str, blas_choice: str, theano_flags: dict, compiledir: Path) -> dict:
    """A plain dict for env.json (no Theano import: versions come from metadata)."""
    return {
        "date": collect_date(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "hostname": platform.node(),
        "packages": {name: _version(name) for name in
                     ("theano-pymc", "numpy", "scipy", "pandas", "matplotlib", "PyYAML")},
        "theano_flags": theano_flags,  # by floatX: the exact value each worker got
        "blas": {"ldflags": blas_ldflags, "choice": blas_choice},
        "compiledir": str(compiledir),
        "pythonhashseed": "0",
        "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                     "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
                         if k in os.environ},
        "cpu": {"model": cpu_model(), "count": os.cpu_count()},
        "loadavg_start": _loadavg(),
        "git": git_state(),
    }


def collect_date() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_state() -> dict:
    def git(*args):
        try:
            out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None}


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _loadavg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None
