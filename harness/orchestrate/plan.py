"""Plan a run: every case's worker processes (jobs), in rounds, and the task each worker is sent.

A task is plain JSON: the worker (``harness.worker``) needs nothing else.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, replace
from typing import NamedTuple

import pandas as pd

from harness import results
from harness.analysis.pairs import label as pair_label
from harness.config.cases import expand
from harness.config.releases import same_release
from harness.config.schema import Config
from harness.core.case import Case
from harness.core.registry import CONTROL, FRAMEWORK_STRATEGIES, GRADIENT_STRATEGIES, framework
from harness.core.task import Task


class WorkerKey(NamedTuple):
    """Which worker a row belongs to (results.WORKER_KEY): equal to the plain tuple read back from a file."""

    config: str
    case: str
    strategy: str
    cache: str
    slot: int


@dataclass(frozen=True)
class Job:
    """One worker process: a strategy of a case, with a warm or a cold compile cache.

    A warm job measures every phase, and a case has ``run.processes`` of
    them per strategy. A cold job measures one compile into an empty
    compiledir, so a case has ``n_cold`` cold jobs per Theano strategy:
    as many compiles as the warm jobs time, unless compile alternates. Jobs of the same
    strategy and cache are told apart by ``slot``. ``pair``: where the run pairs
    its workers (``run.pairing``), the label both workers of a pair carry
    (``pairs.label``: 'per_param:2', round 2's pair of single with per_param).
    """

    strategy: str
    cache: str
    slot: int = 0
    pair: str = ""

    def key(self, case: Case) -> WorkerKey:
        return WorkerKey(case.config, case.name, self.strategy, self.cache, self.slot)

    @property
    def round(self) -> int:
        """The round it belongs to: its pair's, or its slot."""
        return int(self.pair.rpartition(":")[2]) if self.pair else self.slot


def case_jobs(config: Config, case_index: int, cold_cache: bool = True) -> list[Job]:
    """A case's workers, shuffled reproducibly with the config's seed.

    ``cold_cache``: whether the case's framework and mode have a compile cache
    to measure empty (see ``Framework.has_cold_cache``). A counted case has no cold
    compiles: their work is gcc's, a child process that callgrind does not follow.
    """
    paired = config.run.pairing != "none" and "warm" in config.run.caches
    # The A/A control checks the pairing of a run on the machine: in a config's first case (a sweep's cheapest).
    units = []
    if paired and config.run.pairing == "block":  # one single a round, held against every other strategy
        units = [
            [Job(s, "warm", k, pair_label(k, "block")) for s in ["single", *partners(config, case_index == 0)]]
            for k in range(config.run.processes)
        ]
    elif paired:
        units = pair_units(config, range(config.run.processes), 0, control=case_index == 0)
    jobs = []
    for strategy in config.run.strategies:
        if "warm" in config.run.caches and not (paired and strategy in FRAMEWORK_STRATEGIES):
            jobs += [Job(strategy, "warm", k) for k in range(config.run.processes)]
        if "cold" in config.run.caches and strategy in GRADIENT_STRATEGIES and cold_cache:
            jobs += [Job(strategy, "cold", k) for k in range(n_cold(config))]
    units += [[job] for job in jobs]
    if config.run.order == "shuffled":  # the units in random order, and the two workers of each pair
        rng = random.Random(f"{config.run.seed}:{case_index}")
        rng.shuffle(units)
        for unit in units:
            rng.shuffle(unit)
    return [job for unit in units for job in unit]


def n_cold(config: Config) -> int:
    """A Theano strategy's cold workers in a case: as many cold compiles as its warm workers time
    (``processes x repeats.compile``; with auto repeats, one a warm process). Where compile alternates,
    a warm process's compiles are held against single's beside them, not against the cold ones, and
    one cold compile a warm process is enough (4 a process cost the question 12 workers of ~10 s).
    The primal is held against the gradients warm only; the NumPy reference compiles nothing."""
    per_process = config.run.repeats["compile"]
    if not isinstance(per_process, int) or "compile" in config.run.alternate:
        per_process = 1
    return config.run.processes * per_process


def partners(config: Config, control: bool = True) -> list[str]:
    """The strategies a paired run holds against single, each in pairs of its own: the other framework
    strategies listed, and (``control``) the A/A control (``CONTROL``, a second single)."""
    return [s for s in config.run.strategies if s in FRAMEWORK_STRATEGIES and s != "single"] + [CONTROL] * control


def pair_units(
    config: Config, rounds_: range, first_single_slot: int, only=None, control: bool = True
) -> list[list[Job]]:
    """The pairs of ``rounds_``: in each, one worker of single and one of each partner (``only``: of
    those), labelled alike; single has a process of its own in every pair, numbered from
    ``first_single_slot``, the partner the round's slot."""
    units, slot = [], first_single_slot
    for k in rounds_:
        for partner in partners(config, control):
            if only is not None and partner not in only:
                continue
            label = pair_label(k, partner)
            units.append([Job("single", "warm", slot, label), Job(partner, "warm", k, label)])
            slot += 1
    return units


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

    def done_in(self, done: set) -> set:
        """The keys of this case's workers among ``done`` (as WorkerKey)."""
        return {WorkerKey(*k) for k in done if tuple(k[:2]) == self.key}

    def rows_in(self, measured: pd.DataFrame) -> list[dict]:
        """This case's rows of a measurements.csv frame."""
        return measured[(measured["config"] == self.case.config) & (measured["case"] == self.case.name)].to_dict(
            "records"
        )


def whole_pairs(work: list[CaseWork], done: set) -> set:
    """``done`` less every worker of a planned pair (or block) that is not all done: a pair's ratio is
    worth its pairing only if both sides were measured together, so a resumed run measures an interrupted
    pair again whole, never one half before the interruption and the other after (issue 34)."""
    keep = set(done)
    for item in work:
        pairs: dict[str, list] = {}
        for job in item.jobs:
            if job.pair:
                pairs.setdefault(job.pair, []).append(tuple(job.key(item.case)))
        for keys in pairs.values():
            if not all(key in done for key in keys):
                keep -= set(keys)
    return keep


def plan(configs: list[Config]) -> list[CaseWork]:
    """Every case of the configs, in config and file order, with its planned workers."""
    return [
        CaseWork(config, index, case, tuple(case_jobs(config, index, _cold_cache(case))))
        for config in configs
        for index, case in enumerate(expand(config))
    ]


def with_measured_versions(work: list[CaseWork], frameworks: dict) -> list[CaseWork]:
    """The cases with the release their environment was found to hold (its probe's ``version``), where a
    framework's own environment holds another release than its pin (``GRADCOST_PYTHON_JAX`` names a
    Python with another JAX): column framework_version says what was measured, not what was pinned."""
    out = []
    for item in work:
        found = (frameworks.get(item.case.env_name) or {}).get("version")
        # A local build label is the same release (torch 2.13.0+cpu; all_packages keeps the label).
        if found and not same_release(found, item.case.version) and item.case.environment is None:
            item = replace(item, case=replace(item.case, version=found))
        out.append(item)
    return out


def _cold_cache(case: Case) -> bool:
    return framework(case.framework).has_cold_cache(case.mode) and case.metric == "time"


def rounds(jobs: tuple[Job, ...], processes: int) -> list[list[tuple[int, Job]]]:
    """A case's planned workers as (order, job), by round: round k holds the k-th warm process of
    each strategy and its cold compiles, in the case's own (shuffled) order."""
    out: list[list[tuple[int, Job]]] = [[] for _ in range(max(1, processes))]
    for order, job in enumerate(jobs):
        out[job.round % len(out)].append((order, job))
    return out


def make_task(case: Case, config: Config, job: Job, budget_s: float | None = None) -> dict:
    """The JSON a worker receives for ``job`` of ``case`` (``harness.core.task.Task``); ``budget_s``: the
    seconds of auto repeats per value, where the run's time budget gives less than ``run.budget_s``."""
    return Task(
        config=case.config,
        case=case.name,
        model=asdict(case.model),
        framework=case.framework,
        mode=case.mode,
        threads=case.threads,
        strategy="single" if job.strategy == CONTROL else job.strategy,  # the control is a second single
        cache=job.cache,
        seed=config.run.seed,
        repeats=dict(config.run.repeats),
        warmup=dict(config.run.warmup),
        min_time_s=config.run.min_time_s,
        precision=config.run.precision,
        budget_s=config.run.budget_s if budget_s is None else budget_s,
        device=case.device,
        metric=case.metric,
        limit=measures_limit(config, job),
        alternate=list(alternates(config, job)),
    ).to_json()


def alternates(config: Config, job: Job) -> tuple[str, ...]:
    """The phases this job times alternately with single's in its process (``run.alternate``): every warm
    worker of a framework strategy but single (the primal too: its compile against single's), and the A/A
    control's (single against single). A phase the strategy does not have is not timed at all."""
    others = [s for s in FRAMEWORK_STRATEGIES if s != "single"] + [CONTROL]
    return config.run.alternate if job.cache == "warm" and job.strategy in others else ()


def measures_limit(config: Config, job: Job) -> bool:
    """Whether this job also times the framework's matrix products (limits.csv): once per case,
    in the first warm worker of the first gradient strategy."""
    gradient = [s for s in config.run.strategies if s in GRADIENT_STRATEGIES]
    return bool(gradient) and (job.strategy, job.cache, job.slot) == (gradient[0], "warm", 0)


def job_label(job: Job) -> str:
    """' cold #2', ' #3' (a later warm process) or '': appended to a worker's name in progress lines."""
    label = results.slot_label(job.cache, job.slot)
    if job.pair:
        label = f"{label} (pair {job.pair})".strip()
    return f" {label}" if label else ""


def job_phases(case: Case, job: Job) -> tuple[str, ...]:
    spec = framework(case.framework)
    return spec.cold_phases(case.mode) if job.cache == "cold" else spec.phases(case.mode, job.strategy)
