"""Collect, once per run, everything about the environment that can change a number."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from harness.core import affinity
from harness.orchestrate import REPO


def collect(blas_ldflags: str, blas_choice: str, theano_flags: dict, compiledir: Path) -> dict:
    """A plain dict for env.json (no Theano import: versions come from metadata)."""
    return {
        "date": collect_date(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "hostname": host_name(),
        "packages": {
            name: _version(name) for name in ("theano-pymc", "numpy", "scipy", "pandas", "matplotlib", "PyYAML")
        },
        "bytecode": bytecode_state("theano"),
        "theano_flags": theano_flags,  # by floatX: the exact value each worker got
        "blas": {
            "ldflags": blas_ldflags,
            "choice": blas_choice,
            "library": blas_library(blas_ldflags),
            "numpy": numpy_blas(),
        },
        "compiledir": str(compiledir),
        "compiledir_policy": (
            "warm: one shared compiledir, filled by each worker's untimed warm-up "
            "compile; cold: an empty compiledir per timed compile, in its own process; "
            "Theano workers with a warm cache keep modules of ops without __props__ "
            "(aesara-devs/aesara#1108, harness/backends/theano_cache_key.py)"
        ),
        "pythonhashseed": "0",
        "threads_policy": (
            "each worker's OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS "
            "(and its framework's own thread settings) are set to its case's threads (column "
            "threads), and the worker is pinned to that many cores of its own (affinity); "
            "workers.csv has os_threads and cpus, measurements.csv cpu_seconds"
        ),
        "affinity": affinity.capability(),
        "openblas_env": {
            k: os.environ[k]
            for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
            if k in os.environ
        },
        "cpu": {
            "model": cpu_model(),
            "count": os.cpu_count(),
            "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        },
        "timer": {"name": "time.perf_counter", "resolution_s": time.get_clock_info("perf_counter").resolution},
        "loadavg_start": _loadavg(),
        "git": git_state(),
        "gpu": gpu_info(),
    }


def bytecode_state(module: str) -> dict | None:
    """Whether ``module`` (not imported) has compiled bytecode beside its source, and whether this
    interpreter would write it (environments.bytecode_note says what that costs)."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return None
    cached = os.path.exists(importlib.util.cache_from_source(spec.origin))
    return {"cached": cached, "writes": not sys.dont_write_bytecode}


def host_name() -> str:
    """The measuring machine's name: GRADCOST_HOST where set (a Kubernetes pod is named for itself,
    not for its node: the Kubernetes Job in docs/scaling-out.md sets it to the node's name), else the host name."""
    return os.environ.get("GRADCOST_HOST") or platform.node()


def gpu_info(run=subprocess.run) -> list[dict] | None:
    """Each NVIDIA GPU: name, memory, driver and CUDA versions, from nvidia-smi (None without one)."""
    try:
        query = run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        header = run(["nvidia-smi"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if query.returncode != 0:
        return None
    found = re.search(r"CUDA Version:\s*([\d.]+)", header.stdout)
    cuda = found.group(1) if found else None  # the newest CUDA the driver supports
    gpus = []
    for line in query.stdout.strip().splitlines():
        name, memory, driver = (part.strip() for part in line.split(","))
        gpus.append({"name": name, "memory": memory, "driver": driver, "cuda": cuda})
    return gpus


def collect_date() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def blas_library(ldflags: str) -> str | None:
    """The shared library that -lNAME resolves to, from the loader's cache."""
    names = [f[2:] for f in ldflags.split() if f.startswith("-l")]
    if not names:
        return None
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.strip().startswith(f"lib{names[0]}.so") and "=>" in line:
            return os.path.realpath(line.split("=>")[1].strip())
    return None


def numpy_blas() -> dict:
    """The BLAS NumPy itself was built with (its matmul is the throughput limit)."""
    try:
        import numpy

        config = numpy.__config__
        info = getattr(config, "blas_opt_info", None) or getattr(config, "blas_ilp64_opt_info", None) or {}
        return {"libraries": sorted(set(info.get("libraries") or [])), "numpy": numpy.__version__}
    except Exception:  # metadata only: never fail a run for it
        return {}


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


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
