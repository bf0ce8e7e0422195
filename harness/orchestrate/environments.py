"""Each framework's own environment: which interpreter runs its workers, with what variables.

Theano needs Python 3.11 with numpy<1.24; PyTensor, JAX and PyTorch need
numpy 2. So each framework has its own virtual environment (``.envs/NAME``,
built by ``make env-NAME`` from ``envs/NAME.txt``, as asv builds one
environment per matrix entry); Theano's is ``.venv``, the orchestrator's own.
``GRADCOST_PYTHON_NAME`` names another interpreter instead (a machine that
already has the framework and no package index). The orchestrator never
imports a framework: it starts these interpreters, and asks each once, before
anything is measured, what it has (:func:`probe`).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.core.data import DATA_CACHE_VARIABLE
from harness.core.registry import FRAMEWORKS
from harness.orchestrate import REPO, theano_env

ENVS_DIR = REPO / ".envs"
PROBE_TIMEOUT_S = 300


class EnvironmentProblem(RuntimeError):
    """A framework's environment is missing or broken; the message says how to fix it."""


def python_variable(name: str) -> str:
    """GRADCOST_PYTHON_JAX, GRADCOST_PYTHON_THEANO_0_7_0 (a release's environment)."""
    return "GRADCOST_PYTHON_" + name.upper().replace("-", "_").replace(".", "_")


def split_environment(name: str) -> tuple[str, str | None]:
    """An environment's (framework, release): ``jax`` -> (jax, None), ``theano-0.7.0`` -> (theano, 0.7.0)."""
    framework_name, _, version = name.partition("-")
    return framework_name, version or None


def interpreter(name: str) -> str:
    """The Python that runs ``name``'s workers."""
    chosen = os.environ.get(python_variable(name))
    if chosen:
        return chosen
    if name == "theano":
        return sys.executable  # .venv: the orchestrator's own environment
    return str(ENVS_DIR / name / "bin" / "python")


def worker_command(name: str) -> list[str]:
    return [interpreter(name), "-m", "harness.worker"]


def cache_dir(name: str, compiledir: Path) -> Path:
    """The shared (warm) compile cache of a framework: Theano's compiledir, or one beside it."""
    return compiledir if name == "theano" else compiledir.parent / name


def xla_flags(threads: int) -> str:
    """XLA's CPU thread cap (XLA reads no OMP variable)."""
    eigen = "false" if threads == 1 else "true"
    return f"--xla_cpu_multi_thread_eigen={eigen} intra_op_parallelism_threads={threads}"


def worker_env(
    name: str, cache: Path, floatX: str, threads: int | None, base: dict | None = None, device: str = "cpu"
) -> dict:
    """The full environment of one worker of framework ``name``.

    Every framework gets the BLAS/OpenMP thread cap and PYTHONHASHSEED=0 (as
    Theano does); its own thread settings (XLA_FLAGS, NUMBA_NUM_THREADS; PyTorch
    is told by the worker: torch.set_num_threads); its compile cache in ``cache``;
    JAX's platform for ``device``; and the repository on PYTHONPATH, since
    gradcost is not installed there. Theano's worker gets THEANO_FLAGS (its compiledir is ``cache``; see
    theano_env). PYTHONHASHSEED is fixed because some Theano ops' cache keys depend on hashing; with a
    random seed they are recompiled in every process. ``threads`` None leaves the thread caps as inherited.
    """
    env = dict(os.environ if base is None else base)
    env["PYTHONHASHSEED"] = "0"
    if threads is not None:
        env.update(dict.fromkeys(theano_env.THREAD_VARIABLES, str(threads)))
    framework_name, release = split_environment(name)
    ldflags = theano_env.detect_blas()[0]
    if name == "theano":
        env["THEANO_FLAGS"] = theano_env.theano_flags(cache, floatX, ldflags)
        return env
    env.pop("THEANO_FLAGS", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    if framework_name == "theano":  # a release's own environment (Theano up to 1.0 nests its flags' names)
        env["THEANO_FLAGS"] = theano_env.theano_flags(cache, floatX, ldflags, nested=theano_env.nested_flags(release))
        return env
    # Aesara and PyTensor name their flags alike: compile cache, floatX, BLAS.
    flags = ",".join([f"base_compiledir={cache}", f"floatX={floatX}", f"blas__ldflags={ldflags}"])
    if framework_name == "aesara":
        env["AESARA_FLAGS"] = flags
        return env
    env["NUMBA_NUM_THREADS"] = str(threads)
    env["XLA_FLAGS"] = xla_flags(threads)
    # JAX (and PyTensor's JAX backend) on the device the case asks for, nothing else.
    env["JAX_PLATFORMS"] = "cuda" if device == "gpu" else "cpu"
    # Every executable goes to JAX's persistent cache (its defaults skip fast compiles).
    env.update(
        {
            "JAX_COMPILATION_CACHE_DIR": str(cache / "jax"),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
            "TORCHINDUCTOR_CACHE_DIR": str(cache / "inductor"),
            "NUMBA_CACHE_DIR": str(cache / "numba"),
        }
    )
    if framework_name == "pytensor":
        env["PYTENSOR_FLAGS"] = flags
    return env


_PROBE = """
import json, os, platform, re, sys
out = {"python": platform.python_version(), "executable": sys.executable, "packages": {}}
def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()
everything = {}  # every installed distribution (Python 3.7 has no importlib.metadata: read the folders)
for folder in sys.path:
    if os.path.isdir(folder):
        for entry in os.listdir(folder):
            entry = re.sub(r"-py\\d+(\\.\\d+)?(?=\\.egg-info$)", "", entry)  # Theano-0.7.0-py3.7.egg-info
            match = re.match(r"(.+?)-([^-]+)\\.(dist-info|egg-info)$", entry)
            if match:
                everything.setdefault(_norm(match.group(1)), match.group(2))
out["all_packages"] = dict(sorted(everything.items()))
for dist in sys.argv[1:]:
    out["packages"][dist] = everything.get(_norm(dist))
import numpy
try:  # numpy >= 1.26: the BLAS it was built with
    blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    out["numpy_blas"] = {k: blas.get(k) for k in ("name", "version")}
except Exception:
    out["numpy_blas"] = None
module = __import__(sys.argv[1].replace("-", "_") if sys.argv[1] != "theano-pymc" else "theano")
# Whether a worker imports the framework from compiled bytecode or compiles its source at every start.
import importlib.util, os
cached = os.path.exists(importlib.util.cache_from_source(module.__file__))
out["bytecode"] = {"cached": cached, "writes": not sys.dont_write_bytecode}
out["devices"], out["gpus"] = [], []
if sys.argv[1] in ("jax", "pytensor"):
    try:
        import jax
        out["devices"] = [str(d) for d in jax.devices()]
        out["gpus"] = [str(d) for d in jax.devices() if d.platform == "gpu"]
    except Exception as exc:
        out["devices_error"] = f"{type(exc).__name__}: {exc}"
if sys.argv[1] == "torch":
    import torch
    out["cuda"] = torch.version.cuda
    out["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    out["devices"] = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
print("GRADCOST-PROBE " + json.dumps(out))
"""
PROBE_PACKAGES = {
    "theano": ("theano-pymc", "numpy"),
    "aesara": ("aesara", "numpy", "scipy"),
    "pytensor": ("pytensor", "numpy", "numba", "jax", "torch"),
    "jax": ("jax", "jaxlib", "numpy"),
    "torch": ("torch", "numpy"),
}


def bytecode_note(name: str, info: dict | None) -> str | None:
    """A line for the run's output when every worker of ``name`` compiles its framework's Python source
    at import (no compiled bytecode in its environment, and PYTHONDONTWRITEBYTECODE set): seconds per
    worker, inside the cold phases that import lazily. None when bytecode is cached or written."""
    state = (info or {}).get("bytecode")
    if not state or state.get("cached") or state.get("writes"):
        return None
    where = "make setup" if name == "theano" else f"make env-{name}"
    return (
        f"note: {name}'s environment has no compiled bytecode and PYTHONDONTWRITEBYTECODE is set: every "
        f"worker compiles {name}'s Python source when it imports it (rebuild it with {where}, which compiles it)"
    )


def gpu_problem(name: str, info: dict | None) -> str | None:
    """Why a GPU case of ``name`` cannot run in its environment (None when a GPU is visible)."""
    if info is None:
        return f"{name}'s environment was not probed"
    if not info.get("gpus"):
        return (
            f"no GPU visible to {'jax' if name in ('jax', 'pytensor') else name} in its environment "
            f"({info.get('executable', interpreter(name))})"
        )
    return None


def probe(name: str, distribution: str | None = None) -> dict:
    """Start the environment's interpreter once: it must import the framework; what versions it has
    (``packages``: the framework's and NumPy's; ``all_packages``: every installed distribution).
    ``name``: a framework's environment or a release's (``theano-0.7.0``, whose package is ``distribution``).

    Raises EnvironmentProblem, naming the make target or the variable to set.
    """
    python = interpreter(name)
    framework_name, release = split_environment(name)
    distribution = distribution or FRAMEWORKS[framework_name].distribution
    packages = (distribution, *PROBE_PACKAGES[framework_name][1:])
    how = (
        "run: make setup"
        if name == "theano"
        else f"set {python_variable(name)} to a Python that has {distribution}, or run: "
        + (f"make env-{name}" if release is None else "gradcost run (it builds a release's environment)")
    )
    if not Path(python).exists() and os.sep in python:
        raise EnvironmentProblem(f"{name}: no environment at {python}; {how}")
    try:
        proc = subprocess.run(
            [python, "-c", _PROBE, *packages],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            # As a worker starts: Theano and Aesara need their BLAS flags to import at all.
            env=worker_env(name, cache_dir(name, theano_env.default_compiledir()), "float64", None),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EnvironmentProblem(f"{name}: cannot start {python} ({exc}); {how}") from None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("GRADCOST-PROBE ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise EnvironmentProblem(f"{name}: {python} cannot import {distribution} ({tail}); {how}")
    info = json.loads(lines[-1].split(" ", 1)[1])
    info["interpreter_from"] = (
        python_variable(name)
        if os.environ.get(python_variable(name))
        else (".venv" if name == "theano" else f".envs/{name}")
    )
    info["version"] = info["packages"].get(distribution)
    return info


@contextlib.contextmanager
def case_data(compiledir: Path):
    """A folder for the run's workers to share each case's parameters and NumPy reference gradients
    (``harness.worker.data_cache``), named to them in ``GRADCOST_DATA_CACHE`` while the run measures and removed
    after it (beside the compile caches: a question-sized case writes about 1.3 GB). One already set is kept."""
    if os.environ.get(DATA_CACHE_VARIABLE):
        yield
        return
    compiledir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gradcost-data-", dir=compiledir.parent) as folder:
        os.environ[DATA_CACHE_VARIABLE] = folder
        try:
            yield
        finally:
            os.environ.pop(DATA_CACHE_VARIABLE, None)
