"""Orchestrate a run: cases × strategies, each in a fresh worker process.

The orchestrator never imports Theano and never times anything itself; it
hands plain-data tasks to workers (see spawn and worker), and writes each
worker's rows to the run folder as soon as they arrive.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from harness import results
from harness.config.recorded import config_from_dict
from harness.config.schema import Config
from harness.core.case import Case
from harness.orchestrate import calibration, counting, envinfo, environments, spawn, theano_env
from harness.orchestrate.budget import RunBudget
from harness.orchestrate.plan import CaseWork, plan, whole_pairs, with_measured_versions
from harness.orchestrate.probing import check_environments, environments_of, frameworks_of, release_record
from harness.orchestrate.record import Progress, Recorder, drop_rows_not_in, signals_deferred
from harness.orchestrate.schedule import measure_cases


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a run; what finished is on disk in ``run_dir``."""

    def __init__(self, run_dir: Path, done: int, total: int):
        super().__init__(f"interrupted after {done} of {total} workers")
        self.run_dir, self.done, self.total = run_dir, done, total


def run(
    configs: list[Config],
    out_root: Path,
    progress: Progress = print,
    runner: Callable[..., dict] | None = None,
    compiledir: Path | None = None,
    display=None,
    probe=None,
    skip_missing: bool = False,
    shard: dict | None = None,
    executor=None,
    time_budget_s: float | None = None,
) -> Path:
    """Measure every case of ``configs`` (or of one shard: see harness.scale.shards) into a new run
    folder; return it. ``executor``: who measures the cases (default: this machine, one after another).
    ``time_budget_s``: the most the workers may take in all (``harness.orchestrate.budget``)."""
    compiledir = compiledir or theano_env.default_compiledir()
    # Before anything is measured or written:
    check_budget(time_budget_s, executor)
    work = plan(configs)  # every case and its workers, once: everything below reads the plan
    cases = [item.case for item in work]
    frameworks = check_environments(cases, probe, skip_missing, progress)
    run_dir = results.new_run_dir(out_root)
    env = machine_env(cases, compiledir)
    env["frameworks"] = frameworks
    # Every environment's release (its version, date, Python, requirements): the lineage's time axis.
    env["releases"] = {name: release_record(r) for name, r in environments_of(cases).items()}
    env.update(
        {
            "schema_version": results.SCHEMA_VERSION,
            "run_id": run_dir.name,
            "files": results.FILES,
            "configs": [c.as_dict() for c in configs],
        }
    )
    if shard is not None:
        env["shard"] = shard
    if any(case.metric == "instructions" for case in cases):
        env["counting"] = counting.describe()
    for name in frameworks_of(cases):
        info = frameworks.get(name) or ({"bytecode": env["bytecode"]} if name == "theano" else None)
        note = environments.bytecode_note(name, info)
        if note:
            progress(note)
    _measure(work, run_dir, env, set(), progress, runner, compiledir, display, executor, time_budget_s)
    return run_dir


def check_budget(time_budget_s: float | None, executor) -> None:
    """ValueError unless a time budget, if given, is a positive number and bounds this machine's workers."""
    if time_budget_s is None:
        return
    if executor not in (None, local_executor):
        raise ValueError("--time-budget bounds the workers of this machine; a cluster's workers run elsewhere")
    RunBudget(time_budget_s)  # refuses a budget that is not a positive number


def machine_env(cases: list[Case], compiledir: Path) -> dict:
    """This machine's environment for env.json: software, hardware, BLAS, Theano's flags (for every floatX
    of the cases)."""
    ldflags, choice = theano_env.detect_blas()
    floatxs = dict.fromkeys(case.model.floatX for case in cases)
    flags = {f: theano_env.theano_flags(compiledir, f, ldflags) for f in floatxs}
    return envinfo.collect(ldflags, choice, flags, compiledir)


def resume(
    run_dir: Path,
    progress: Progress = print,
    runner: Callable[..., dict] | None = None,
    retry_failed: bool = False,
    display=None,
    probe=None,
    skip_missing: bool = False,
    executor=None,
    time_budget_s: float | None = None,
) -> Path:
    """Run only the workers a run folder does not have yet (same configs, same order).

    Failed and skipped workers count as done (their failure is a result),
    unless ``retry_failed``: then their rows are removed and they run again.
    A pair (or block) of workers cut in two is measured again whole (``plan.whole_pairs``).
    A shard's folder resumes its own cases (env.json ``shard``).
    """
    check_budget(time_budget_s, executor)
    data = results.read_run(run_dir)
    env = data["env"]
    if env.get("schema_version") != results.SCHEMA_VERSION:
        raise ValueError(
            f"{run_dir}: written in results schema {env.get('schema_version')}; this gradcost "
            f"appends schema {results.SCHEMA_VERSION} rows: resume it with the gradcost commit "
            f"recorded in env.json ({(env.get('git') or {}).get('commit')})"
        )
    work = plan([config_from_dict(d) for d in env["configs"]])
    env.setdefault("frameworks", {}).update(
        check_environments([item.case for item in work], probe, skip_missing, progress)
    )
    workers = data["workers"]
    if retry_failed:
        workers = workers[workers["status"] == "ok"]
    done = whole_pairs(work, {tuple(k) for k in workers[list(results.WORKER_KEY)].itertuples(index=False)})
    drop_rows_not_in(run_dir, done)
    env.setdefault("resumed", []).append(
        {"date": envinfo.collect_date(), "loadavg": envinfo._loadavg(), "git": envinfo.git_state()}
    )
    _measure(
        work, Path(run_dir), env, done, progress, runner, Path(env["compiledir"]), display, executor, time_budget_s
    )
    return Path(run_dir)


def local_executor(
    work: list[CaseWork],
    done: set,
    measured: pd.DataFrame,
    recorder: Recorder,
    runner,
    compiledir: Path,
    env: dict,
    budget: RunBudget | None = None,
) -> None:
    """Measure the cases on this machine, interleaved in rounds (``measure_cases``), within ``budget``."""
    rows = {item.key: item.rows_in(measured) for item in work}
    measure_cases(
        work,
        done,
        rows,
        runner,
        compiledir,
        env.get("frameworks"),
        on_worker=lambda item, order, job, result, wall: recorder.record(item.case, job, order, result, wall),
        on_more=recorder.grow,
        display=recorder.display,
        budget=budget,
    )


def _measure(
    planned: list[CaseWork],
    run_dir: Path,
    env: dict,
    done: set,
    progress: Progress,
    runner: Callable[..., dict] | None,
    compiledir: Path,
    display=None,
    executor=None,
    time_budget_s: float | None = None,
) -> None:
    """Run the ``planned`` jobs not in ``done`` (of the run's shard, if it has one) and write the derived files.

    ``display`` (a progress.Bar) is told what runs, if given; ``executor``
    measures the cases (``local_executor``, or a cluster's: see harness.scale);
    ``time_budget_s`` bounds this machine's workers (a cluster's run elsewhere: refused).
    """
    runner = runner or spawn.run_worker
    executor = executor or local_executor
    compiledir.mkdir(parents=True, exist_ok=True)
    work = with_measured_versions(planned, env.get("frameworks") or {})
    if env.get("shard"):
        mine = {tuple(k) for k in env["shard"]["cases"]}
        work = [item for item in work if item.key in mine]
    todo = sum(1 for item in work for job in item.jobs if job.key(item.case) not in done)
    # The machine's pace now (a resumed run adds its own); not on a cluster, whose workers run elsewhere.
    calibrated = calibration.enabled() and executor is local_executor
    if calibrated:
        env.setdefault("calibration", []).append(calibration.calibrate("start"))
    env["status"] = "running"
    results.write_json(run_dir / "env.json", env)
    # What earlier runs of this folder measured (resume): adding processes looks at it.
    measured = results.read_csv(run_dir, "measurements.csv")
    recorder = Recorder(run_dir, todo, progress, display)
    budget = None if time_budget_s is None else RunBudget(time_budget_s)
    try:
        with environments.case_data(compiledir):  # each case's parameters and reference, computed once
            if budget is None:
                executor(work, done, measured, recorder, runner, compiledir, env)
            else:
                executor(work, done, measured, recorder, runner, compiledir, env, budget)
        if calibrated:
            env["calibration"].append(calibration.calibrate("end"))
        env["status"] = "complete"
    except KeyboardInterrupt:
        env["status"] = "interrupted"
        # What the report says of it, with the command that resumes it (the log that printed it may be lost).
        env["interrupted"] = {
            "finished": recorder.finished,
            "of": recorder.todo,
            "time_budget_s": time_budget_s,
            "cluster": executor is not local_executor,
        }
        raise RunInterrupted(run_dir, recorder.finished, recorder.todo) from None
    finally:
        # A second signal (a Ctrl-C pressed twice, a kill sent to a whole process group) must not cut the
        # run's own state short: once interrupted, further interrupts are dropped until env.json is written.
        with signals_deferred(deliver=env["status"] != "interrupted"):
            recorder.close()
            if budget is not None:
                env.setdefault("time_budget", []).append(budget.describe())
            env["loadavg_end"] = envinfo._loadavg()
            workers = results.read_csv(run_dir, "workers.csv")
            env["failures"] = results.failures(workers)
            env["unexpected_passes"] = results.unexpected_passes(workers)
            results.write_json(run_dir / "env.json", env)
        if env["status"] == "complete":
            try:
                finish(run_dir)
            except KeyboardInterrupt:  # every worker measured; resuming writes the report again
                raise RunInterrupted(run_dir, recorder.finished, recorder.todo) from None
        else:  # an interrupted run must still end with its message, whatever the report does
            try:
                finish(run_dir)
            except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001
                why = "interrupted again" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
                progress(f"warning: report not written ({why}); rerun: {sys.executable} -m harness report {run_dir}")


def finish(run_dir: Path) -> None:
    """Write summary.csv and the plots from the measurements on disk."""
    from harness.report.files import write_report

    write_report(run_dir)
