"""Which machines measured a run, and how their environments differ (merged shards, a Dask cluster)."""

from __future__ import annotations

import pandas as pd


def host_environments(env: dict) -> dict[str, dict]:
    """Each measuring machine's env.json fields, by hostname: a merged run's shards, a Dask run's
    hosts, or (one machine) the run's own environment."""
    if env.get("hosts"):
        return dict(env["hosts"])
    if env.get("shards"):
        return {shard.get("hostname"): shard for shard in env["shards"]}
    return {env.get("hostname"): env}


def lines(env: dict, workers: pd.DataFrame) -> list[str]:
    """Report lines: how many machines measured the run, their cases, and their differences.

    Nothing for a run measured where it was started (the environment section says it all).
    """
    from harness.report.compare import environment_differences

    if workers is None or workers.empty or "host" not in workers:
        return []
    hosts = list(dict.fromkeys(workers["host"].dropna().astype(str)))
    how = (
        "merged from " + f"{len(env['shards'])} shards"
        if env.get("shards")
        else "on a Dask cluster"
        if env.get("executor") == "dask"
        else None
    )
    if how is None and len(hosts) <= 1:
        return []
    cases = workers.drop_duplicates(["config", "case"]).groupby("host").size()
    out = [
        f"- Measured on {len(hosts)} machine{'s' if len(hosts) != 1 else ''} ({how}): "
        + ", ".join(f"{h} ({cases.get(h, 0)} cases)" for h in hosts)
    ]
    envs = host_environments(env)
    base_host = env.get("hostname") if env.get("hostname") in envs else hosts[0]
    base = envs.get(base_host)
    for host in [h for h in hosts if h != base_host]:
        other = envs.get(host)
        if base is None or other is None:
            out.append(f"- {host}: no environment recorded")
            continue
        diff = [d for d in environment_differences(base, other) if not d.startswith("hostname:")]
        out.append(
            f"- {host} vs {base_host}: "
            + (
                "; ".join(diff)
                if diff
                else "no difference in the recorded environment (CPU, BLAS, Python, packages, GPU)"
            )
        )
    spread = workers.groupby(["config", "case"])["host"].nunique()
    split = spread[spread > 1]
    if len(split):
        out.append(
            f"- Warning: {len(split)} case(s) measured on more than one machine "
            f"(a resumed case?): {', '.join(f'{c}/{k}' for c, k in split.index)}; their ratios compare machines"
        )
    measured = "" if env.get("hostname") in hosts else ", which started the run and measured nothing"
    out.append(
        f"- The lines above describe {env.get('hostname')}{measured}; every machine's own environment: "
        + ("env.json `shards`." if env.get("shards") else "env.json `hosts`.")
    )
    return out
