"""Test-wide Theano settings: they must be in place before the first import of theano."""

import os
import subprocess
import sys

import pytest

from harness.orchestrate import environments, theano_env

os.environ.update(environments.worker_env("theano", theano_env.default_compiledir(), "float64", None))
# Fake and tiny runs draw no figures unless a test looks at them (the `plots` fixture).
os.environ["GRADCOST_PLOTS"] = "off"
# Nor do they time the machine's pace at their start and end (a process each), unless a test asks.
os.environ["GRADCOST_CALIBRATION"] = "off"


@pytest.fixture(autouse=True, scope="session")
def probe_once():
    """Each framework environment is probed once per test run (starting its interpreter and importing its
    framework takes seconds), not once per run a test makes; a test that points a framework at another
    interpreter (GRADCOST_PYTHON_NAME) gets that one probed."""

    probe, cache = environments.probe, {}

    def cached(name, distribution=None):
        key = (name, environments.interpreter(name), distribution)
        if key not in cache:
            cache[key] = probe(name, distribution)
        return dict(cache[key])

    environments.probe = cached
    yield
    environments.probe = probe


@pytest.fixture
def plots(monkeypatch):
    """Runs in this test draw their figures, as a user's do."""
    monkeypatch.setenv("GRADCOST_PLOTS", "on")


def pytest_sessionstart(session):
    """Theano compiles its lazy linker into the compiledir at its first compiled function (not at its
    import), and leaves that C file open (a ResourceWarning, an error under this suite's warning filters).
    Compiling one function in a child process first makes every test independent of which test compiles
    first in a cold compiledir (a fresh clone)."""
    build = "import theano, theano.tensor as T; x = T.dvector(); theano.function([x], 2 * x)"
    subprocess.run([sys.executable, "-c", build], env=os.environ, capture_output=True, timeout=600, check=True)


@pytest.fixture(autouse=True)
def stock_theano_linker():
    """A warm worker run in the test process patches Theano's CLinker for the whole process
    (``theano_cache_key.apply``): undo it after every test, so that no later test runs patched Theano."""
    yield
    basic = sys.modules.get("theano.link.c.basic")
    if basic is not None and getattr(basic.CLinker.cmodule_key_, "gradcost_fixed", False):
        basic.CLinker.cmodule_key_ = basic.CLinker.cmodule_key_.__wrapped__


# The files whose real runs take minutes, longest first (a new machine, 2026-12-03: the every-mode run of Theano and
# PyTensor 329 s with NUMBA's cold compile, now a file of its own; counting 150 s, JAX and PyTorch 118 s, end to end
# 130 s, ...). make test gives whole files to its
# two pytest workers in collection order (--dist loadfile): started last, the longest file ran alone at the end
# while the other worker idled. Started first, the short files fill in beside it.
LONGEST_FIRST = (
    "test_every_mode_symbolic.py",
    "test_counting.py",
    "test_every_mode_numba.py",
    "test_every_mode_jax_torch.py",
    "test_end_to_end.py",
    "test_frameworks.py",
    "test_releases.py",
    "test_scale.py",
    "test_strategies.py",
    "test_paired.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file's own order kept
