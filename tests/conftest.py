"""Test-wide Theano settings: they must be in place before the first import of theano."""

import os
import subprocess
import sys

from harness.orchestrate import theano_env

os.environ.update(theano_env.worker_env(theano_env.default_compiledir(), "float64"))


def pytest_sessionstart(session):
    """Theano compiles its lazy linker into the compiledir at its first import, and leaves that C file
    open (a ResourceWarning, an error under this suite's warning filters). Importing it once in a
    child process first makes every test independent of which test imports Theano first."""
    subprocess.run([sys.executable, "-c", "import theano"], env=os.environ, capture_output=True, timeout=600)
