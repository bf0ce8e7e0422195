"""Merge the run folders of a sharded run (``run --shard I/N``) into one run folder.

The shards must be the N parts of one run: the same configs, results schema
and gradcost commit, each shard once, each complete. The merged folder has
every shard's rows (with their ``host``), env.json keeps every shard's
environment (``shards``), and the derived files and report are computed anew
from the merged measurements, as for a run measured on one machine.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pandas as pd

from harness import results
from harness.config.recorded import config_from_dict, in_config_order
from harness.orchestrate.runner import finish, plan

# Fields of a shard's env.json that describe that shard's own measuring, not the run.
PER_SHARD = ("run_id", "date", "status", "failures", "shard", "resumed")  # the load averages stay: shard 1's


class MergeError(ValueError):
    """The folders are not the complete, matching shards of one run."""


def _configs_key(configs: list[dict]) -> list[dict]:
    """Configs as they decide what is measured (where a machine read the file from does not)."""
    return [{k: v for k, v in c.items() if k != "source"} for c in configs]


def check(shards: list[tuple[Path, dict]]) -> None:
    """Refuse, with a message naming the folders, anything but the complete shards of one run."""
    if not shards:
        raise MergeError("no shard folders given")
    for path, env in shards:
        if not env.get("shard"):
            raise MergeError(f"{path}: not a shard (its run had no --shard)")
        if env.get("schema_version") != results.SCHEMA_VERSION:
            raise MergeError(
                f"{path}: results schema {env.get('schema_version')}, this gradcost merges "
                f"schema {results.SCHEMA_VERSION}"
            )
        if env.get("status") != "complete":
            raise MergeError(
                f"{path}: shard {env['shard']['index']}/{env['shard']['count']} is "
                f"{env.get('status')}; finish it first (gradcost run --resume {path})"
            )
    first_path, first = shards[0]
    for path, env in shards[1:]:
        if _configs_key(env["configs"]) != _configs_key(first["configs"]):
            raise MergeError(f"{path} and {first_path} ran different configs")
        a, b = (first.get("git") or {}).get("commit"), (env.get("git") or {}).get("commit")
        if a != b:
            raise MergeError(f"{path} was measured with gradcost commit {b}, {first_path} with {a}")
    counts = {env["shard"]["count"] for _, env in shards}
    if len(counts) > 1:
        raise MergeError(f"the shards split the run in different numbers of parts: {sorted(counts)}")
    count = counts.pop()
    seen: dict[int, Path] = {}
    for path, env in shards:
        index = env["shard"]["index"]
        if index in seen:
            raise MergeError(f"shard {index}/{count} given twice: {seen[index]} and {path}")
        seen[index] = path
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise MergeError(f"missing shard(s) {', '.join(f'{i}/{count}' for i in missing)} of {count}")
    owner: dict[tuple, Path] = {}
    for path, env in shards:
        for key in map(tuple, env["shard"]["cases"]):
            if key in owner:
                raise MergeError(f"case {key[0]}/{key[1]} is in two shards: {owner[key]} and {path}")
            owner[key] = path
    planned = {item.key for item in plan([config_from_dict(c) for c in first["configs"]])}
    lacking = planned - set(owner)
    if lacking or set(owner) - planned:
        raise MergeError(
            f"the shards' cases are not the run's: {len(lacking)} case(s) of the configs in no "
            f"shard, {len(set(owner) - planned)} case(s) not in the configs"
        )


def merge(shard_dirs: list[Path], out: Path) -> Path:
    """Write the merged run folder ``out`` (new, or empty) from ``shard_dirs``; return it."""
    runs = [(Path(d), results.read_run(d)) for d in shard_dirs]
    check([(path, run["env"]) for path, run in runs])
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise MergeError(f"{out} exists and is not empty; give a new folder to --out")
    runs.sort(key=lambda r: r[1]["env"]["shard"]["index"])
    envs = [run["env"] for _, run in runs]
    out.mkdir(parents=True, exist_ok=True)
    for name, columns in results.COLUMNS.items():
        frames = [results.read_csv(path, name) for path, _ in runs]
        frame = pd.concat([f for f in frames if not f.empty] or frames[:1], ignore_index=True)
        frame = in_config_order(frame, envs[0]["configs"])
        results.write_frame(out / name, frame.reindex(columns=list(columns)))
    results.write_json(out / "env.json", merged_env(envs, out.name, [path for path, _ in runs]))
    finish(out)
    return out


def merged_env(envs: list[dict], run_id: str, paths: list[Path]) -> dict:
    """env.json of the merged run: the first shard's environment at the top (what the report's
    environment section shows), every shard's own in ``shards``, and the run's own fields."""
    env = {k: v for k, v in envs[0].items() if k not in PER_SHARD}
    env.update(
        {
            "run_id": run_id,
            "status": "complete",
            "date": min(e.get("date") or "" for e in envs),
            "merged": {
                "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "from": [
                    {
                        "path": str(p),
                        "run_id": e.get("run_id"),
                        "shard": e["shard"]["index"],
                        "hostname": e.get("hostname"),
                    }
                    for p, e in zip(paths, envs)
                ],
            },
            "shards": [{k: v for k, v in e.items() if k not in ("configs", "files")} for e in envs],
            "failures": [line for e in envs for line in e.get("failures") or []],
        }
    )
    return env
