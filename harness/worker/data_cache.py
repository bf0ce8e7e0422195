"""A run's case data, computed once: the parameters and the NumPy reference gradients every worker of a case needs.

A worker of the question's network spent 2.9 s drawing its 105 million parameters and 4.0 s computing the
hand-written NumPy gradient it checks against (2026-12-03, this project's 2-core VM; of a 21 s worker, 6 s
timed): the same arrays in every worker of the case, since they follow from the model, the seed and the
code. The first worker writes them to the run's data folder (``GRADCOST_DATA_CACHE``, set by the
orchestrator for the run and removed after it), each later one reads them (0.2-0.5 s). Nothing timed
changes: the arrays are read into ordinary memory, as drawn ones are. The key holds everything they follow
from (the model, the seed, NumPy's version, the source of the code that makes them), so another release's
environment, a changed model or changed code never reads another's arrays. Where the folder is not set or
cannot be written (a cluster worker on another machine), the arrays are computed as before.
Standard library and NumPy only: the child side runs on every Python a measured release needs.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from harness.core.data import DATA_CACHE_VARIABLE as VARIABLE

_SOURCES = ("core/data.py", "worker/numpy_reference.py", "worker/data_cache.py")


def _code_hash() -> str:
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()


def key(kind: str, parts) -> str:
    """The file name of ``kind``'s arrays for ``parts`` (model, seed, ...) in this environment and code."""
    text = json.dumps([kind, parts, np.__version__, _code_hash()], sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(text.encode()).hexdigest()[:24]}.npz"


def cached(kind: str, parts, compute, environ=None) -> list:
    """``compute()``'s list of arrays, read from the run's data folder where an earlier worker wrote them;
    otherwise computed, and written there for the next (atomically: a concurrent worker reads whole files)."""
    folder = (os.environ if environ is None else environ).get(VARIABLE)
    if not folder:
        return compute()
    path = Path(folder, key(kind, parts))
    try:
        with np.load(str(path)) as stored:
            return [stored[f"a{i}"] for i in range(len(stored.files))]
    except (OSError, ValueError, KeyError):
        pass
    arrays = compute()
    tmp = None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **{f"a{i}": np.asarray(a) for i, a in enumerate(arrays)})
        os.replace(tmp, str(path))
    except OSError:  # a folder this worker cannot write (full, elsewhere): it computed its arrays, the next will too
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
    return arrays
