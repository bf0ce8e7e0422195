"""The order effect that naive Theano timing falls for, measured next to gradcost's numbers.

A newcomer times ``theano.function`` for one strategy, then the other, in one
process: the first compile builds C code into an empty cache (seconds), the
second reuses it (tenths of a second), so whichever comes second looks many
times faster. ``naive_worker`` does exactly that, in a fresh process with an
empty compiledir; ``measure`` runs it in both orders and runs gradcost itself
(isolated workers, warm and cold caches) in both orders, so the two can be
compared in one table (``order_effect.csv``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from harness import results
from harness.config.cases import expand
from harness.config.schema import Config
from harness.core.registry import GRADIENT_STRATEGIES
from harness.orchestrate import environments, runner, spawn, theano_env

COLUMNS = ("method", "order", "strategy", "position", "cache", "seconds", "c_compiled")


def measure(config: Config, out_root: Path, progress=print) -> Path:
    """Naive in-process timing and gradcost, each in both orders, on the config's first case."""
    case = expand(config)[0]
    order = [s for s in config.run.strategies if s in GRADIENT_STRATEGIES]
    rows = []
    orders = (order, order[::-1])
    for listed in orders:
        label = " then ".join(listed)
        task = {
            "kind": "naive",
            "model": dataclasses.asdict(case.model),
            "mode": case.mode,
            "seed": config.run.seed,
            "order": listed,
        }
        with theano_env.fresh_compiledir(theano_env.default_compiledir()) as empty:
            env = environments.worker_env("theano", empty, case.model.floatX, case.threads)
            result = spawn.run_worker(task, env, config.run.timeouts, command=environments.worker_command("theano"))
        if result["status"] != "ok":
            raise RuntimeError(f"naive timing failed: {result.get('error')}\n{result.get('output_tail')}")
        rows += [
            {**r, "method": "naive, one process", "order": label, "cache": "empty at start"}
            for r in result["measurements"]
        ]
        progress(
            f"naive ({label}): " + ", ".join(f"{r['strategy']} {r['seconds']:.3f} s" for r in result["measurements"])
        )
    run_dirs = []
    for listed in orders:
        label = " then ".join(listed)
        settings = dataclasses.replace(config.run, strategies=tuple(listed), order="as_listed", caches=("warm", "cold"))
        run_dir = runner.run([dataclasses.replace(config, run=settings, sweep={})], out_root, progress=progress)
        run_dirs.append(run_dir)
        m = results.read_csv(run_dir, "measurements.csv")
        m = m[(m["phase"] == "compile") & (m["status"] == "ok")]
        for (strategy, cache), d in m.groupby(["strategy", "cache"], sort=False):
            rows.append(
                {
                    "method": f"gradcost ({run_dir.name})",
                    "order": label,
                    "strategy": strategy,
                    "position": listed.index(strategy),
                    "cache": cache,
                    "seconds": d["seconds"].median(),
                    "c_compiled": d["c_compiled"].median(),
                }
            )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    results.write_frame(run_dirs[-1] / "order_effect.csv", table)
    return run_dirs[-1]
