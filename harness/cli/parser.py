"""The command line's arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_OUT = Path("results")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradcost",
        description=(
            "Measure the cost of reverse-mode gradients (Theano, PyTensor, JAX, PyTorch): one gradient call "
            "over all parameters versus one per parameter, for construction, compilation and execution."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run benchmark configs (YAML) into a new results folder")
    run.add_argument("configs", nargs="*", type=Path, help="config files (configs/*.yaml)")
    run.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder that receives the run folder (default: results/)"
    )
    run.add_argument(
        "--resume", type=Path, metavar="RUN_DIR", help="finish an interrupted run: measure only what RUN_DIR lacks"
    )
    run.add_argument(
        "--retry-failed", action="store_true", help="with --resume: measure failed and skipped workers again"
    )
    run.add_argument(
        "--skip-missing",
        action="store_true",
        help="record the cases of a framework whose environment is missing as skipped, "
        "instead of refusing the run (a machine that has only some frameworks)",
    )
    run.add_argument(
        "--quiet", action="store_true", help="no progress bar: one plain line per worker, as off a terminal"
    )
    run.add_argument(
        "--shard",
        metavar="I/N",
        help=(
            "measure only the I-th of N balanced parts of the run (whole cases; counted from 1), into a run "
            "folder that records its shard; 'env' reads I and N from a SLURM array or a Kubernetes Indexed Job "
            "(see docs/scaling-out.md); join the parts with 'gradcost merge'"
        ),
    )
    run.add_argument(
        "--balance-from",
        type=Path,
        metavar="RUN_DIR",
        action="append",
        help="with --shard: balance the parts by the case times of a previous run (workers.csv) "
        "instead of by the cases' sizes (repeatable)",
    )
    run.add_argument(
        "--dask",
        metavar="ADDRESS",
        help=(
            "send each case to the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786); its workers "
            "must run with --nthreads 1 --resources gradcost=1"
        ),
    )
    run.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help=(
            "the most this run's workers may take in all: auto repeats get fewer seconds, and added processes and "
            "planned workers (later rounds first) start only while the time they are predicted to take is left "
            "(docs/methodology.md, 'A run's time budget'; make bench gives 540)"
        ),
    )
    order = sub.add_parser(
        "order-effect", help=("show the compile-order effect: naive one-process timing vs gradcost, in both orders")
    )
    order.add_argument("config", type=Path, help="config whose first case is used")
    order.add_argument("--out", type=Path, default=DEFAULT_OUT)
    paired = sub.add_parser(
        "paired", help=("time single and per_param alternately in the same worker, beside separate-process timing")
    )
    paired.add_argument("config", type=Path, help="config whose cases are measured")
    paired.add_argument("--out", type=Path, default=DEFAULT_OUT)
    paired.add_argument("--processes", type=int, default=3, help="paired workers per case (default 3)")
    paired.add_argument("--pairs", type=int, default=10, help="alternating pairs per worker (default 10)")
    compare = sub.add_parser("compare", help="compare two runs: what got slower or faster, beyond the noise")
    compare.add_argument("base", type=Path, help="the earlier run folder")
    compare.add_argument("new", type=Path, help="the later run folder (compare.csv is written here)")
    compare.add_argument(
        "--factor", type=float, default=1.10, help="smallest ratio of medians that counts as a change (default 1.10)"
    )
    compare.add_argument(
        "--count-threshold",
        type=float,
        default=0.01,
        help="counted values (metric instructions): the smallest relative change that counts, if it is also "
        "beyond the counts' own spread (default 0.01: 1%%)",
    )
    compare.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when anything got significantly slower (or counts more instructions)",
    )
    plan = sub.add_parser("plan", help="how long a run would take on 1, 8, 64 machines (--shard), before running it")
    plan.add_argument("configs", nargs="+", type=Path)
    plan.add_argument("--machines", default="1,8,64", help="comma-separated machine counts (default 1,8,64)")
    plan.add_argument(
        "--balance-from",
        type=Path,
        metavar="RUN_DIR",
        action="append",
        help="estimate from a previous run's workers.csv (repeatable), not from the cases' sizes",
    )
    merge = sub.add_parser("merge", help="join the run folders of 'run --shard I/N' into one run folder")
    merge.add_argument("shards", nargs="+", type=Path, help="the shards' run folders, all N of them")
    merge.add_argument("--out", type=Path, required=True, help="the merged run folder to write (new or empty)")
    report = sub.add_parser("report", help="recompute summary.csv and plots of an existing run")
    report.add_argument("run_dir", type=Path)
    site = sub.add_parser(
        "site", help="a static site of run folders that opens from file:// with no network request (default: results/)"
    )
    site.add_argument(
        "runs", nargs="*", type=Path, help="run folders, or folders of them (default: every run under results/)"
    )
    site.add_argument("--out", type=Path, default=Path("site"), help="the folder to write (default: site/)")
    return parser
