"""The other commands: plan, merge, report, compare, and the two side experiments."""

from __future__ import annotations

import sys

from harness.cli.parser import DEFAULT_OUT
from harness.cli.run import conclude, refused
from harness.config.schema import ConfigError, load_config


def plan_run(args) -> int:
    from harness.orchestrate.plan import plan
    from harness.scale import shards

    try:
        configs = [load_config(path) for path in args.configs]
        machines = [int(m) for m in args.machines.split(",")]
        if min(machines) < 1:
            raise ValueError("--machines: counts must be at least 1")
        work = plan(configs)
        cost, source = shards.costs(work, args.balance_from)
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        return refused(exc)
    print(shards.plan_table(work, cost, machines, source))
    return 0


def merge_shards(args) -> int:
    from harness.scale.merge import merge

    try:
        out = merge(args.shards, args.out)
    except (FileNotFoundError, ValueError) as exc:
        return refused(exc)
    print(f"merged {len(args.shards)} shards")
    return conclude(out)


def report(args) -> int:
    from harness.report.files import format_table, write_report

    try:
        summary = write_report(args.run_dir)
    except (FileNotFoundError, ValueError) as exc:
        return refused(exc)
    print(format_table(summary))
    print(f"plots: {args.run_dir / 'plots'}")
    return 0


def site(args) -> int:
    from harness.site.build import build_site

    try:
        built = build_site(args.runs or [DEFAULT_OUT], args.out, progress=lambda line: print(line, file=sys.stderr))
    except (FileNotFoundError, ValueError) as exc:
        return refused(exc)
    for run in built.unread:
        print(f"not read: {run.name}: {run.reason}", file=sys.stderr)
    print(
        f"{len(built.pages)} pages from {len(built.runs) - len(built.unread)} runs in {built.seconds:.1f} s: "
        f"open {(built.out / 'index.html').resolve().as_uri()}"
    )
    return 0


def paired(args) -> int:
    from harness.experiments import paired

    return _experiment(
        args,
        lambda config, progress: paired.measure(config, args.out, args.processes, args.pairs, progress=progress),
        "paired_summary.csv",
    )


def order_effect(args) -> int:
    from harness.experiments import order_effect

    return _experiment(
        args, lambda config, progress: order_effect.measure(config, args.out, progress=progress), "order_effect.csv"
    )


def _experiment(args, measure, table: str) -> int:
    """Run one of the side experiments on ``args.config`` and print the table it writes."""
    import pandas as pd

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return refused(exc)
    try:
        run_dir = measure(config, lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(pd.read_csv(run_dir / table).to_string(index=False))
    print(f"results: {run_dir / table}")
    return 0


def compare_runs(args) -> int:
    from harness import results
    from harness.analysis.count_compare import MORE
    from harness.report import compare

    if not args.factor > 1:
        return refused(ValueError(f"--factor must be greater than 1 (got {args.factor})"))
    if not 0 < args.count_threshold < 1:
        return refused(ValueError(f"--count-threshold must be between 0 and 1 (got {args.count_threshold})"))
    try:
        table, env_diff = compare.compare_runs(args.base, args.new, args.factor, args.count_threshold)
    except (FileNotFoundError, ValueError) as exc:
        return refused(exc)
    results.write_frame(args.new / "compare.csv", table)
    print(compare.format_comparison(table, env_diff, args.factor, args.count_threshold))
    print("\n".join(compare.agreement(args.base, args.new)))
    print(f"written: {args.new / 'compare.csv'}")
    if args.fail_on_regression and table["change"].isin(["slower", MORE]).any():
        return 1
    return 0
