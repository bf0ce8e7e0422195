"""Paired measurement: ``single`` and ``per_param`` compiled in one worker, timed alternately.

gradcost times each strategy in processes of its own, so a ratio of two
strategies also carries what differs between processes. This experiment
removes that: one worker builds both strategies' gradient graphs in
alternating pairs (construct: AB, BA, AB, ...), compiles both functions,
checks their gradients agree, then times them in alternating pairs too
(execute: same process, same memory state, drift cancelled), and says
whether the two compiled functions are the same (their fingerprints).
Several such workers give a CI over processes of the paired ratio, to set
beside the separate-process ratio of an ordinary run of the same config.

The worker side is ``harness.worker.paired`` (task kind ``paired``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from harness.analysis.stats import t_interval
from harness.core.registry import PAIRED_STRATEGIES as PAIR

COLUMNS = ("config", "case", "framework", "mode", "slot", "phase", "pair", "position", "strategy", "seconds", "loops")
SUMMARY_COLUMNS = (
    "config",
    "case",
    "framework",
    "mode",
    "phase",
    "processes",
    "pairs",
    "paired_ratio",
    "ci_low",
    "ci_high",
    "process_ratios",
    "same_function",
    "fingerprint_single",
    "fingerprint_per_param",
)


def summarize(rows: pd.DataFrame, fingerprints: dict) -> pd.DataFrame:
    """Per case and phase: the median over pairs of per_param/single in each process, and a t CI over
    processes. Rows without a phase (paired.csv before construct was paired) are execute's."""
    out = []
    rows = rows.assign(phase=rows["phase"].fillna("execute")) if "phase" in rows else rows.assign(phase="execute")
    keys = ["config", "case", "framework", "mode", "phase"]
    for (config, case, framework, mode, phase), d in rows.groupby(keys, sort=False):
        wide = d.pivot_table(index=["slot", "pair"], columns="strategy", values="seconds")
        ratio = (wide["per_param"] / wide["single"]).reset_index(name="ratio")
        per_process = ratio.groupby("slot")["ratio"].median()
        low, high = t_interval(per_process.to_numpy())
        fp = fingerprints.get(case, {})
        same = (fp.get("single") == fp.get("per_param")) if fp.get("single") else None
        out.append(
            {
                "config": config,
                "case": case,
                "framework": framework,
                "mode": mode,
                "phase": phase,
                "processes": per_process.size,
                "pairs": int(ratio.groupby("slot").size().min()),
                "paired_ratio": float(np.exp(np.log(per_process).mean())),
                "ci_low": low,
                "ci_high": high,
                "process_ratios": " ".join(f"{r:.3f}" for r in per_process),
                "same_function": same,
                "fingerprint_single": fp.get("single"),
                "fingerprint_per_param": fp.get("per_param"),
            }
        )
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))


def measure(config, out_root: Path, processes: int = 3, pairs: int = 10, progress=print) -> Path:
    """Paired workers for every case of ``config``, then an ordinary run of the same cases
    (``single`` and ``per_param`` in processes of their own) beside them: one folder."""
    from harness import results
    from harness.config.cases import expand
    from harness.orchestrate import environments, runner, spawn, theano_env

    settings = dataclasses.replace(config.run, strategies=PAIR, caches=("warm",), processes=processes)
    separate = runner.run([dataclasses.replace(config, run=settings)], out_root, progress=progress)
    rows, fingerprints = [], {}
    compiledir = theano_env.default_compiledir()
    for case in expand(config):
        for slot in range(processes):
            task = {
                "kind": "paired",
                "model": dataclasses.asdict(case.model),
                "framework": case.framework,
                "mode": case.mode,
                "threads": case.threads,
                "device": case.device,
                "seed": config.run.seed,
                "pairs": pairs,
                "warmup": config.run.warmup["execute"],
                "min_time_s": config.run.min_time_s,
            }
            shared = environments.cache_dir(case.framework, compiledir)
            env = environments.worker_env(case.framework, shared, case.model.floatX, case.threads, device=case.device)
            result = spawn.run_worker(
                task, env, config.run.timeouts, command=environments.worker_command(case.framework)
            )
            if result["status"] != "ok":
                raise RuntimeError(
                    f"paired worker failed for {case.name}: {result.get('error')}\n{result.get('output_tail', '')}"
                )
            fingerprints[case.name] = result["fingerprints"]
            base = {
                "config": case.config,
                "case": case.name,
                "framework": case.framework,
                "mode": case.mode,
                "slot": slot,
            }
            rows += [{**base, **r} for r in result["measurements"]]
            progress(f"paired {case.name} #{slot + 1}: {len(result['measurements'])} timings")
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    results.write_frame(separate / "paired.csv", table)
    summary = summarize(table, fingerprints)
    sep = pd.read_csv(separate / "summary.csv")
    sep = sep[(sep["cache"] == "warm") & sep["phase"].isin(["construct", "execute"]) & (sep["strategy"] == "per_param")]
    summary = summary.merge(
        sep[["case", "phase", "ratio_vs_single", "ratio_ci_low", "ratio_ci_high"]].rename(
            columns={
                "ratio_vs_single": "separate_ratio",
                "ratio_ci_low": "separate_ci_low",
                "ratio_ci_high": "separate_ci_high",
            }
        ),
        on=["case", "phase"],
        how="left",
    )
    results.write_frame(separate / "paired_summary.csv", summary)
    return separate
