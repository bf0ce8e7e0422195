"""Command line: a thin layer over runner.run/resume and report.write_report."""
from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
from pathlib import Path

from harness.config.schema import ConfigError, load_config
from harness.core.registry import EXPECTED_FAILURE
from harness.orchestrate.environments import EnvironmentProblem

DEFAULT_OUT = Path("results")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gradbench", description=(
        "Measure the cost of reverse-mode gradients (Theano, PyTensor, JAX, PyTorch): one gradient call "
        "over all parameters versus one per parameter, for construction, compilation and execution."))
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run benchmark configs (YAML) into a new results folder")
    run.add_argument("configs", nargs="*", type=Path, help="config files (configs/*.yaml)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT,
                     help="folder that receives the run folder (default: results/)")
    run.add_argument("--resume", type=Path, metavar="RUN_DIR",
                     help="finish an interrupted run: measure only what RUN_DIR lacks")
    run.add_argument("--retry-failed", action="store_true",
                     help="with --resume: measure failed and skipped workers again")
    run.add_argument("--skip-missing", action="store_true",
                     help="record the cases of a framework whose environment is missing as skipped, "
                          "instead of refusing the run (a machine that has only some frameworks)")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar: one plain line per worker, as off a terminal")
    run.add_argument("--shard", metavar="I/N", help=(
        "measure only the I-th of N balanced parts of the run (whole cases; counted from 1), into a run "
        "folder that records its shard; 'env' reads I and N from a SLURM array or a Kubernetes Indexed Job "
        "(see README, 'Scaling out'); join the parts with 'gradbench merge'"))
    run.add_argument("--balance-from", type=Path, metavar="RUN_DIR", action="append",
                     help="with --shard: balance the parts by the case times of a previous run (workers.csv) "
                          "instead of by the cases' sizes (repeatable)")
    run.add_argument("--dask", metavar="ADDRESS", help=(
        "send each case to the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786); its workers "
        "must run with --nthreads 1 --resources gradbench=1"))
    order = sub.add_parser("order-effect", help=(
        "show the compile-order effect: naive one-process timing vs gradbench, in both orders"))
    order.add_argument("config", type=Path, help="config whose first case is used")
    order.add_argument("--out", type=Path, default=DEFAULT_OUT)
    paired = sub.add_parser("paired", help=(
        "time single and per_param alternately in the same worker, beside separate-process timing"))
    paired.add_argument("config", type=Path, help="config whose cases are measured")
    paired.add_argument("--out", type=Path, default=DEFAULT_OUT)
    paired.add_argument("--processes", type=int, default=3, help="paired workers per case (default 3)")
    paired.add_argument("--pairs", type=int, default=10, help="alternating pairs per worker (default 10)")
    compare = sub.add_parser("compare", help="compare two runs: what got slower or faster, beyond the noise")
    compare.add_argument("base", type=Path, help="the earlier run folder")
    compare.add_argument("new", type=Path, help="the later run folder (compare.csv is written here)")
    compare.add_argument("--factor", type=float, default=1.10,
                         help="smallest ratio of medians that counts as a change (default 1.10)")
    compare.add_argument("--fail-on-regression", action="store_true",
                         help="exit 1 when anything got significantly slower")
    plan = sub.add_parser("plan", help="how long a run would take on 1, 8, 64 machines (--shard), before running it")
    plan.add_argument("configs", nargs="+", type=Path)
    plan.add_argument("--machines", default="1,8,64", help="comma-separated machine counts (default 1,8,64)")
    plan.add_argument("--balance-from", type=Path, metavar="RUN_DIR", action="append",
                      help="estimate from a previous run's workers.csv (repeatable), not from the cases' sizes")
    merge = sub.add_parser("merge", help="join the run folders of 'run --shard I/N' into one run folder")
    merge.add_argument("shards", nargs="+", type=Path, help="the shards' run folders, all N of them")
    merge.add_argument("--out", type=Path, required=True, help="the merged run folder to write (new or empty)")
    report = sub.add_parser("report", help="recompute summary.csv and plots of an existing run")
    report.add_argument("run_dir", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        if bool(args.configs) == bool(args.resume):
            parser.error("run takes config files, or --resume RUN_DIR (not both)")
        if args.resume and args.shard:
            parser.error("--resume resumes the shard its folder records; give no --shard")
        if args.balance_from and not args.shard:
            parser.error("--balance-from needs --shard")
        return _run(args)
    if args.command == "merge":
        return _merge(args)
    if args.command == "plan":
        return _plan(args)
    if args.command == "order-effect":
        return _order_effect(args)
    if args.command == "compare":
        return _compare(args)
    if args.command == "paired":
        return _paired(args)
    return _report(args)


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt


def _run(args) -> int:
    from harness.orchestrate import runner
    from harness.scale.dask_cluster import ClusterError
    if not args.resume:
        try:
            configs = [load_config(path) for path in args.configs]
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        names = [c.name for c in configs]
        if len(set(names)) != len(names):
            print(f"error: two configs share a name ({', '.join(names)}); give each a distinct 'name'",
                  file=sys.stderr)
            return 2
        try:
            shard = _shard(args, configs)
        except (ValueError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    executor = None
    if args.dask:
        from harness.scale import dask_cluster
        try:  # before a run folder is made
            dask_cluster.check_cluster(args.dask)
        except ClusterError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        executor = dask_cluster.executor(args.dask)
    display = None
    if sys.stdout.isatty() and not args.quiet and _has_tqdm():
        from harness.orchestrate.progress import Bar
        display = Bar()  # it shows what runs, and prints the failures itself
        progress = lambda line: None  # noqa: E731
    else:
        progress = lambda line: print(line, flush=True)  # noqa: E731
    # SIGTERM (kill) and SIGHUP (a closed terminal) end a run like Ctrl-C: resumable.
    signals = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {sig: signal.signal(sig, _sigterm_as_interrupt) for sig in signals}
    try:
        if args.resume:
            run_dir = runner.resume(args.resume, progress=progress, retry_failed=args.retry_failed,
                                    display=display, skip_missing=args.skip_missing, executor=executor)
        else:
            run_dir = runner.run(configs, args.out, progress=progress, display=display,
                                 skip_missing=args.skip_missing, shard=shard, executor=executor)
    except runner.RunInterrupted as exc:
        print(f"interrupted: {exc.done} of {exc.total} workers finished; their rows are in {exc.run_dir}\n"
              f"resume with: {resume_command(exc.run_dir, args.dask)}", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, ConfigError, EnvironmentProblem, ClusterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return _conclude(run_dir)


EXIT_CODES = {0: "every worker measured (skipped cases and declared expected failures allowed where something "
                 "else was measured)",
              1: "a worker failed unexpectedly, or nothing at all was measured",
              2: "refused before measuring: a config, an environment, a run folder or a cluster",
              130: "interrupted (Ctrl-C, SIGTERM, SIGHUP): resumable"}


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
        return 1, f"nothing was measured: all {len(workers)} worker(s) skipped" if len(workers) else \
            "nothing was measured: the run has no workers"
    return 0, ""


def _conclude(run_dir: Path) -> int:
    """Print a finished run's table and problems; its exit code (``run_exit_code``)."""
    from harness import results
    from harness.report.files import format_table
    from harness.analysis.stats import summarize
    data = results.read_run(run_dir)
    print(format_table(data["summary"] if data["summary"] is not None else summarize(data["measurements"])))
    failures = results.failures(data["workers"])
    labels = {": skipped: ": "SKIPPED", f": {EXPECTED_FAILURE}: ": "EXPECTED FAILURE"}
    for line in failures:
        print(f"{next((v for k, v in labels.items() if k in line), 'FAILED')} {line}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} worker(s) did not succeed; see workers.csv", file=sys.stderr)
    for line in results.unexpected_passes(data["workers"]):
        print(f"UNEXPECTED PASS {line}", file=sys.stderr)
    print(f"results: {run_dir}")
    code, why = run_exit_code(data["workers"])
    if code:
        print(f"error: {why} (exit code {code})", file=sys.stderr)
    return code


def _shard(args, configs) -> dict | None:
    """The shard of the run this command measures (env.json's ``shard``), or None."""
    if not args.shard:
        return None
    from harness.orchestrate.runner import plan
    from harness.scale import shards
    index, count = shards.from_environment() if args.shard == "env" else shards.parse(args.shard)
    work = plan(configs)
    if count > len(work):
        raise ValueError(f"--shard {index}/{count}: the run has only {len(work)} cases; "
                         f"use at most {len(work)} shards (a case is never split)")
    return shards.select(work, index, count, args.balance_from)


def _plan(args) -> int:
    from harness.orchestrate.runner import plan
    from harness.scale import shards
    try:
        configs = [load_config(path) for path in args.configs]
        machines = [int(m) for m in args.machines.split(",")]
        if min(machines) < 1:
            raise ValueError("--machines: counts must be at least 1")
        work = plan(configs)
        cost, source = shards.costs(work, args.balance_from)
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(shards.plan_table(work, cost, machines, source))
    return 0


def _merge(args) -> int:
    from harness.scale.merge import merge
    try:
        out = merge(args.shards, args.out)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"merged {len(args.shards)} shards")
    return _conclude(out)


def _has_tqdm() -> bool:
    """The progress bar needs tqdm; a plain interpreter (a GPU machine without a package index)
    may not have it, and then the run prints one line per worker instead."""
    import importlib.util
    try:
        return importlib.util.find_spec("tqdm") is not None
    except ValueError:  # a module set to None in sys.modules: blocked on purpose
        return False


def resume_command(run_dir: Path, dask: str | None = None) -> str:
    """The command that resumes ``run_dir``, with the interpreter that ran this one (and the same
    Dask scheduler, for a run on a cluster).

    ``make bench`` runs ``.venv/bin/python``; a bare ``python`` on a fresh
    machine is another interpreter, without gradbench's packages.
    """
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(Path.cwd())
    cluster = f" --dask {shlex.quote(dask)}" if dask else ""
    return f"{shlex.quote(str(python))} -m harness run --resume {shlex.quote(str(run_dir))}{cluster}"


def _report(args) -> int:
    from harness.report.files import format_table, write_report
    try:
        summary = write_report(args.run_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(summary))
    print(f"plots: {args.run_dir / 'plots'}")
    return 0


def _paired(args) -> int:
    from harness.experiments import paired
    return _experiment(args, lambda config, progress: paired.measure(
        config, args.out, args.processes, args.pairs, progress=progress), "paired_summary.csv")


def _order_effect(args) -> int:
    from harness.experiments import order_effect
    return _experiment(args, lambda config, progress: order_effect.measure(config, args.out, progress=progress),
                       "order_effect.csv")


def _experiment(args, measure, table: str) -> int:
    """Run one of the side experiments on ``args.config`` and print the table it writes."""
    import pandas as pd
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        run_dir = measure(config, lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(pd.read_csv(run_dir / table).to_string(index=False))
    print(f"results: {run_dir / table}")
    return 0


def _compare(args) -> int:
    from harness.report import compare
    from harness import results
    if not args.factor > 1:
        print(f"error: --factor must be greater than 1 (got {args.factor})", file=sys.stderr)
        return 2
    try:
        table, env_diff = compare.compare_runs(args.base, args.new, args.factor)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results.write_frame(args.new / "compare.csv", table)
    print(compare.format_comparison(table, env_diff, args.factor))
    print(f"written: {args.new / 'compare.csv'}")
    if args.fail_on_regression and (table["change"] == "slower").any():
        return 1
    return 0
