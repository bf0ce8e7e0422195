"""The run's case data (issue 34, item 3): each case's parameters and NumPy reference gradients computed once
a run, read back equal by every later worker, and computed as before where no folder is given or writable."""

import os

import numpy as np
from helpers import tiny_model

from harness.core.data import init_params
from harness.worker import data_cache


def counting(arrays):
    calls = []

    def compute():
        calls.append(1)
        return [a.copy() for a in arrays]

    return compute, calls


def test_the_first_worker_computes_and_the_next_reads_the_same_arrays(tmp_path):
    model = tiny_model(floatX="float32")
    compute, calls = counting(init_params(model, 3))
    env = {data_cache.VARIABLE: str(tmp_path / "data")}
    first = data_cache.cached("params", [model.input, 3], compute, env)
    again = data_cache.cached("params", [model.input, 3], compute, env)
    assert len(calls) == 1
    assert [a.dtype for a in again] == [np.dtype("float32")] * len(first)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    other = data_cache.cached("params", [model.input, 4], compute, env)  # another seed: another file
    assert len(calls) == 2 and len(other) == len(first)
    assert not list((tmp_path / "data").glob("*.tmp"))  # written atomically


def test_without_a_folder_or_one_it_cannot_write_every_worker_computes(tmp_path):
    compute, calls = counting([np.arange(3.0)])
    data_cache.cached("grads", [1], compute, {})
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    data_cache.cached("grads", [1], compute, {data_cache.VARIABLE: str(blocked / "data")})
    data_cache.cached("grads", [1], compute, {data_cache.VARIABLE: str(blocked / "data")})
    assert len(calls) == 3


def test_the_key_changes_with_the_kind_the_parts_and_numpys_version(monkeypatch):
    a = data_cache.key("params", [{"input": 5}, 0])
    assert a == data_cache.key("params", [{"input": 5}, 0])
    assert a != data_cache.key("grads", [{"input": 5}, 0]) != data_cache.key("params", [{"input": 6}, 0])
    monkeypatch.setattr(np, "__version__", "0.0.1")
    assert a != data_cache.key("params", [{"input": 5}, 0])


def test_a_run_names_one_folder_to_all_its_workers_and_removes_it_after(tmp_path):
    from helpers import fake_worker

    from harness.config.schema import parse_config
    from harness.orchestrate import runner

    seen = []

    def worker(task, env, timeouts, **kwargs):
        folder = env.get(data_cache.VARIABLE)
        seen.append((folder, folder is not None and os.path.isdir(folder)))
        return fake_worker(task, env, timeouts)

    config = parse_config({"name": "d", "model": {"input": 3, "depth": 1, "width": 2, "output": 2}}, source="d")
    runner.run([config], tmp_path, progress=lambda s: None, runner=worker, compiledir=tmp_path / "cc" / "theano")
    assert len({folder for folder, _ in seen}) == 1 and all(exists for _, exists in seen)
    assert seen[0][0].startswith(str(tmp_path / "cc")) and not os.path.exists(seen[0][0])
    assert data_cache.VARIABLE not in os.environ
