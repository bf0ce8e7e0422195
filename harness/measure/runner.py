"""Orchestrate a run: cases × strategies, each in a fresh worker process.

The orchestrator never imports Theano and never times anything itself; it
hands plain-data tasks to workers (see spawn and worker), and writes each
worker's rows to the run folder as soon as they arrive.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import random
import signal
import threading
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from harness.measure import environments, envinfo, memory, spawn, theano_env
from harness import results
from harness.backends import framework
from harness.config.cases import Case, expand
from harness.config.schema import Config, parse_config

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Job:
    """One worker process: a strategy of a case, with a warm or a cold compile cache.

    A warm job measures every phase, and a case has ``run.processes`` of
    them per strategy. A cold job measures one compile into an empty
    compiledir, so a case has ``processes x repeats.compile`` cold jobs per
    Theano strategy: as many compiles as the warm jobs time. Jobs of the same
    strategy and cache are told apart by ``slot``.
    """
    strategy: str
    cache: str
    slot: int = 0

    def key(self, case: Case) -> tuple:
        return (case.config, case.name, self.strategy, self.cache, self.slot)


def case_jobs(config: Config, case_index: int, cold_cache: bool = True) -> list[Job]:
    """A case's workers, shuffled reproducibly with the config's seed.

    ``cold_cache``: whether the case's framework and mode have a compile cache
    to measure empty (see ``Framework.has_cold_cache``).
    """
    jobs = []
    for strategy in config.run.strategies:
        if "warm" in config.run.caches:
            jobs += [Job(strategy, "warm", k) for k in range(config.run.processes)]
        if "cold" in config.run.caches and strategy != "numpy_reference" and cold_cache:
            # As many cold compiles as warm ones: every process times repeats.compile
            # (with auto repeats, one cold compile per warm process).
            per_process = config.run.repeats["compile"]
            n_cold = config.run.processes * (per_process if isinstance(per_process, int) else 1)
            jobs += [Job(strategy, "cold", k) for k in range(n_cold)]
    if config.run.order == "shuffled":
        random.Random(f"{config.run.seed}:{case_index}").shuffle(jobs)
    return jobs


def make_task(case: Case, config: Config, job: Job) -> dict:
    return {"config": case.config, "case": case.name, "model": asdict(case.model),
            "framework": case.framework, "mode": case.mode, "threads": case.threads,
            "strategy": job.strategy, "cache": job.cache,
            "seed": config.run.seed, "repeats": dict(config.run.repeats),
            "warmup": dict(config.run.warmup), "min_time_s": config.run.min_time_s,
            "precision": config.run.precision, "budget_s": config.run.budget_s, "device": case.device,
            "limit": measures_limit(config, job)}


def measures_limit(config: Config, job: Job) -> bool:
    """Whether this job also times the framework's matrix products (limits.csv): once per case,
    in the first warm worker of the first gradient strategy."""
    gradient = [s for s in config.run.strategies if s != "numpy_reference"]
    return bool(gradient) and job == Job(gradient[0], "warm", 0)


def job_label(job: Job) -> str:
    """' cold #2', ' #3' (a later warm process) or '': appended to a worker's name in progress lines."""
    label = results.slot_label(job.cache, job.slot)
    return f" {label}" if label else ""


def job_phases(case: Case, job: Job) -> tuple[str, ...]:
    spec = framework(case.framework)
    return spec.cold_phases(case.mode) if job.cache == "cold" else spec.phases(case.mode, job.strategy)


def worker_rows(case: Case, job: Job, order: int, result: dict) -> list[dict]:
    """measurements.csv rows of one worker; a failure or skip gives one row per phase."""
    base = {"config": case.config, "case": case.name, **case.columns(),
            "strategy": job.strategy, "cache": job.cache, "slot": job.slot, "order": order,
            "host": result.get("host") or envinfo.host_name()}
    if result["status"] != "ok":
        return [{**base, "phase": p, "repeat": None, "seconds": None, "status": result["status"],
                 "error": result.get("error")} for p in job_phases(case, job)]
    return [{**base, **m, "status": "ok", "error": None} for m in result["measurements"]]


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a run; what finished is on disk in ``run_dir``."""

    def __init__(self, run_dir: Path, done: int, total: int):
        super().__init__(f"interrupted after {done} of {total} workers")
        self.run_dir, self.done, self.total = run_dir, done, total


def frameworks_of(configs: list[Config]) -> list[str]:
    return list(dict.fromkeys(case.framework for config in configs for case in expand(config)))


def check_environments(configs: list[Config], probe: Callable[[str], dict] | None = None,
                       skip_missing: bool = False) -> dict:
    """Each framework's environment, asked once what it has; EnvironmentProblem if one is unusable.

    Theano's is the orchestrator's own .venv (its versions come from envinfo);
    the others are probed, unless ``probe`` is False (tests with fake workers).
    With ``skip_missing``, an unusable environment is recorded (``unusable``)
    and its framework's cases are skipped with the reason, not the whole run.
    """
    if probe is False:
        return {}
    probe = probe or environments.probe
    out = {}
    for name in frameworks_of(configs):
        if name == "theano" and not os.environ.get(environments.python_variable("theano")):
            continue
        try:
            info = probe(name)
        except environments.EnvironmentProblem as exc:
            if not skip_missing:
                raise
            info = {"unusable": str(exc)}
        info["cache_kind"] = framework(name).cache_kind
        out[name] = info
    return out


def run(configs: list[Config], out_root: Path, progress: Progress = print,
        runner: Callable[..., dict] | None = None, compiledir: Path | None = None,
        display=None, probe=None, skip_missing: bool = False, shard: dict | None = None,
        executor=None) -> Path:
    """Measure every case of ``configs`` (or of one shard: see harness.scale.shards) into a new run
    folder; return it. ``executor``: who measures the cases (default: this machine, one after another)."""
    compiledir = compiledir or theano_env.default_compiledir()
    # Before anything is measured or written:
    frameworks = check_environments(configs, probe, skip_missing)
    run_dir = results.new_run_dir(out_root)
    env = machine_env(configs, compiledir)
    env["frameworks"] = frameworks
    env.update({"schema_version": results.SCHEMA_VERSION, "run_id": run_dir.name,
                "files": results.FILES, "configs": [c.as_dict() for c in configs]})
    if shard is not None:
        env["shard"] = shard
    _measure(configs, run_dir, env, set(), progress, runner, compiledir, display, executor)
    return run_dir


def machine_env(configs: list[Config], compiledir: Path) -> dict:
    """This machine's environment for env.json: software, hardware, BLAS, Theano's flags."""
    ldflags, choice = theano_env.detect_blas()
    floatxs = dict.fromkeys(case.model.floatX for config in configs for case in expand(config))
    flags = {f: theano_env.theano_flags(compiledir, f, ldflags) for f in floatxs}
    return envinfo.collect(ldflags, choice, flags, compiledir)


def resume(run_dir: Path, progress: Progress = print, runner: Callable[..., dict] | None = None,
           retry_failed: bool = False, display=None, probe=None, skip_missing: bool = False,
           executor=None) -> Path:
    """Run only the workers a run folder does not have yet (same configs, same order).

    Failed and skipped workers count as done (their failure is a result),
    unless ``retry_failed``: then their rows are removed and they run again.
    A shard's folder resumes its own cases (env.json ``shard``).
    """
    data = results.read_run(run_dir)
    env = data["env"]
    if env.get("schema_version") != results.SCHEMA_VERSION:
        raise ValueError(f"{run_dir}: written in results schema {env.get('schema_version')}; this gradbench "
                         f"appends schema {results.SCHEMA_VERSION} rows: resume it with the gradbench commit "
                         f"recorded in env.json ({(env.get('git') or {}).get('commit')})")
    configs = [config_from_dict(d) for d in env["configs"]]
    env.setdefault("frameworks", {}).update(check_environments(configs, probe, skip_missing))
    workers = data["workers"]
    if retry_failed:
        workers = workers[workers["status"] == "ok"]
    done = {tuple(k) for k in workers[list(results.WORKER_KEY)].itertuples(index=False)}
    results.drop_rows_not_in(run_dir, done)
    env.setdefault("resumed", []).append({"date": envinfo.collect_date(),
                                          "loadavg": envinfo._loadavg(), "git": envinfo.git_state()})
    _measure(configs, Path(run_dir), env, done, progress, runner, Path(env["compiledir"]), display, executor)
    return Path(run_dir)


@dataclass(frozen=True)
class CaseWork:
    """One case of a run with its planned workers: the unit a shard or a cluster task gets."""
    config: Config
    index: int  # the case's position in its config (the seed of its job order)
    case: Case
    jobs: tuple[Job, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.case.config, self.case.name)


def plan(configs: list[Config]) -> list[CaseWork]:
    """Every case of the configs, in config and file order, with its planned workers."""
    return [CaseWork(config, index, case,
                     tuple(case_jobs(config, index, framework(case.framework).has_cold_cache(case.mode))))
            for config in configs for index, case in enumerate(expand(config))]


def in_plan_order(frame: pd.DataFrame, configs: list[dict]) -> pd.DataFrame:
    """Rows of ``frame`` with cases in the order the configs list them (``configs`` as env.json
    records them); within a case, as they are. A merged or Dask run's cases finish in any order."""
    if frame.empty:
        return frame
    try:
        rank = {item.key: i for i, item in enumerate(plan([config_from_dict(c) for c in configs]))}
    except (ValueError, KeyError, TypeError):  # configs this gradbench cannot read: keep the order measured
        return frame
    ranks = [rank.get((c, k), len(rank)) for c, k in zip(frame["config"], frame["case"])]
    return frame.assign(_rank=ranks).sort_values("_rank", kind="stable").drop(columns="_rank")


def rounds(jobs: tuple[Job, ...], processes: int) -> list[list[tuple[int, Job]]]:
    """A case's planned workers as (order, job), by round: round k holds the k-th warm process of
    each strategy and its cold compiles, in the case's own (shuffled) order."""
    out: list[list[tuple[int, Job]]] = [[] for _ in range(max(1, processes))]
    for order, job in enumerate(jobs):
        out[job.slot % len(out)].append((order, job))
    return out


def measure_cases(work: list[CaseWork], done: set, rows: dict, runner, compiledir: Path,
                  frameworks: dict | None, on_worker, on_more=None, display=None) -> None:
    """Run the cases' workers that are not in ``done``, interleaved in rounds, then add processes
    where a case's medians need them, in rounds too.

    Round k runs the k-th process of every strategy of every case, so a value's
    processes are spread over the whole run, as asv's rounds are: a slow or fast
    minute of the machine lands in one process of many values, where the spread
    between processes (the CIs, ``more_processes``) sees it, and not in every
    process of one case. ``rows``: each case's measurements.csv rows so far (a
    resumed run's), by ``CaseWork.key``, extended here. ``on_worker(work, order,
    job, result, wall)`` is called as each worker ends, ``on_more(n)`` when n
    more workers are added.
    """
    attempted = {item.key: {k for k in done if k[:2] == item.key} for item in work}

    def run(item: CaseWork, order: int, job: Job) -> None:
        case = item.case
        if job.key(case) in done:
            return
        t0 = time.monotonic()
        if display is not None:
            display.begin(f"{case.config} {case.name} {job.strategy}{job_label(job)}")
        result = _run_job(item.config, case, job, runner, compiledir, display, frameworks)
        wall = time.monotonic() - t0
        rows[item.key] += worker_rows(case, job, order, result)
        attempted[item.key].add(job.key(case))
        on_worker(item, order, job, result, wall)

    planned = {item.key: rounds(item.jobs, item.config.run.processes) for item in work}
    for k in range(max((len(p) for p in planned.values()), default=0)):
        for item in work:
            for order, job in planned[item.key][k] if k < len(planned[item.key]) else []:
                run(item, order, job)
    while True:  # more processes where the spread between them leaves a value imprecise
        extra = []
        for item in work:
            config = item.config
            added = sum(1 for k in attempted[item.key] if k[3] == "warm" and k[4] >= config.run.processes)
            jobs = more_processes(config, item.case, pd.DataFrame(rows[item.key]), attempted[item.key])
            extra += [(item, len(item.jobs) + added + i, job) for i, job in enumerate(jobs)]
        if not extra:
            return
        if on_more is not None:
            on_more(len(extra))
        for item, order, job in extra:
            run(item, order, job)


def measure_case(work: CaseWork, done: set, rows: list[dict], runner, compiledir: Path,
                 frameworks: dict | None, on_worker, on_more=None, display=None) -> None:
    """``measure_cases`` for one case (a cluster's task: a case never spans two machines, so its
    ratios never compare two machines); ``on_worker(order, job, result, wall)``."""
    measure_cases([work], done, {work.key: rows}, runner, compiledir, frameworks,
                  lambda _item, *args: on_worker(*args), on_more, display)


class Recorder:
    """Writes each worker's rows to the run folder as it ends, and reports progress."""

    def __init__(self, run_dir: Path, todo: int, progress: Progress, display=None):
        self.files = {name: results.CsvAppender(run_dir / name, cols) for name, cols in results.COLUMNS.items()}
        self.todo, self.finished, self.started = todo, 0, time.monotonic()
        self.progress, self.display = progress, display
        if display is not None:
            display.start(todo)

    def record(self, case: Case, job: Job, order: int, result: dict, wall: float, shown: bool = True) -> None:
        """``shown``: the display already showed this worker begin (a local run) or not (a cluster)."""
        with signals_deferred():  # a worker's rows land whole, or not at all
            _store(self.files, case, job, order, result, wall)
        self.finished += 1
        line = _progress_line(self.finished, self.todo, self.started, case, job, result, wall)
        if self.display is not None:
            if not shown:
                self.display.begin(f"{case.config} {case.name}")
            self.display.end()
            if result["status"] != "ok":  # failures stay visible above the bar
                self.display.write(line)
        self.progress(line)

    def grow(self, n: int) -> None:
        self.todo += n
        if self.display is not None:
            self.display.grow(n)

    def close(self) -> None:
        if self.display is not None:
            self.display.close()
        for f in self.files.values():
            f.close()


def local_executor(work: list[CaseWork], done: set, measured: pd.DataFrame, recorder: Recorder,
                   runner, compiledir: Path, env: dict) -> None:
    """Measure the cases on this machine, interleaved in rounds (``measure_cases``)."""
    rows = {item.key: measured[(measured["config"] == item.case.config)
                               & (measured["case"] == item.case.name)].to_dict("records") for item in work}
    measure_cases(work, done, rows, runner, compiledir, env.get("frameworks"),
                  on_worker=lambda item, order, job, result, wall: recorder.record(item.case, job, order, result, wall),
                  on_more=recorder.grow, display=recorder.display)


def _measure(configs, run_dir: Path, env: dict, done: set, progress: Progress,
             runner: Callable[..., dict] | None, compiledir: Path, display=None, executor=None) -> None:
    """Run the jobs not in ``done`` (of the run's shard, if it has one) and write the derived files.

    ``display`` (a progress.Bar) is told what runs, if given; ``executor``
    measures the cases (``local_executor``, or a cluster's: see harness.scale).
    """
    runner = runner or spawn.run_worker
    executor = executor or local_executor
    compiledir.mkdir(parents=True, exist_ok=True)
    work = plan(configs)
    if env.get("shard"):
        mine = {tuple(k) for k in env["shard"]["cases"]}
        work = [item for item in work if item.key in mine]
    todo = sum(1 for item in work for job in item.jobs if job.key(item.case) not in done)
    env["status"] = "running"
    results.write_json(run_dir / "env.json", env)
    # What earlier runs of this folder measured (resume): adding processes looks at it.
    measured = results.read_csv(run_dir, "measurements.csv")
    recorder = Recorder(run_dir, todo, progress, display)
    try:
        executor(work, done, measured, recorder, runner, compiledir, env)
        env["status"] = "complete"
    except KeyboardInterrupt:
        env["status"] = "interrupted"
        raise RunInterrupted(run_dir, recorder.finished, recorder.todo) from None
    finally:
        recorder.close()
        env["loadavg_end"] = envinfo._loadavg()
        env["failures"] = results.failures(results.read_csv(run_dir, "workers.csv"))
        results.write_json(run_dir / "env.json", env)
        if env["status"] == "complete":
            finish(run_dir)
        else:  # an interrupted run must still end with its message, whatever the report does
            try:
                finish(run_dir)
            except Exception as exc:  # noqa: BLE001
                progress(f"warning: report not written ({type(exc).__name__}: {exc}); "
                         f"rerun: {sys.executable} -m harness report {run_dir}")


INTERRUPTS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def signals_deferred(signals=INTERRUPTS):
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, then deliver the first one.

    Appending a worker's rows to three files must not stop halfway: a row cut
    in two would be read back as a worker that finished. Outside the main
    thread (where handlers cannot be set) the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = {sig: signal.signal(sig, lambda signum, frame: received.append(signum)) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            signal.raise_signal(received[0])  # now handled as it would have been


def _run_job(config: Config, case: Case, job: Job, runner, compiledir: Path, display=None,
             frameworks: dict | None = None) -> dict:
    estimate = memory.estimate_mb(case.model, job.strategy)
    limit = memory.limit_mb(config.run.max_memory_mb)
    info = (frameworks or {}).get(case.framework)
    unusable = (info or {}).get("unusable") or (
        environments.gpu_problem(case.framework, info) if case.device == "gpu" else None)
    if unusable:  # decided from the environment's probe: no worker starts
        result = {"status": "skipped", "measurements": [], "error": unusable}
    elif limit is not None and estimate > limit:
        result = {"status": "skipped", "measurements": [],
                  "error": f"estimated memory {estimate:.0f} MB > limit {limit:.0f} MB "
                           "(set run.max_memory_mb, or shrink the case)"}
    else:
        extra = {"on_phase": display.phase} if display is not None else {}
        if case.framework != "theano" or os.environ.get(environments.python_variable("theano")):
            extra["command"] = environments.worker_command(case.framework)
        # Cold: an empty cache of its own, so the compile has to build everything.
        shared = environments.cache_dir(case.framework, compiledir)
        shared.mkdir(parents=True, exist_ok=True)
        cache_dir = (theano_env.fresh_compiledir(shared) if job.cache == "cold"
                     else contextlib.nullcontext(shared))
        with cache_dir as path:
            env = environments.worker_env(case.framework, path, case.model.floatX, case.threads,
                                          device=case.device)
            result = runner(make_task(case, config, job), env,
                            config.run.timeouts, **extra)
    result["memory_estimate_mb"] = round(estimate, 1)
    return result


def config_from_dict(d: dict) -> Config:
    """A config as recorded in env.json, validated again.

    Run folders written before the fix of issue 9 record ``sweep: {}`` for a
    config without a sweep; that means no sweep, as it did when they were written.
    """
    doc = {k: v for k, v in d.items() if k != "source" and not (k == "sweep" and v == {})}
    return parse_config(doc, source=d.get("source", "env.json"), default_name=d["name"])


def finish(run_dir: Path) -> None:
    """Write summary.csv and the plots from the measurements on disk."""
    from harness.report.files import write_report
    write_report(run_dir)


def more_processes(config: Config, case: Case, rows: pd.DataFrame, attempted: set) -> list[Job]:
    """One more warm worker for each strategy whose construct or execute median would move by more
    than ``run.process_precision`` from this run to the next (``run_to_run_change``), until
    ``run.max_processes`` workers of it have run. ``attempted``: keys of workers already run."""
    if config.run.process_limit <= config.run.processes or rows.empty or "status" not in rows:
        return []
    ok = rows[(rows["status"] == "ok") & (rows["cache"] == "warm") & rows["phase"].isin(["construct", "execute"])]
    extra = []
    for strategy in config.run.strategies:
        slots = [k[4] for k in attempted if k[:4] == (case.config, case.name, strategy, "warm")]
        if len(slots) >= config.run.process_limit:
            continue
        d = ok[ok["strategy"] == strategy]
        if any(run_to_run_change(g["seconds"].to_numpy(), g["slot"].to_numpy()) > config.run.process_precision
               for _, g in d.groupby("phase")):
            extra.append(Job(strategy, "warm", max(slots, default=-1) + 1))
    return extra


def run_to_run_change(seconds, slots) -> float:
    """How much the median of k processes is expected to move between two runs (95%, relative).

    With process medians spread by s (sd of their logs), a median over k
    processes varies by s / sqrt(k) from run to run, and the difference of
    two runs by sqrt(2/k) s; 1.96 times that covers 95% of runs. A heuristic
    (s is estimated from this run's few processes), aimed at what a user
    sees: a second run that agrees with the first. Infinite with one process.
    """
    from harness.analysis.stats import process_medians
    levels = np.log(process_medians(seconds, slots))
    if levels.size < 2:
        return math.inf
    return float(np.expm1(1.96 * math.sqrt(2 / levels.size) * levels.std(ddof=1)))


def _store(files, case, job: Job, order, result, wall) -> list[dict]:
    rows = worker_rows(case, job, order, result)
    files["measurements.csv"].write(rows)
    base = {"config": case.config, "case": case.name, **case.columns(), "strategy": job.strategy}
    if "graph" in result and job.cache == "warm" and job.slot == 0:  # the same graph in every process
        files["graphs.csv"].write([{**base, **result["graph"]}])
    files["limits.csv"].write([{**base, "slot": job.slot, **row} for row in result.get("limits", [])])
    check = result.get("check", {})
    # workers.csv last: a worker is complete once its row is there (see resume).
    files["workers.csv"].write([{
        **base, "cache": job.cache, "slot": job.slot, "order": order, "host": result.get("host") or envinfo.host_name(),
        "status": result["status"],
        "error": result.get("error"), "wall_seconds": round(wall, 3),
        "pid": result.get("info", {}).get("pid"),
        "import_seconds": result.get("info", {}).get("import_seconds"),
        "os_threads": result.get("info", {}).get("os_threads"),
        "cpus": result.get("info", {}).get("cpus"),
        "memory_estimate_mb": result.get("memory_estimate_mb"),
        "rel_err_vs_numpy": check.get("vs_numpy"), "rel_err_vs_single": check.get("vs_single"),
        "backend_info": json.dumps(result["info"], default=str, sort_keys=True) if result.get("info") else None,
        "output_tail": result.get("output_tail") if result["status"] != "ok" else None}])
    return rows


def _progress_line(done, total, started, case, job, result, wall) -> str:
    elapsed = time.monotonic() - started
    eta = elapsed / done * (total - done)
    status = "ok" if result["status"] == "ok" else f"{result['status'].upper()}: {result.get('error')}"
    cache = job_label(job)
    return (f"[{done}/{total}] {case.config} {case.name} {job.strategy}{cache}: {wall:.1f} s, {status}"
            f" (elapsed {elapsed:.0f} s, ETA {eta:.0f} s)")
