"""Schedule a run's workers: cases interleaved in rounds, then added processes where a median needs them."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harness.analysis.stats import process_medians
from harness.config.schema import Config
from harness.core.case import Case
from harness.core.counting import UNITS
from harness.orchestrate.launch import run_job
from harness.orchestrate.plan import CaseWork, Job, job_label, rounds
from harness.orchestrate.record import worker_rows


def measure_cases(
    work: list[CaseWork],
    done: set,
    rows: dict,
    runner,
    compiledir: Path,
    frameworks: dict | None,
    on_worker,
    on_more=None,
    display=None,
) -> None:
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
    attempted = {item.key: item.done_in(done) for item in work}

    def run(item: CaseWork, order: int, job: Job) -> None:
        case = item.case
        if job.key(case) in done:
            return
        t0 = time.monotonic()
        if display is not None:
            display.begin(f"{case.config} {case.name} {job.strategy}{job_label(job)}")
        result = run_job(item.config, case, job, runner, compiledir, display, frameworks)
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
            added = sum(1 for k in attempted[item.key] if k.cache == "warm" and k.slot >= config.run.processes)
            jobs = more_processes(config, item.case, pd.DataFrame(rows[item.key]), attempted[item.key])
            extra += [(item, len(item.jobs) + added + i, job) for i, job in enumerate(jobs)]
        if not extra:
            return
        if on_more is not None:
            on_more(len(extra))
        for item, order, job in extra:
            run(item, order, job)


def measure_case(
    work: CaseWork,
    done: set,
    rows: list[dict],
    runner,
    compiledir: Path,
    frameworks: dict | None,
    on_worker,
    on_more=None,
    display=None,
) -> None:
    """``measure_cases`` for one case (a cluster's task: a case never spans two machines, so its
    ratios never compare two machines); ``on_worker(order, job, result, wall)``."""
    measure_cases(
        [work],
        done,
        {work.key: rows},
        runner,
        compiledir,
        frameworks,
        lambda _item, *args: on_worker(*args),
        on_more,
        display,
    )


def more_processes(config: Config, case: Case, rows: pd.DataFrame, attempted: set) -> list[Job]:
    """One more warm worker for each strategy whose construct or execute median would move by more
    than ``run.process_precision`` from this run to the next (``run_to_run_change``), until
    ``run.max_processes`` workers of it have run. ``attempted``: keys of workers already run."""
    if config.run.process_limit <= config.run.processes or rows.empty or "status" not in rows:
        return []
    ok = rows[(rows["status"] == "ok") & (rows["cache"] == "warm") & rows["phase"].isin(["construct", "execute"])]
    extra = []
    for strategy in config.run.strategies:
        slots = [
            k.slot
            for k in attempted
            if (k.config, k.case, k.strategy, k.cache) == (case.config, case.name, strategy, "warm")
        ]
        if len(slots) >= config.run.process_limit:
            continue
        d = ok[ok["strategy"] == strategy]
        if any(
            run_to_run_change(g[UNITS[case.metric]].astype(float).to_numpy(), g["slot"].to_numpy())
            > config.run.process_precision
            for _, g in d.groupby("phase")
        ):
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
    levels = np.log(process_medians(seconds, slots))
    if levels.size < 2:
        return math.inf
    return float(np.expm1(1.96 * math.sqrt(2 / levels.size) * levels.std(ddof=1)))
