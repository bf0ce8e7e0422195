"""Start a worker that counts instructions: under callgrind, with its library and a machine it can decode.

A case with ``metric: instructions`` runs its warm workers under ``valgrind --tool=callgrind
--collect-atstart=no`` (collection is switched on by the worker's clock, ``harness.worker.counting``).
The library of client requests is built with gcc once per run (:func:`prepare`); a machine without
valgrind, its header or gcc gets a reason instead, and those cases are skipped with it, as GPU cases
are on a machine without a GPU.

Valgrind 3.19 cannot decode AVX-512, which this machine kind has and which BLAS, generated C and JIT
compilers pick when they see it: every library is told to stay at AVX2 (:data:`AVX2_VARIABLES`, and
per framework in :func:`environment`). So a counted run executes AVX2 code where a timed run may execute
AVX-512: counts are comparable between counted runs, not instruction for instruction with a timed run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from harness.core.counting import LIBRARY_VARIABLE, OUT_VARIABLE, SOURCE
from harness.core.registry import framework

VALGRIND = "valgrind"
LIBRARY_NAME = "libgradcost_callgrind.so"
# What every counted worker is told, whatever its framework: OpenBLAS (NumPy's, Theano's, PyTorch's)
# picks its kernels by CPU, and oneDNN and ATen (PyTorch) theirs.
AVX2_VARIABLES = {"OPENBLAS_CORETYPE": "Haswell", "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
AVX2_CXXFLAGS = "-march=x86-64-v3"  # Theano's and PyTensor's generated C: AVX2, not the host's -march=native
AVX2_XLA_FLAG = "--xla_cpu_max_isa=AVX2"  # JAX's compiled code (XLA_FLAGS)
AVX2_NUMBA_CPU = "haswell"  # Numba's LLVM target (NUMBA_CPU_NAME, PyTensor's NUMBA mode)
CALLGRIND_OPTIONS = ("--tool=callgrind", "--collect-atstart=no", "--instr-atstart=no", "--quiet")


def problem() -> str | None:
    """Why this machine cannot count instructions, or None."""
    if shutil.which(VALGRIND) is None:
        return "valgrind is not installed (Debian: apt install valgrind): instructions cannot be counted"
    if shutil.which("gcc") is None:
        return "gcc is not installed: the callgrind client library cannot be built"
    return None


def prepare(folder: Path) -> tuple[Path | None, str | None]:
    """Build the client library in ``folder``: (its path, None), or (None, why it cannot count)."""
    reason = problem()
    if reason:
        return None, reason
    folder.mkdir(parents=True, exist_ok=True)
    source, library = folder / "callgrind_requests.c", folder / LIBRARY_NAME
    source.write_text(SOURCE)
    built = subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], capture_output=True, text=True
    )
    if built.returncode != 0:
        return None, f"the callgrind client library did not build (valgrind's headers missing?): {built.stderr[-300:]}"
    return library, None


_BUILT: dict = {}


def library(compiledir: Path) -> tuple[Path | None, str | None]:
    """The client library beside the run's compile caches, built on first use: (path, None), or (None,
    why this machine cannot count)."""
    built = _BUILT.get(compiledir)
    if built is None or (built[0] is not None and not built[0].exists()):
        built = _BUILT[compiledir] = prepare(compiledir.parent / "counting")
    return built


def case_problem(case, compiledir: Path) -> str | None:
    """Why a counted case cannot be counted here (its cases are skipped with it), or None."""
    if case.device == "gpu":
        return "a count cannot see a GPU's work: metric instructions is for CPU cases"
    return framework(case.framework).uncountable(case.mode) or library(compiledir)[1]


def describe() -> dict:
    """What env.json records of the counting: valgrind's version and options, the AVX2 settings."""
    try:
        version = subprocess.run([VALGRIND, "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        version = None
    return {
        "valgrind": version,
        "options": list(CALLGRIND_OPTIONS),
        "avx2": {**AVX2_VARIABLES, "cxxflags": AVX2_CXXFLAGS, "xla": AVX2_XLA_FLAG, "numba": AVX2_NUMBA_CPU},
        "problem": problem(),
    }


def command(worker_command: list[str], out: Path) -> list[str]:
    """The worker's command under callgrind; its dumps go to ``out``.N."""
    return [VALGRIND, *CALLGRIND_OPTIONS, f"--callgrind-out-file={out}", *worker_command]


def environment(env: dict, framework: str, library: Path, out: Path) -> dict:
    """A counted worker's environment: the timed worker's ``env``, the library and output file, and AVX2."""
    env = {**env, **AVX2_VARIABLES, LIBRARY_VARIABLE: str(library), OUT_VARIABLE: str(out)}
    if framework == "theano":
        env["THEANO_FLAGS"] = f"{env['THEANO_FLAGS']},gcc__cxxflags={AVX2_CXXFLAGS}"
    if "PYTENSOR_FLAGS" in env:
        env["PYTENSOR_FLAGS"] = f"{env['PYTENSOR_FLAGS']},gcc__cxxflags={AVX2_CXXFLAGS}"
    if "XLA_FLAGS" in env:
        env["XLA_FLAGS"] = f"{env['XLA_FLAGS']} {AVX2_XLA_FLAG}"
    env["NUMBA_CPU_NAME"] = AVX2_NUMBA_CPU
    return env
