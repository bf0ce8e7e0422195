"""The environment a Theano worker runs in: THEANO_FLAGS, BLAS, compiledir.

Nothing here imports Theano: these settings only take effect if they are in
the environment before the first ``import theano`` of a process, so the parent
decides them and passes them to each worker.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.orchestrate import REPO

OPENBLAS_FLAGS = "-lopenblas"
_DGEMM_PROBE = "extern void dgemm_(void);\nint main(void) { dgemm_(); return 0; }\n"


@functools.cache
def detect_blas() -> tuple[str, str]:
    """Return (ldflags, description): OpenBLAS when a C program links against it.

    Theano cannot find BLAS by itself on Python 3.11; an empty value makes it
    use its slower NumPy C-API fallback.
    """
    forced = os.environ.get("GRADCOST_BLAS_LDFLAGS")
    if forced is not None:
        return forced, "set by GRADCOST_BLAS_LDFLAGS" if forced else "numpy C-API fallback (forced)"
    if _links(OPENBLAS_FLAGS):
        return OPENBLAS_FLAGS, "OpenBLAS"
    return "", "numpy C-API fallback (OpenBLAS not linkable)"


def _links(ldflags: str) -> bool:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "probe.c")
        src.write_text(_DGEMM_PROBE)
        proc = subprocess.run([cc, str(src), "-o", str(Path(tmp, "probe")), *ldflags.split()], capture_output=True)
        return proc.returncode == 0


def default_compiledir() -> Path:
    """The harness-owned Theano compile cache (override with GRADCOST_COMPILEDIR)."""
    env = os.environ.get("GRADCOST_COMPILEDIR")
    if env:
        return Path(env)
    return REPO / ".cache" / "theano"


@contextlib.contextmanager
def fresh_compiledir(compiledir: Path):
    """An empty compiledir beside the shared one, removed afterwards."""
    root = compiledir.parent / "cold"
    root.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def theano_flags(compiledir: Path, floatX: str, ldflags: str, nested: bool = False) -> str:
    """THEANO_FLAGS for a worker. Values may not contain commas. ``nested``: Theano up to 1.0 names the
    BLAS flag ``blas.ldflags`` (Theano-PyMC 1.1: ``blas__ldflags``)."""
    blas = "blas.ldflags" if nested else "blas__ldflags"
    return ",".join([f"base_compiledir={compiledir}", f"floatX={floatX}", f"{blas}={ldflags}", "device=cpu"])


def nested_flags(version: str | None) -> bool:
    """Whether a Theano release names its flags with dots (every release before Theano-PyMC 1.1)."""
    if version is None:
        return False
    major_minor = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    return major_minor < (1, 1)


# Read by OpenBLAS (Theano's and NumPy's), OpenMP and MKL when they load.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


PTH_NAME = "zz-gradcost-theano-flags.pth"  # after the editable install's own .pth


def set_default_flags() -> None:
    """THEANO_FLAGS for a process started without them (a REPL, a notebook kernel in .venv).

    Without blas__ldflags, ``import theano`` on Python 3.11 fails in Theano's own
    BLAS probe (an AttributeError from numpy.distutils); this gives it the BLAS
    and compiledir the harness uses. Flags already set are left alone.
    """
    if "THEANO_FLAGS" not in os.environ:
        ldflags, _ = detect_blas()
        os.environ["THEANO_FLAGS"] = ",".join([f"base_compiledir={default_compiledir()}", f"blas__ldflags={ldflags}"])


def install_pth(site_packages: Path | None = None) -> Path:
    """A .pth in the environment's site-packages that runs set_default_flags at start-up."""
    import sysconfig

    target = Path(site_packages or sysconfig.get_paths()["purelib"]) / PTH_NAME
    target.write_text(
        'import os; "THEANO_FLAGS" in os.environ or '
        '__import__("importlib").import_module("harness.orchestrate.theano_env").set_default_flags()\n'
    )
    return target


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["install-pth"]:
        sys.exit("usage: python -m harness.orchestrate.theano_env install-pth")
    print(f"installed {install_pth()}: import theano works in .venv without THEANO_FLAGS")
