"""Command line: a thin layer over the functions that tests call directly (``harness.orchestrate.runner``,
``harness.report``, ``harness.scale``, ``harness.experiments``)."""

from __future__ import annotations

import os
import sys

from harness.cli import commands
from harness.cli import run as running
from harness.cli.parser import build_parser

COMMANDS = {
    "run": running.run,
    "merge": commands.merge_shards,
    "plan": commands.plan_run,
    "order-effect": commands.order_effect,
    "compare": commands.compare_runs,
    "paired": commands.paired,
    "report": commands.report,
    "site": commands.site,
}


def renamed_variables(environ=os.environ) -> list[str]:
    """The GRADBENCH_* variables set in ``environ``: gradcost was gradbench until issue 33, and reads only
    GRADCOST_*; a script that still sets the old name would otherwise lose its setting without a word."""
    return sorted(name for name in environ if name.startswith("GRADBENCH_"))


def main(argv: list[str] | None = None) -> int:
    for name in renamed_variables():
        new = "GRADCOST_" + name.removeprefix("GRADBENCH_")
        print(f"warning: {name} is ignored: gradbench is now gradcost; set {new} instead", file=sys.stderr)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        if bool(args.configs) == bool(args.resume):
            parser.error("run takes config files, or --resume RUN_DIR (not both)")
        if args.resume and args.shard:
            parser.error("--resume resumes the shard its folder records; give no --shard")
        if args.balance_from and not args.shard:
            parser.error("--balance-from needs --shard")
        if args.time_budget is not None and args.dask:
            parser.error("--time-budget bounds the workers of this machine; a Dask cluster's run elsewhere")
        if args.time_budget is not None and not 0 < args.time_budget < float("inf"):
            parser.error(f"--time-budget must be a positive number of seconds (got {args.time_budget:g})")
        return running.run(args)
    return COMMANDS[args.command](args)
