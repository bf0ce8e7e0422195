"""Split a run into N deterministic, balanced shards of whole cases.

A shard holds whole cases: every strategy, process and cache of a case runs
on the same machine, so a ratio never compares two machines. Cases are
balanced by an estimate of their cost in seconds: a previous run's measured
worker wall times where it has the case, otherwise a rough size model. The
partition is the longest-processing-time-first rule (largest case to the
least loaded shard), whose longest shard is at most the average load plus
the largest case; ties are broken by plan order, so every machine computes
the same partition from the same configs.
"""

from __future__ import annotations

import os
import re
import statistics
from pathlib import Path

from harness import results

# The size model, seconds on one 2-core machine (least squares on the sweeps' warm workers of a
# default-suite run, 2026-11-28, Theano, schema 7): a worker's start-up and checks, plus its
# graph work, which grows with the square of the number of parameter tensors P (P functions
# of size ~P for per_param_separate; one gradient graph of P outputs, checked per parameter,
# for the others), plus execution.
START_S = 1.6
GRAPH_S = {"single": 0.0005, "per_param": 0.004, "per_param_separate": 0.009}
REFERENCE_S = 0.7  # numpy_reference: no graph, a float64 pass or two
COLD_START_S = 4.0  # a cold worker: start-up and one compile into an empty cache
CALLS = 30  # gradient evaluations a warm worker times, roughly
FLOP_RATE = 50e9  # FLOP/s of a gradient evaluation on such a machine, roughly
# A counted worker (metric instructions) runs under callgrind: the counted workers' wall time over the timed ones'
# of the same cases in results/counts_depth (2026-12-02, docs/counting.md).
COUNTED_SLOWDOWN = 24.0


class ShardError(ValueError):
    """A --shard value or shard environment that names no valid shard."""


def parse(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N), 1 <= I <= N (the I-th of N shards, counted from 1)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m:
        raise ShardError(f"--shard {text!r}: expected I/N, the I-th of N shards counted from 1 (e.g. 2/8)")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"--shard {text!r}: I must be between 1 and N (N >= 1)")
    return index, count


def from_environment(environ=None) -> tuple[int, int]:
    """The shard a scheduler's array task is, from its environment variables.

    - GRADCOST_SHARD=I/N, where given, wins;
    - SLURM job arrays: SLURM_ARRAY_TASK_ID, counted from SLURM_ARRAY_TASK_MIN, of
      SLURM_ARRAY_TASK_COUNT tasks (an array such as --array=0-7 or 1-8; a step is refused);
    - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX (from 0) of GRADCOST_SHARDS
      (set it to the Job's completions: Kubernetes does not expose that count).
    """
    env = os.environ if environ is None else environ
    if env.get("GRADCOST_SHARD"):
        return parse(env["GRADCOST_SHARD"])
    if env.get("SLURM_ARRAY_TASK_ID") is not None:
        try:
            task, first = int(env["SLURM_ARRAY_TASK_ID"]), int(env.get("SLURM_ARRAY_TASK_MIN", 0))
            count = int(env["SLURM_ARRAY_TASK_COUNT"])
            step = int(env.get("SLURM_ARRAY_TASK_STEP", 1))
        except (KeyError, ValueError) as exc:
            raise ShardError(
                f"--shard env: a SLURM array task needs integer SLURM_ARRAY_TASK_ID, "
                f"SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT ({exc})"
            ) from None
        if step != 1:
            raise ShardError(f"--shard env: SLURM array step {step}; use a contiguous array (--array=1-N)")
        return parse(f"{task - first + 1}/{count}")
    if env.get("JOB_COMPLETION_INDEX") is not None:
        if not env.get("GRADCOST_SHARDS"):
            raise ShardError(
                "--shard env: a Kubernetes Indexed Job needs GRADCOST_SHARDS, set to the Job's completions"
            )
        try:
            return parse(f"{int(env['JOB_COMPLETION_INDEX']) + 1}/{int(env['GRADCOST_SHARDS'])}")
        except ValueError as exc:
            raise ShardError(f"--shard env: {exc}") from None
    raise ShardError(
        "--shard env: no GRADCOST_SHARD, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX "
        "in the environment (give --shard I/N)"
    )


def estimate_s(work) -> float:
    """Rough seconds of one case's planned workers (a runner.CaseWork), from its size."""
    from harness.core.flops import gradient_flops

    model = work.case.model
    p = model.n_params
    execute = gradient_flops(model.input, model.hidden, model.output, model.batch) * CALLS / FLOP_RATE
    total = 0.0
    for job in work.jobs:
        if job.strategy == "numpy_reference":
            total += REFERENCE_S
        elif job.cache == "cold":
            total += COLD_START_S + GRAPH_S.get(job.strategy, 0.01) * p * p
        else:
            warm = START_S + GRAPH_S.get(job.strategy, 0.01) * p * p + execute
            total += warm * (COUNTED_SLOWDOWN if work.case.metric == "instructions" else 1)
    return total


def measured_s(run_dir: Path) -> dict[tuple[str, str], float]:
    """Seconds each case's workers took in a previous run (workers.csv wall_seconds)."""
    workers = results.read_run(run_dir)["workers"]
    sums = workers.groupby(["config", "case"])["wall_seconds"].sum()
    return {(str(c), str(k)): float(v) for (c, k), v in sums.items()}


def costs(work: list, previous: list[Path] | None = None) -> tuple[dict, str]:
    """Each case's estimated seconds, and what the estimate came from.

    With previous runs, their measured time where they have the case; for
    the others, the size model scaled by the median measured/estimated ratio
    of the cases both have (so the two kinds of estimate are in the same units).
    """
    sized = {item.key: estimate_s(item) for item in work}
    if not previous:
        return sized, "size model (harness.scale.shards)"
    measured = {}
    for run_dir in previous:
        measured.update(measured_s(run_dir))
    common = [measured[k] / sized[k] for k in sized if k in measured and sized[k] > 0]
    scale = statistics.median(common) if common else 1.0
    out = {k: measured.get(k, sized[k] * scale) for k in sized}
    names = ", ".join(Path(d).name for d in previous)
    return out, (
        f"workers.csv of {names} ({len(common)} of {len(sized)} cases; the others by the size model x {scale:.2f})"
    )


def makespan(cost: dict, count: int) -> tuple[float, list[float]]:
    """Seconds of the longest of ``count`` shards, and every shard's seconds."""
    loads = [sum(cost[k] for k in part) for part in partition(cost, count)]
    return max(loads), loads


def partition(cost: dict, count: int) -> list[list]:
    """Keys of ``cost`` (in their order) in ``count`` shards: largest first to the least loaded."""
    order = {k: i for i, k in enumerate(cost)}
    loads, shards = [0.0] * count, [[] for _ in range(count)]
    for key in sorted(cost, key=lambda k: (-cost[k], order[k])):
        target = min(range(count), key=lambda i: (loads[i], i))
        shards[target].append(key)
        loads[target] += cost[key]
    return [sorted(s, key=order.__getitem__) for s in shards]


def select(work: list, index: int, count: int, previous: list[Path] | None = None) -> dict:
    """The shard ``index`` of ``count`` of a run's plan, as env.json records it."""
    cost, source = costs(work, previous)
    shards = partition(cost, count)
    mine = shards[index - 1]
    return {
        "index": index,
        "count": count,
        "cases": [list(k) for k in mine],
        "estimated_s": round(sum(cost[k] for k in mine), 1),
        "estimated_total_s": round(sum(cost.values()), 1),
        "balanced_by": source,
    }


def plan_table(work: list, cost: dict, machines: list[int], source: str) -> str:
    """What ``gradcost plan`` prints: the run's cases, its workers, and its time on N machines."""
    total = sum(cost.values())
    longest = max(cost, key=cost.get)
    workers = sum(len(item.jobs) for item in work)
    lines = [
        f"{len(work)} cases, {workers} planned workers (more where processes disagree); estimated from: {source}",
        f"one machine: {total / 60:.1f} min of workers ({len(work) / total * 3600:.0f} cases per hour)",
        f"longest case: {longest[0]}/{longest[1]}, {cost[longest] / 60:.1f} min: no number of machines finishes sooner",
        "machines  longest shard (min)  mean shard (min)  idle share",
    ]
    for n in machines:
        count = min(n, len(work))
        span, loads = makespan(cost, count)
        idle = 1 - total / (span * n) if span else 0.0
        lines.append(f"{n:>8}  {span / 60:>19.1f}  {total / n / 60:>16.1f}  {idle:>10.0%}")
    lines.append("Worker time only: add start-up (environment probes, ~10 s) and the report (~10 s) per shard.")
    return "\n".join(lines)
