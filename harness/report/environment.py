"""The end of report.md: the workers that did not succeed, and the environment the run was measured in."""

from __future__ import annotations

import pandas as pd

from harness import results
from harness.config.releases import default_release, release_version
from harness.report import machines
from harness.report.formatting import FRAMEWORK_NAMES


def cores_lines(env: dict, summary: pd.DataFrame) -> list[str]:
    """Whether workers were pinned to their threads' cores, and the values that used more cores anyway."""
    pinning = env.get("affinity")
    if pinning is None:
        out = [
            "- Cores: this run predates pinning (results schema < 8): a worker may have used more cores "
            "than its threads, and no CPU time was recorded to tell."
        ]
    elif pinning.get("pinning"):
        out = [
            f"- Cores: every worker was pinned to its case's `threads` cores (cores it could be given: "
            f"{pinning.get('cpus_allowed')}; each worker's in workers.csv, `cpus`)."
        ]
    else:
        out = [
            f"- Cores: workers were **not** pinned ({pinning.get('reason')}): a framework may run on more "
            "cores than its `threads`; `cores_used` in summary.csv says how many it used."
        ]
    used = pd.to_numeric(summary.get("cores_used", pd.Series(dtype=float)), errors="coerce")
    if used.notna().any():
        out.append(
            f"- Process CPU time over wall time (`cores_used` in summary.csv) per value: {used.min():.2f} to "
            f"{used.max():.2f}."
        )
    if "unstable" in summary:
        over = summary[summary["unstable"].fillna("").astype(str).str.contains("cores used")]
        if len(over):
            shown = "; ".join(
                f"{r.config}/{r.case} `{r.strategy}` {r.phase} {r.cores_used:.2f}" for r in over.head(6).itertuples()
            )
            out.append(
                f"- **{len(over)} value(s) used more cores than their `threads`** (flagged `!`, not "
                f"comparable with one-core values): {shown}" + (" ..." if len(over) > 6 else "") + "."
            )
    return out


def outcome_section(workers: pd.DataFrame | None) -> list[str]:
    """Workers that failed, were skipped or failed as declared; framework modes that passed although
    declared to fail."""
    if workers is None or workers.empty:
        return []
    failures, passes = results.failures(workers), results.unexpected_passes(workers)
    if not failures and not passes:
        return []
    counts = workers["status"].value_counts()
    lines = [
        "## Workers that did not succeed",
        "",
        ", ".join(f"{n} {status}" for status, n in counts.items() if status != "ok") + ":",
        "",
    ]
    unafforded = results.budget_refused(failures)
    if unafforded:
        lines.append(f"- {len(unafforded)} planned worker(s) not run: the run's time budget was spent (above)")
    failures = [line for line in failures if line not in unafforded]
    lines += [f"- {line}" for line in failures[:20]] + (["- ..."] if len(failures) > 20 else [])
    lines += [f"- **unexpected pass**: {line}" for line in passes]
    return lines + [""]


def environment_section(run: dict) -> list[str]:
    env, summary = run["env"], run["summary"]
    git = env.get("git") or {}
    packages = env.get("packages") or {}
    return [
        "## Environment",
        "",
        f"- {env.get('date')}; {(env.get('cpu') or {}).get('model')} × {(env.get('cpu') or {}).get('count')} "
        f"CPUs; load average {env.get('loadavg_start')} at start, {env.get('loadavg_end')} at end",
        f"- Python {env.get('python')}, theano-pymc {packages.get('theano-pymc')}, "
        f"numpy {packages.get('numpy')}; BLAS: {(env.get('blas') or {}).get('choice')}",
        *[
            f"- {FRAMEWORK_NAMES.get(n, n)}: Python {i.get('python')}, "
            + ", ".join(f"{k} {v}" for k, v in (i.get("packages") or {}).items() if v)
            + f"; NumPy's BLAS {(i.get('numpy_blas') or {}).get('name')}; interpreter from {i.get('interpreter_from')}"
            for n, i in (env.get("frameworks") or {}).items()
        ],
        *[
            f"- GPU: {g.get('name')}, {g.get('memory')}, driver {g.get('driver')}, CUDA {g.get('cuda')}"
            for g in (env.get("gpu") or [])
        ],
        *[
            f"- {FRAMEWORK_NAMES.get(n, n)} sees GPU(s): {', '.join(i['gpus'])}"
            for n, i in (env.get("frameworks") or {}).items()
            if i.get("gpus")
        ],
        *cores_lines(env, summary),
        *defaults_then_and_now(env),
        f"- gradcost commit {git.get('commit')}" + (" (with uncommitted changes)" if git.get("dirty") else ""),
        *machines.lines(env, run.get("workers")),
        "- Everything else: env.json. Raw data: measurements.csv; statistics: summary.csv.",
        "",
    ]


def defaults_then_and_now(env: dict, current=default_release) -> list[str]:
    """A framework's own environment (``.envs/pytensor``) holds the release its pin named when the run was
    measured; where the pin has moved since, say so: env.json's ``frameworks`` then calls an older release
    the default, and the docs (which quote today's pins) must not seem to contradict the run."""
    moved, recorded = [], env.get("releases") or {}
    for name, info in (env.get("frameworks") or {}).items():
        now = current(name)  # None for a release's own environment (jax-0.4.30): it never moves
        info = info or {}
        held = info.get("version") or (info.get("packages") or {}).get(now.distribution) if now else None
        then = (recorded.get(name) or {}).get("version") or (release_version(held) if held else None)
        if now is None or then is None or now.version == then:
            continue
        label = f" (built as {held})" if held and held != then else ""
        moved.append(f"`{name}` {then}{label}, today {now.version}")
    if not moved:
        return []
    commit = ((env.get("git") or {}).get("commit") or "")[:7]
    return [
        f"- Default environments when this run was measured (commit {commit}): "
        + "; ".join(moved)
        + ". The pins have moved since (envs/NAME.txt); every row names the release it measured "
        "(column `framework_version`)."
    ]
