"""Launch one worker: decide whether it can run (environment, memory), then start it in its environment."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from harness.config.schema import Config
from harness.core.case import Case
from harness.core.registry import EXPECTED_FAILURE, framework
from harness.orchestrate import counting, environments, memory, theano_env
from harness.orchestrate.plan import Job, make_task


def run_job(
    config: Config,
    case: Case,
    job: Job,
    runner,
    compiledir: Path,
    display=None,
    frameworks: dict | None = None,
    repeat_budget_s: float | None = None,
    cancel=None,
) -> dict:
    """Start ``job``'s worker, or skip it with the reason. ``repeat_budget_s``: the seconds of auto repeats
    each of its values may take, where the run's time budget gives it less than its config's ``budget_s``.
    ``cancel``: a duet's event that kills the worker when its partner is interrupted (``spawn.run_worker``)."""
    estimate = memory.estimate_mb(case.model, job.strategy)
    limit = memory.limit_mb(config.run.max_memory_mb)
    info = (frameworks or {}).get(case.env_name)
    unusable = (
        (info or {}).get("unusable")
        or (environments.gpu_problem(case.env_name, info) if case.device == "gpu" else None)
        or (counting.case_problem(case, compiledir) if case.metric == "instructions" else None)
    )
    if unusable:  # decided from the environment's probe: no worker starts
        result = {"status": "skipped", "measurements": [], "error": unusable}
    elif limit is not None and estimate > limit:
        result = {
            "status": "skipped",
            "measurements": [],
            "error": f"estimated memory {estimate:.0f} MB > limit {limit:.0f} MB "
            "(set run.max_memory_mb, or shrink the case)",
        }
    else:
        extra = {"on_phase": display.phase} if display is not None and cancel is None else {}
        if cancel is not None:
            extra["cancel"] = cancel
        if case.env_name != "theano" or os.environ.get(environments.python_variable("theano")):
            extra["command"] = environments.worker_command(case.env_name)
        # Cold: an empty cache of its own, so the compile has to build everything.
        shared = environments.cache_dir(case.env_name, compiledir)
        if case.metric == "instructions":  # its generated code is built for AVX2: a cache of its own
            shared = shared.parent / f"{shared.name}-counted"
        shared.mkdir(parents=True, exist_ok=True)
        cache_dir = theano_env.fresh_compiledir(shared) if job.cache == "cold" else contextlib.nullcontext(shared)
        with cache_dir as path, counted(case, compiledir, extra) as count:
            env = environments.worker_env(case.env_name, path, case.model.floatX, case.threads, device=case.device)
            task = make_task(case, config, job, repeat_budget_s)
            result = runner(task, count(env), config.run.timeouts, **extra)
    result["memory_estimate_mb"] = round(estimate, 1)
    return expected_outcome(case, result)


@contextlib.contextmanager
def counted(case: Case, compiledir: Path, extra: dict):
    """For a counted case: the worker's command under callgrind (in ``extra``), and a function that
    turns its environment into a counted one; callgrind's dumps go to a folder removed afterwards.
    For a timed case: nothing changes."""
    if case.metric != "instructions":
        yield lambda env: env
        return
    library, _ = counting.library(compiledir)
    with tempfile.TemporaryDirectory(prefix="gradcost-callgrind-") as folder:
        out = Path(folder, "callgrind.out")
        extra["command"] = counting.command(extra.get("command") or environments.worker_command(case.env_name), out)
        yield lambda env: counting.environment(env, case.framework, library, out)


def expected_outcome(case: Case, result: dict) -> dict:
    """A failure the case's framework declares for its mode becomes ``expected failure`` (with the
    reason); anything else stays as it is (an unexpected pass is reported from workers.csv)."""
    declared = framework(case.framework).expected_failure(case.mode)
    if declared and result["status"] == "failed" and declared.error in str(result.get("error")):
        return {**result, "status": EXPECTED_FAILURE, "error": f"{result['error']} (expected: {declared.reason})"}
    return result
