"""``gradcost run``: configs (or a run folder to resume) to a finished run folder and an exit code."""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
from pathlib import Path

from harness.config.schema import ConfigError, load_config
from harness.core.registry import EXPECTED_FAILURE
from harness.orchestrate.environments import EnvironmentProblem
from harness.report.status_section import nothing_measured


def refused(exc: Exception) -> int:
    """A command refused before anything was measured: the message, and exit code 2."""
    print(f"error: {exc}", file=sys.stderr)
    return 2


EXIT_CODES = {
    0: "every worker measured (skipped cases and declared expected failures allowed where something else was measured)",
    1: "a worker failed unexpectedly, or nothing at all was measured",
    2: "refused before measuring: a config, an environment, a run folder or a cluster",
    130: "interrupted (Ctrl-C, SIGTERM, SIGHUP): resumable",
}


def run_exit_code(workers) -> tuple[int, str]:
    """A finished run's exit code (see EXIT_CODES) and, if not 0, why.

    Skipped cases (no GPU, a missing environment, too much memory) are data, not errors, as long as
    something was measured: a run that measured nothing at all did not do what it was asked.
    """
    status = workers["status"] if "status" in workers else []
    failed, ok = int((status == "failed").sum()), int((status == "ok").sum())
    if failed:
        return 1, f"{failed} worker(s) failed"
    if ok == 0:
        return 1, nothing_measured(workers) if len(workers) else "nothing was measured: the run has no workers"
    return 0, ""


def conclude(run_dir: Path) -> int:
    """Print a finished run's table and problems; its exit code (``run_exit_code``)."""
    from harness import results
    from harness.analysis.summary import summarize
    from harness.report.files import format_table

    data = results.read_run(run_dir)
    print(format_table(data["summary"] if data["summary"] is not None else summarize(data["measurements"])))
    failures = results.failures(data["workers"])
    unafforded = results.budget_refused(failures)  # one line for all of them
    labels = {": skipped: ": "SKIPPED", f": {EXPECTED_FAILURE}: ": "EXPECTED FAILURE"}
    for line in failures:
        if line not in unafforded:
            print(f"{next((v for k, v in labels.items() if k in line), 'FAILED')} {line}", file=sys.stderr)
    if unafforded:
        print(
            f"BUDGET {len(unafforded)} planned worker(s) not run: the run's time budget was spent "
            "(report.md, 'Precision reached', says what the run reached; make bench TIME_BUDGET= lifts it)",
            file=sys.stderr,
        )
    if len(failures) > len(unafforded):
        print(f"{len(failures) - len(unafforded)} worker(s) did not succeed; see workers.csv", file=sys.stderr)
    for line in results.unexpected_passes(data["workers"]):
        print(f"UNEXPECTED PASS {line}", file=sys.stderr)
    print(f"results: {run_dir}")
    code, why = run_exit_code(data["workers"])
    if code:
        print(f"error: {why} (exit code {code})", file=sys.stderr)
    return code


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def run(args) -> int:
    """Measure the configs (or resume a run folder) and conclude: print the table and the problems."""
    from harness.orchestrate import runner
    from harness.scale.dask_cluster import ClusterError

    try:  # everything that can refuse the run, before a run folder is made
        configs, shard = ([], None) if args.resume else _configs_and_shard(args)
        executor = _executor(args.dask)
    except (ConfigError, ValueError, FileNotFoundError, ClusterError) as exc:
        return refused(exc)
    display, progress = _display(args.quiet)
    try:
        with _signals_interrupt():
            if args.resume:
                run_dir = runner.resume(
                    args.resume,
                    progress=progress,
                    retry_failed=args.retry_failed,
                    display=display,
                    skip_missing=args.skip_missing,
                    executor=executor,
                    time_budget_s=args.time_budget,
                )
            else:
                run_dir = runner.run(
                    configs,
                    args.out,
                    progress=progress,
                    display=display,
                    skip_missing=args.skip_missing,
                    shard=shard,
                    executor=executor,
                    time_budget_s=args.time_budget,
                )
    except runner.RunInterrupted as exc:
        print(
            f"interrupted: {exc.done} of {exc.total} workers finished; their rows are in {exc.run_dir}\n"
            f"resume with: {resume_command(exc.run_dir, args.dask, args.time_budget)}",
            file=sys.stderr,
        )
        return 130
    except (FileNotFoundError, ValueError, ConfigError, EnvironmentProblem, ClusterError) as exc:
        return refused(exc)
    try:
        with _signals_interrupt():
            return conclude(run_dir)
    except KeyboardInterrupt:
        print(f"interrupted; the run is complete: results: {run_dir}", file=sys.stderr)
        return 130


def _configs_and_shard(args) -> tuple[list, dict | None]:
    configs = [load_config(path) for path in args.configs]
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ValueError(f"two configs share a name ({', '.join(names)}); give each a distinct 'name'")
    return configs, _shard(args, configs)


def _executor(address: str | None):
    """Who measures the cases: this machine (None), or the Dask cluster at ``address`` (checked now)."""
    if not address:
        return None
    from harness.scale import dask_cluster

    dask_cluster.check_cluster(address)
    return dask_cluster.executor(address)


def _display(quiet: bool):
    """(a progress bar or None, the function that prints progress lines)."""
    if sys.stdout.isatty() and not quiet and _has_tqdm():
        from harness.orchestrate.progress import Bar

        return Bar(), lambda line: None  # the bar shows what runs, and prints the failures itself
    return None, lambda line: print(line, flush=True)


@contextlib.contextmanager
def _signals_interrupt():
    """Ctrl-C (SIGINT), SIGTERM (kill) and SIGHUP (a closed terminal) end a run alike: resumable, with the line
    that says how. Whatever the run inherited: a job started in the background of a non-interactive shell
    inherits SIGINT ignored, and an explicit ``kill -INT`` must still interrupt it. A SIGHUP inherited ignored
    stays ignored: that is what ``nohup`` asks for."""
    signals = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        signals.append(signal.SIGHUP)
    previous = {sig: signal.signal(sig, _sigterm_as_interrupt) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _shard(args, configs) -> dict | None:
    """The shard of the run this command measures (env.json's ``shard``), or None."""
    if not args.shard:
        return None
    from harness.orchestrate.plan import plan
    from harness.scale import shards

    index, count = shards.from_environment() if args.shard == "env" else shards.parse(args.shard)
    work = plan(configs)
    if count > len(work):
        raise ValueError(
            f"--shard {index}/{count}: the run has only {len(work)} cases; "
            f"use at most {len(work)} shards (a case is never split)"
        )
    return shards.select(work, index, count, args.balance_from)


def _has_tqdm() -> bool:
    """The progress bar needs tqdm; a plain interpreter (a GPU machine without a package index)
    may not have it, and then the run prints one line per worker instead."""
    import importlib.util

    try:
        return importlib.util.find_spec("tqdm") is not None
    except ValueError:  # a module set to None in sys.modules: blocked on purpose
        return False


def resume_command(run_dir: Path, dask: str | None = None, time_budget: float | None = None) -> str:
    """The command that resumes ``run_dir``, with the interpreter that ran this one (and the same
    Dask scheduler, for a run on a cluster; the same time budget, for a run that had one: the resumed
    part gets a budget of its own).

    ``make bench`` runs ``.venv/bin/python``; a bare ``python`` on a fresh
    machine is another interpreter, without gradcost's packages.
    """
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(Path.cwd())
    cluster = f" --dask {shlex.quote(dask)}" if dask else ""
    budget = f" --time-budget {time_budget:g}" if time_budget is not None else ""
    return f"{shlex.quote(str(python))} -m harness run --resume {shlex.quote(str(run_dir))}{cluster}{budget}"
