"""Schedule a run's workers: cases interleaved in rounds, then added processes where a median needs them."""

from __future__ import annotations

import concurrent.futures
import math
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harness.analysis.pairs import differences
from harness.analysis.stats import process_medians
from harness.config.schema import Config
from harness.core.case import Case
from harness.core.counting import UNITS
from harness.core.registry import AUTO, CONTROL
from harness.orchestrate.budget import RunBudget
from harness.orchestrate.launch import run_job
from harness.orchestrate.plan import CaseWork, Job, job_label, pair_units, partners, rounds
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
    budget: RunBudget | None = None,
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
    more workers are added. ``budget``: the run's time budget (``harness.orchestrate.budget``),
    which bounds the repeats, the added processes and the planned workers: under it the headline (the first
    case: the question's network in ``make bench``) runs all its rounds first, and the others' later rounds
    give way first.
    """
    attempted = {item.key: item.done_in(done) for item in work}
    clock = budget.clock if budget is not None else time.monotonic  # the budget's clock times the workers

    def run(item: CaseWork, order: int, job: Job, remaining=(), cancel=None) -> tuple:
        """Measure one worker; returns what ``record`` takes (None if it was done before)."""
        case = item.case
        if job.key(case) in done:
            return None
        key = job_key(item, job)
        repeat_budget = None
        if budget is not None and timed_repeats(item.config, case, job):
            repeat_budget = budget.repeat_budget(key, item.config.run.budget_s, remaining)
        t0, started_at = clock(), time.time()
        if display is not None and cancel is None:  # a duet's two workers share one line
            display.begin(f"{case.config} {case.name} {job.strategy}{job_label(job)}")
        result = run_job(item.config, case, job, runner, compiledir, display, frameworks, repeat_budget, cancel)
        wall = clock() - t0
        result.setdefault("started_at", round(started_at, 3))
        if repeat_budget is not None:
            result["repeat_budget_s"] = repeat_budget
        if budget is not None:
            budget.note(key, wall, result.get("measurements") or [])
        return item, order, job, result, wall

    def run_unit(unit: list, remaining) -> None:
        """One worker, or a pair: back to back (sequential) or at once on two cores (duet)."""
        if len(unit) == 2 and unit[0][0].config.run.pairing == "duet":
            if display is not None:
                display.begin(f"{unit[0][0].case.config} {unit[0][0].case.name} pair {unit[0][2].pair} (duet)")
            ended = duet([lambda cancel, u=u: run(*u, remaining, cancel) for u in unit])
        else:
            ended = [run(*u, remaining) for u in unit]
        for args in ended:
            if args is not None:
                record(*args)

    def record(item: CaseWork, order: int, job: Job, result: dict, wall: float) -> None:
        rows[item.key] += worker_rows(item.case, job, order, result)
        attempted[item.key].add(job.key(item.case))
        on_worker(item, order, job, result, wall)

    def skip(item: CaseWork, order: int, job: Job) -> None:
        result = {"status": "skipped", "measurements": [], "error": budget.refuse(job_key(item, job))}
        record(item, order, job, result, 0.0)

    planned = {item.key: rounds(item.jobs, item.config.run.processes) for item in work}
    flat = [
        (k, item, order, job)
        for k in range(max((len(p) for p in planned.values()), default=0))
        for item in work
        for order, job in (planned[item.key][k] if k < len(planned[item.key]) else [])
        if job.key(item.case) not in done
    ]
    if budget is not None and work:  # the headline first: the first case's rounds, then the rest by round
        flat = sorted(flat, key=lambda entry: entry[1].key != work[0].key)  # stable: rounds stay in order
    position = 0
    for unit in units(flat):
        # Under a budget the headline's repeats are shared out over its own workers only: the cases after it
        # give way (in later rounds first) rather than starve the answer of repeats.
        ahead = [e for e in flat[position:] if budget is None or unit[0][1].key != work[0].key or e[1] is unit[0][1]]
        remaining = [(job_key(it, jb), timed_repeats(it.config, it.case, jb)) for _, it, _, jb in ahead]
        position += len(unit)
        if budget is not None and not all(budget.affords(job_key(it, jb)) for _, it, _, jb in unit):
            for _, it, order, jb in unit:
                skip(it, order, jb)
            continue
        run_unit([(it, order, jb) for _, it, order, jb in unit], remaining)
    closed = False  # the budget refused an added process: none is asked for again
    while not closed:  # more processes where the spread between them leaves a value imprecise
        extra = []
        for item in work:
            config = item.config
            added = len(attempted[item.key] - {job.key(item.case) for job in item.jobs})
            more = more_pairs if config.run.pairing != "none" else more_processes
            jobs = more(config, item.case, pd.DataFrame(rows[item.key]), attempted[item.key])
            extra += [(item, len(item.jobs) + added + i, job) for i, job in enumerate(jobs)]
        if budget is not None:
            wanted, extra = len(extra), affordable(extra, budget)
            closed = len(extra) < wanted
            budget.extra["wanted"] += wanted
            budget.extra["ran"] += len(extra)
        if not extra:
            return
        if on_more is not None:
            on_more(len(extra))
        added = [(None, item, order, job) for item, order, job in extra]
        position = 0
        for unit in units(added):
            remaining = [(job_key(it, jb), timed_repeats(it.config, it.case, jb)) for _, it, _, jb in added[position:]]
            position += len(unit)
            run_unit([(it, order, jb) for _, it, order, jb in unit], remaining)


def units(flat: list) -> list[list]:
    """Consecutive entries ``(round, item, order, job)`` of one pair (one case, one pair label) as one unit,
    every other entry alone."""
    out: list[list] = []
    for entry in flat:
        _, item, _, job = entry
        last = out[-1][-1] if out else None
        if last is not None and job.pair and last[3].pair == job.pair and last[1].key == item.key:
            out[-1].append(entry)
        else:
            out.append([entry])
    return out


def duet(calls: list) -> list:
    """Run ``calls`` (each takes a cancel event) at once, one thread each; their results in order. Each
    worker leases cores of its own (``core.affinity``), so a duet of one-thread workers uses two cores. An
    interrupt here (Ctrl-C, SIGTERM) cancels both: their worker processes are killed, nothing is recorded."""
    cancel = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(len(calls), thread_name_prefix="gradcost-duet") as pool:
        futures = [pool.submit(call, cancel) for call in calls]
        try:
            return [f.result() for f in futures]
        except BaseException:
            cancel.set()
            raise


def job_key(item: CaseWork, job: Job) -> tuple:
    """What the run's budget tells workers apart by (``RunBudget``)."""
    return (item.case.config, item.case.name, job.strategy, job.cache)


def timed_repeats(config: Config, case: Case, job: Job) -> bool:
    """Whether a worker has auto repeats that a repeat budget shortens (timed, warm, some phase auto)."""
    return case.metric == "time" and job.cache == "warm" and AUTO in config.run.repeats.values()


def affordable(extra: list, budget: RunBudget) -> list:
    """The added workers whose predicted times, one after another, fit in the time left; a pair whole or
    not at all (half a pair measures no ratio)."""
    left, out = budget.left(), []
    for unit in units([(None, *entry) for entry in extra]):
        cost = sum(budget.predicted(job_key(item, job)) for _, item, _, job in unit)
        if cost > left:
            continue
        left -= cost
        out += [(item, order, job) for _, item, order, job in unit]
    return out


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


def more_pairs(config: Config, case: Case, rows: pd.DataFrame, attempted: set) -> list[Job]:
    """A paired run's ``more_processes``: one more pair for each partner whose paired ratio to single, in
    construct or execute, would move by more than ``run.process_precision`` from this run to the next
    (``run_to_run_change`` of its pairs' differences), until it has ``run.max_processes`` pairs. The
    A/A control keeps its planned pairs: it checks the pairing, it is not an answer."""
    if config.run.process_limit <= config.run.processes or rows.empty or "pair" not in rows:
        return []
    ok = rows[(rows["status"] == "ok") & (rows["cache"] == "warm") & rows["phase"].isin(["construct", "execute"])]
    ok = ok.assign(value=ok[UNITS[case.metric]])
    found = {phase: differences(g) for phase, g in ok.groupby("phase")}
    mine = [k for k in attempted if (k.config, k.case, k.cache) == (case.config, case.name, "warm")]
    single_slot = max((k.slot for k in mine if k.strategy == "single"), default=-1) + 1
    extra = []
    for partner in partners(config):
        rounds_of = [k.slot for k in mine if k.strategy == partner]
        if partner == CONTROL or len(rounds_of) >= config.run.process_limit:
            continue
        if any(
            run_to_run_change(np.exp(d[partner]), np.arange(d[partner].size)) > config.run.process_precision
            for d in found.values()
            if partner in d
        ):
            r = max(rounds_of, default=-1) + 1
            extra += pair_units(config, range(r, r + 1), single_slot, only=(partner,))[0]
            single_slot += 1
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
