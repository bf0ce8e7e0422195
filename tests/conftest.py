"""Test-wide Theano settings: they must be in place before the first import of theano."""
import os

from harness.measure import theano_env

os.environ.update(theano_env.worker_env(theano_env.default_compiledir(), "float64"))
