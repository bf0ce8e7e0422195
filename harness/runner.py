"""Orchestrate a run: cases × strategies, each in a fresh worker process.

The orchestrator never imports Theano and never times anything itself; it
hands plain-data tasks to workers (see spawn and worker), and writes each
worker's rows to the run folder as soon as they arrive.
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from harness import envinfo, results, spawn, theano_env
from harness.cases import Case, expand
from harness.config import STRATEGY_PHASES, Config

Progress = Callable[[str], None]


def strategy_order(strategies: tuple[str, ...], seed: int, case_index: int) -> list[str]:
    """The config's strategies, shuffled reproducibly per case."""
    order = list(strategies)
    random.Random(f"{seed}:{case_index}").shuffle(order)
    return order


def make_task(case: Case, config: Config, strategy: str) -> dict:
    return {"config": case.config, "case": case.name, "model": asdict(case.model),
            "mode": case.mode, "strategy": strategy, "seed": config.run.seed,
            "repeats": dict(config.run.repeats), "warmup": dict(config.run.warmup)}


def worker_rows(case: Case, strategy: str, order: int, result: dict) -> list[dict]:
    """measurements.csv rows of one worker; a failure gives one row per phase."""
    base = {"config": case.config, "case": case.name, **case.columns(),
            "strategy": strategy, "order": order}
    if result["status"] != "ok":
        return [{**base, "phase": p, "repeat": None, "seconds": None, "status": "failed",
                 "error": result.get("error")} for p in STRATEGY_PHASES[strategy]]
    return [{**base, **m, "status": "ok", "error": None} for m in result["measurements"]]


def run(configs: list[Config], out_root: Path, progress: Progress = print,
        runner: Callable[..., dict] = spawn.run_worker, compiledir: Path | None = None) -> Path:
    """Measure every case of ``configs``; return the run folder."""
    compiledir = compiledir or theano_env.default_compiledir()
    compiledir.mkdir(parents=True, exist_ok=True)
    run_dir = results.new_run_dir(out_root)
    ldflags, choice = theano_env.detect_blas()
    work = [(config, case) for config in configs for case in expand(config)]
    total = sum(len(config.run.strategies) for config, _ in work)
    env = envinfo.collect(ldflags, choice, theano_env.theano_flags(compiledir, "<floatX>", ldflags),
                          compiledir)
    env.update({"schema_version": results.SCHEMA_VERSION, "run_id": run_dir.name,
                "files": results.FILES, "status": "running",
                "configs": [c.as_dict() for c in configs]})
    results.write_json(run_dir / "env.json", env)
    files = {name: results.CsvAppender(run_dir / name, cols) for name, cols in (
        ("measurements.csv", results.MEASUREMENT_COLUMNS), ("graphs.csv", results.GRAPH_COLUMNS),
        ("workers.csv", results.WORKER_COLUMNS))}
    done, failures, started = 0, [], time.monotonic()
    try:
        for index, (config, case) in enumerate(work):
            env_vars = theano_env.worker_env(compiledir, case.model.floatX)
            for order, strategy in enumerate(strategy_order(config.run.strategies, config.run.seed, index)):
                t0 = time.monotonic()
                result = runner(make_task(case, config, strategy), env_vars, config.run.timeout_s)
                wall = time.monotonic() - t0
                done += 1
                _store(files, case, strategy, order, result, wall)
                if result["status"] != "ok":
                    failures.append(f"{case.config}/{case.name}/{strategy}: {result.get('error')}")
                progress(_progress_line(done, total, started, case, strategy, result, wall))
        env["status"] = "complete"
    except KeyboardInterrupt:
        env["status"] = "interrupted"
        progress(f"interrupted: {done} of {total} workers finished; their rows are in {run_dir}")
        raise
    finally:
        for f in files.values():
            f.close()
        env["loadavg_end"] = envinfo._loadavg()
        env["failures"] = failures
        results.write_json(run_dir / "env.json", env)
        finish(run_dir)
    return run_dir


def finish(run_dir: Path) -> None:
    """Write summary.csv and the plots from the measurements on disk."""
    from harness.report import write_report
    write_report(run_dir)


def _store(files, case, strategy, order, result, wall) -> None:
    files["measurements.csv"].write(worker_rows(case, strategy, order, result))
    base = {"config": case.config, "case": case.name, **case.columns(), "strategy": strategy}
    if "graph" in result:
        files["graphs.csv"].write([{**base, **result["graph"]}])
    check = result.get("check", {})
    files["workers.csv"].write([{
        **base, "order": order, "status": result["status"], "error": result.get("error"),
        "wall_seconds": round(wall, 3),
        "import_seconds": result.get("info", {}).get("import_seconds"),
        "rel_err_vs_numpy": check.get("vs_numpy"), "rel_err_vs_single": check.get("vs_single"),
        "output_tail": result.get("output_tail") if result["status"] != "ok" else None}])


def _progress_line(done, total, started, case, strategy, result, wall) -> str:
    elapsed = time.monotonic() - started
    eta = elapsed / done * (total - done)
    status = "ok" if result["status"] == "ok" else f"FAILED: {result.get('error')}"
    return (f"[{done}/{total}] {case.config} {case.name} {strategy}: {wall:.1f} s, {status}"
            f" (elapsed {elapsed:.0f} s, ETA {eta:.0f} s)")
