"""The task and the result, typed on both sides of the process boundary."""

import json

import pytest

from harness.config.schema import parse_config
from harness.core.task import Result, Task
from harness.orchestrate import plan as planning


def test_every_planned_task_reads_back_as_the_task_it_was():
    config = parse_config(
        {
            "name": "t",
            "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
            "run": {"cache": "both"},
            "sweep": {"framework": ["theano", "jax"]},
        },
        source="t.yaml",
    )
    for item in planning.plan([config]):
        for job in item.jobs:
            sent = json.loads(json.dumps(planning.make_task(item.case, config, job)))  # as the file carries it
            task = Task.from_json(sent)
            assert task.to_json() == sent
            assert (task.framework, task.strategy, task.cache) == (item.case.framework, job.strategy, job.cache)
            assert task.model["hidden"] == [2] and task.kind == "gradient"


def test_a_task_or_result_this_gradcost_does_not_know_is_refused():
    with pytest.raises(ValueError, match="unknown task field"):
        Task.from_json({"model": {}, "stratgy": "single"})
    with pytest.raises(ValueError, match="unknown task kind 'bench'"):
        Task.from_json({"kind": "bench"})
    with pytest.raises(ValueError, match="unknown result field"):
        Result.from_json({"status": "ok", "rows": []})
    with pytest.raises(ValueError, match="unknown worker status 'fine'"):
        Result.from_json({"status": "fine"})
    kept = Result.from_json({"status": "ok", "measurements": [{"phase": "execute"}], "graph": None}).to_json()
    assert kept["measurements"] == [{"phase": "execute"}] and "graph" not in kept  # absent, never None
