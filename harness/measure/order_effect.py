"""The order effect that naive Theano timing falls for, measured next to gradbench's numbers.

A newcomer times ``theano.function`` for one strategy, then the other, in one
process: the first compile builds C code into an empty cache (seconds), the
second reuses it (tenths of a second), so whichever comes second looks many
times faster. ``naive_worker`` does exactly that, in a fresh process with an
empty compiledir; ``measure`` runs it in both orders and runs gradbench itself
(isolated workers, warm and cold caches) in both orders, so the two can be
compared in one table (``order_effect.csv``).
"""
from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import pandas as pd

from harness import results
from harness.measure import runner, spawn, theano_env
from harness.config.cases import expand
from harness.config.schema import THEANO_STRATEGIES, Config

COLUMNS = ("method", "order", "strategy", "position", "cache", "seconds", "c_compiled")


def naive_worker(task: dict) -> dict:
    """Compile each strategy in turn in this one process; time each compile."""
    from harness.backends import theano as theano_backend  # THEANO_FLAGS are set by the parent
    from harness.measure.data import init_params, make_batch
    from harness.measure.modelspec import Model

    model = Model.from_dict(task["model"])
    values = init_params(model, task["seed"])
    b = theano_backend.backend(model, values, *make_batch(model, task["seed"]), task["mode"])
    rows = []
    for position, strategy in enumerate(task["order"]):
        grads = b.construct(strategy)
        before = b.c_stats()
        start = time.perf_counter()
        b.functions(strategy, grads)
        rows.append({"strategy": strategy, "position": position,
                     "seconds": time.perf_counter() - start,
                     "c_compiled": b.c_stats()[2] - before[2]})
    return {"status": "ok", "error": None, "measurements": rows}


def measure(config: Config, out_root: Path, progress=print) -> Path:
    """Naive in-process timing and gradbench, each in both orders, on the config's first case."""
    case = expand(config)[0]
    order = [s for s in config.run.strategies if s in THEANO_STRATEGIES]
    rows = []
    orders = (order, order[::-1])
    for listed in orders:
        label = " then ".join(listed)
        task = {"model": dataclasses.asdict(case.model), "mode": case.mode, "seed": config.run.seed,
                "order": listed}
        with theano_env.fresh_compiledir(theano_env.default_compiledir()) as empty:
            result = spawn.run_worker(task, theano_env.worker_env(empty, case.model.floatX,
                                                                    threads=case.threads),
                                      config.run.timeouts,
                                      command=[sys.executable, "-m", "harness.measure.order_effect"])
        if result["status"] != "ok":
            raise RuntimeError(f"naive timing failed: {result.get('error')}\n{result.get('output_tail')}")
        rows += [{**r, "method": "naive, one process", "order": label, "cache": "empty at start"}
                 for r in result["measurements"]]
        progress(f"naive ({label}): " + ", ".join(f"{r['strategy']} {r['seconds']:.3f} s"
                                                  for r in result["measurements"]))
    run_dirs = []
    for listed in orders:
        label = " then ".join(listed)
        settings = dataclasses.replace(config.run, strategies=tuple(listed), order="as_listed",
                                       caches=("warm", "cold"))
        run_dir = runner.run([dataclasses.replace(config, run=settings, sweep={})], out_root,
                             progress=progress)
        run_dirs.append(run_dir)
        m = results.read_csv(run_dir, "measurements.csv")
        m = m[(m["phase"] == "compile") & (m["status"] == "ok")]
        for (strategy, cache), d in m.groupby(["strategy", "cache"], sort=False):
            rows.append({"method": f"gradbench ({run_dir.name})", "order": label, "strategy": strategy,
                         "position": listed.index(strategy), "cache": cache,
                         "seconds": d["seconds"].median(), "c_compiled": d["c_compiled"].median()})
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    results.write_frame(run_dirs[-1] / "order_effect.csv", table)
    return run_dirs[-1]


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: ``python -m harness.measure.order_effect TASK.json RESULT.json [PROGRESS]``."""
    from harness.measure.spawn import serve
    return serve(naive_worker, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
