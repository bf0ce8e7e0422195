"""Measure a run's cases on a Dask distributed cluster: one case, one task.

The client (``gradcost run ... --dask tcp://HOST:8786``) writes the run
folder as a local run does; each Dask worker measures whole cases with the
same code as a local run (``schedule.measure_case``: fresh worker processes,
checks, added processes), on its own machine, and sends the rows back. Two
cases never share a machine: workers are started with one thread and the
resource ``gradcost=1``, which every task asks for (docs/scaling-out.md).
A worker lost mid-case: Dask's scheduler gives the case to another worker
(up to its ``allowed-failures``) and its partial work is discarded; a case it
gives up on, or that raises, is recorded as failed with the reason.
"""

from __future__ import annotations

from pathlib import Path

from harness.config.cases import expand
from harness.orchestrate import envinfo, probing, spawn, theano_env
from harness.orchestrate import runner as runs
from harness.orchestrate.record import signals_deferred
from harness.orchestrate.schedule import measure_case

RESOURCE = "gradcost"
WORKER_COMMAND = f"dask worker tcp://SCHEDULER:8786 --nthreads 1 --nworkers 1 --resources {RESOURCE}=1"
_host_state: dict = {}  # per Dask worker process: its environment and its frameworks' probes


class ClusterError(RuntimeError):
    """The cluster cannot take the run (unreachable, no worker with the gradcost resource)."""


def run_case(work, done: set, rows: list[dict], commit: str | None, runner=None) -> dict:
    """On a Dask worker: measure one case; return its workers' results and this machine's environment."""
    host = envinfo.host_name()
    env = _host_env(work.config)
    mine = (env.get("git") or {}).get("commit")
    if commit and mine != commit:
        return {
            "host": host,
            "env": env,
            "records": [],
            "refused": f"Dask worker {host} runs gradcost commit {mine}, the client {commit}",
        }
    frameworks = _frameworks(work.case)
    env = {**env, "frameworks": frameworks}
    records = []

    def keep(order, job, result, wall):
        result["host"] = host
        records.append((order, job, result, wall))

    measure_case(work, done, rows, runner or spawn.run_worker, Path(env["compiledir"]), frameworks, keep)
    return {"host": host, "env": env, "records": records}


def _host_env(config) -> dict:
    """This machine's environment, once per worker process (its Theano flags for every floatX of the config)."""
    if "env" not in _host_state:
        compiledir = theano_env.default_compiledir()
        _host_state["env"] = runs.machine_env(expand(config), compiledir)
    return _host_state["env"]


def _frameworks(case) -> dict:
    """This machine's environments of the case's framework, probed once per worker process;
    an unusable one is recorded (its cases are skipped with the reason), as with --skip-missing."""
    probed = _host_state.setdefault("frameworks", {})
    asked = _host_state.setdefault("asked", set())
    names = set(probing.environments_of([case]))
    if names - asked:
        probed.update(probing.check_environments([case], skip_missing=True))
        asked.update(names)
    return probed


def connect(address: str, connect_timeout_s: float = 30):
    """A Client of the scheduler at ``address`` that has a worker able to take a case; ClusterError
    (with the command that starts such a worker) otherwise."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError(
            "--dask needs Dask's distributed package: pip install -e '.[dask]' (make setup installs it into .venv)"
        ) from None
    try:
        client = Client(address, timeout=connect_timeout_s)
    except OSError as exc:
        raise ClusterError(f"no Dask scheduler at {address} ({exc})") from None
    try:
        _check_workers(client, address, connect_timeout_s)
    except ClusterError:
        client.close()
        raise
    return client


def check_cluster(address: str, connect_timeout_s: float = 30) -> None:
    """Refuse (ClusterError) a scheduler that is unreachable or has no worker that can take a case."""
    connect(address, connect_timeout_s).close()


def executor(address: str, connect_timeout_s: float = 30, retries: int = 1):
    """An executor (see runner._measure) that sends each case to the Dask cluster at ``address``."""

    def execute(work, done, measured, recorder, runner, compiledir, env) -> None:
        from distributed import as_completed

        with connect(address, connect_timeout_s) as client:
            env["executor"] = "dask"
            env["dask"] = {"scheduler": address, "distributed": _version(), "retries": retries}
            env.setdefault("hosts", {})
            commit = (env.get("git") or {}).get("commit")
            futures = {}
            for item in work:
                pending = [job for job in item.jobs if job.key(item.case) not in done]
                future = client.submit(
                    run_case,
                    item,
                    item.done_in(done),
                    item.rows_in(measured),
                    commit,
                    runner,
                    resources={RESOURCE: 1},
                    retries=retries,
                    pure=False,
                    key=f"gradcost-{item.case.config}-{item.case.name}-{id(item):x}",
                )
                futures[future] = (item, pending)
            try:
                for future in as_completed(futures):
                    item, pending = futures.pop(future)
                    _record(future, item, pending, recorder, env)
            except KeyboardInterrupt:
                client.cancel(list(futures))
                raise

    return execute


def _record(future, item, pending, recorder, env) -> None:
    """Write one finished case: its workers' rows, or every pending worker failed with the reason."""
    try:
        out = future.result()
    except Exception as exc:  # noqa: BLE001 - KilledWorker, an exception in the task: a result
        out = {"records": [], "refused": f"Dask task failed: {type(exc).__name__}: {exc}"}
    if out.get("env"):
        env["hosts"][out["host"]] = dict(out["env"])
    if out.get("refused"):
        records = [
            (
                order,
                job,
                {"status": "failed", "measurements": [], "error": out["refused"], "host": out.get("host")},
                0.0,
            )
            for order, job in enumerate(item.jobs)
            if job in pending
        ]
    else:
        records = out["records"]
        if len(records) > len(pending):
            recorder.grow(len(records) - len(pending))
    # A case lands whole: a resumed run never measures the rest of a case on another machine.
    with signals_deferred():
        for order, job, result, wall in records:
            recorder.record(item.case, job, order, result, wall, shown=False)


def _check_workers(client, address: str, timeout_s: float) -> None:
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except TimeoutError:
        raise ClusterError(
            f"the Dask scheduler at {address} has no worker; start one per machine: {WORKER_COMMAND}"
        ) from None
    workers = client.scheduler_info().get("workers", {})
    if not any(RESOURCE in (w.get("resources") or {}) for w in workers.values()):
        raise ClusterError(
            f"no Dask worker at {address} has the resource {RESOURCE!r}, so no case could run; "
            f"start workers as: {WORKER_COMMAND}"
        )


def _version() -> str | None:
    return envinfo._version("distributed")
