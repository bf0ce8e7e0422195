"""Issue 12: shards of a run, merging them, and a Dask cluster as the executor.

The partition and the scheduler-index mapping are checked as properties; merge
and the Dask executor with real workers (a tiny config) against a local run of
the same config: the same workers, each measured once, the same rows.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import fake_worker
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import cli, results
from harness.cli import run as cli_run
from harness.config.schema import load_config, parse_config
from harness.orchestrate import plan as planning
from harness.orchestrate import record, runner, spawn
from harness.scale import merge, shards

REPO = Path(__file__).resolve().parent.parent
# Three cases of two workers each, real and quick (a few seconds a worker).
TINY = {
    "name": "tiny3",
    "model": {"input": 6, "depth": 2, "width": 5, "output": 3, "batch": 4},
    "run": {
        "cache": "warm",
        "strategies": ["single", "numpy_reference"],
        "repeats": {"construct": 2, "compile": 1, "execute": 2},
        "warmup": 0,
        "min_time_s": 0.001,
    },
    "sweep": {"depth": [1, 2, 3]},
}
# A config with cases of very different sizes and cold workers, for the partition.
SIZED = {
    "name": "sized",
    "model": {"input": 16, "width": 32, "output": 4, "batch": 8},
    "run": {"cache": "both", "processes": 2},
    "sweep": {"depth": [1, 2, 4, 8, 16, 24, 32]},
}


def readme_example(name: str) -> str:
    """The fenced block under ``<!-- example: NAME -->`` in docs/scaling-out.md (what users copy)."""
    text = (REPO / "docs" / "scaling-out.md").read_text()
    after = text.split(f"<!-- example: {name} -->", 1)[1]
    return after.split("```", 2)[1].split("\n", 1)[1]


def _config(doc=TINY):
    return parse_config(json.loads(json.dumps(doc)), source="test")


def _write_config(tmp_path, doc=TINY) -> Path:
    path = tmp_path / f"{doc['name']}.yaml"
    path.write_text(json.dumps(doc))  # JSON is YAML
    return path


def _quiet(line):
    pass


def _workers(run_dir) -> pd.DataFrame:
    return results.read_run(run_dir)["workers"]


def _files(run_dir) -> list[str]:
    """The run folder's files (the plots too, where drawn): a merged or Dask run must have a local run's."""
    return sorted(str(p.relative_to(run_dir)) for p in Path(run_dir).rglob("*") if p.is_file())


def _row_counts(run_dir) -> pd.Series:
    """Rows per worker and phase: what a run measured, whatever its timings."""
    m = results.read_run(run_dir)["measurements"]
    return m.groupby([*results.WORKER_KEY, "phase", "status"]).size().sort_index()


# --- the partition ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.1, 1000), min_size=1, max_size=40), st.integers(1, 12))
def test_partition_puts_every_case_in_exactly_one_shard_and_balances(costs, count):
    cost = {("c", f"case{i}"): c for i, c in enumerate(costs)}
    parts = shards.partition(cost, count)
    assert len(parts) == count
    flat = [k for part in parts for k in part]
    assert sorted(flat) == sorted(cost)  # each case once
    loads = [sum(cost[k] for k in part) for part in parts]
    # Largest-first to the least loaded: the longest shard is within one case of the average.
    assert max(loads) <= sum(costs) / count + max(costs) + 1e-9
    assert parts == shards.partition(dict(cost), count)  # the same partition on every machine
    for part in parts:  # each shard lists its cases in plan order
        assert part == sorted(part, key=list(cost).index)


def test_a_shard_gets_whole_cases_and_the_shards_cover_the_plan():
    work = planning.plan([_config(SIZED)])
    chosen = [shards.select(work, i, 3) for i in (1, 2, 3)]
    keys = [tuple(k) for s in chosen for k in s["cases"]]
    assert sorted(keys) == sorted(item.key for item in work) and len(set(keys)) == len(keys)
    # Balanced by size: the deepest case (its per_param_separate dominates) is alone or nearly.
    loads = [s["estimated_s"] for s in chosen]
    biggest = max(shards.estimate_s(item) for item in work)
    assert max(loads) <= sum(loads) / 3 + biggest
    deepest = ("sized", "depth=32")
    (owner,) = [s for s in chosen if list(deepest) in s["cases"]]
    assert len(owner["cases"]) <= 2
    assert all(s["estimated_total_s"] == pytest.approx(sum(loads), abs=0.5) for s in chosen)


def test_size_estimate_grows_with_depth_and_the_previous_run_decides_where_it_has_the_case(tmp_path):
    work = planning.plan([_config(SIZED)])
    sizes = [shards.estimate_s(item) for item in work]
    assert sizes == sorted(sizes) and sizes[-1] > 5 * sizes[0]  # measured: depth 24 took 5.4x depth 1's time
    # A previous run that measured one case as the slowest by far: balancing follows it.
    previous = runner.run([_config(SIZED)], tmp_path, _quiet, runner=fake_worker, probe=False)
    workers = pd.read_csv(previous / "workers.csv")
    workers["wall_seconds"] = [1000.0 if case == "depth=1" else 1.0 for case in workers["case"]]
    workers.to_csv(previous / "workers.csv", index=False)
    cost, source = shards.costs(work, [previous])
    assert cost[("sized", "depth=1")] == pytest.approx(1000.0 * workers["case"].eq("depth=1").sum())
    assert "workers.csv" in source
    owner = [s for s in (shards.select(work, i, 2, [previous]) for i in (1, 2)) if ["sized", "depth=1"] in s["cases"]][
        0
    ]
    assert owner["cases"] == [["sized", "depth=1"]]


@pytest.mark.parametrize("text, expected", [("1/1", (1, 1)), ("3/8", (3, 8)), (" 8 / 8 ", (8, 8))])
def test_shard_text(text, expected):
    assert shards.parse(text) == expected


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "2", "a/b", "-1/3"])
def test_bad_shard_text_is_refused(text):
    with pytest.raises(shards.ShardError, match="I/N|between 1 and N"):
        shards.parse(text)


@pytest.mark.parametrize("first", [0, 1])
def test_slurm_array_indices_map_to_every_shard_once(first):
    count = 5
    got = [
        shards.from_environment(
            {
                "SLURM_ARRAY_TASK_ID": str(first + i),
                "SLURM_ARRAY_TASK_MIN": str(first),
                "SLURM_ARRAY_TASK_MAX": str(first + count - 1),
                "SLURM_ARRAY_TASK_COUNT": str(count),
            }
        )
        for i in range(count)
    ]
    assert got == [(i, count) for i in range(1, count + 1)]


def test_kubernetes_completion_indices_map_to_every_shard_once():
    got = [shards.from_environment({"JOB_COMPLETION_INDEX": str(i), "GRADCOST_SHARDS": "4"}) for i in range(4)]
    assert got == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(shards.ShardError, match="GRADCOST_SHARDS"):
        shards.from_environment({"JOB_COMPLETION_INDEX": "0"})
    with pytest.raises(shards.ShardError, match="step"):
        shards.from_environment(
            {
                "SLURM_ARRAY_TASK_ID": "2",
                "SLURM_ARRAY_TASK_MIN": "0",
                "SLURM_ARRAY_TASK_COUNT": "2",
                "SLURM_ARRAY_TASK_STEP": "2",
            }
        )
    with pytest.raises(shards.ShardError, match="no GRADCOST_SHARD"):
        shards.from_environment({})


def _example_command(text: str, variables: dict) -> list[str]:
    """The arguments after ``harness run`` in an example, as its shell would expand them."""
    (line,) = [line for line in text.splitlines() if "harness run" in line]
    line = line.split("harness run", 1)[1]
    out = subprocess.run(
        ["bash", "-c", f'set -- {line}; printf "%s\\n" "$@"'],
        env={**variables, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_the_readme_examples_for_slurm_and_kubernetes_give_every_case_to_one_shard(monkeypatch):
    """What the examples run, per array index: the shards they name cover the run once."""
    import yaml

    monkeypatch.chdir(REPO)
    slurm = readme_example("slurm")
    assert "#SBATCH --exclusive" in slurm and "#SBATCH --array=1-" in slurm
    count = int(slurm.split("#SBATCH --array=1-", 1)[1].split()[0])
    job = yaml.safe_load(readme_example("kubernetes"))
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["parallelism"] >= 1
    container = spec["template"]["spec"]["containers"][0]
    k8s_env = {e["name"]: str(e["value"]) for e in container.get("env", []) if "value" in e}
    assert int(k8s_env["GRADCOST_SHARDS"]) == spec["completions"]
    k8s = " ".join(container["command"] + container.get("args", []))
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "GRADCOST_SHARD", "JOB_COMPLETION_INDEX"))
    }
    for text, total, variables in [
        (
            slurm,
            count,
            lambda i: {
                "SLURM_ARRAY_TASK_ID": str(i + 1),
                "SLURM_ARRAY_TASK_MIN": "1",
                "SLURM_ARRAY_TASK_COUNT": str(count),
                "SLURM_ARRAY_JOB_ID": "77",
            },
        ),
        (k8s, spec["completions"], lambda i: {**k8s_env, "JOB_COMPLETION_INDEX": str(i)}),
    ]:
        covered = []
        for i in range(total):
            environ = variables(i)
            args = cli.build_parser().parse_args(["run", *_example_command(text, environ)])
            monkeypatch.setattr(os, "environ", {**base, **environ})
            configs = [load_config(p) for p in args.configs]
            shard = cli_run._shard(args, configs)
            assert (shard["index"], shard["count"]) == (i + 1, total)
            covered += [tuple(k) for k in shard["cases"]]
        assert sorted(covered) == sorted(item.key for item in planning.plan(configs))


# --- shards and merge, real workers -----------------------------------------------------------


def _fake(task, env, timeouts, **kwargs):
    return fake_worker(task, env, timeouts)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The tiny config run on this machine, not sharded, by the fake worker: every planned worker once, each
    phase with the rows its repeats ask for, and the files a run writes. What a sharded or a Dask run must
    equal (a real local run gives the same rows and files; the Dask tests below compare real workers to it)."""
    out = tmp_path_factory.mktemp("local")
    return runner.run([_config()], out, _quiet, runner=_fake, probe=False)


def test_three_shards_merged_equal_the_unsharded_run(local_run, tmp_path, capsys, monkeypatch):
    # The command line as a user runs it, each shard's workers answered by the fake worker: sharding and
    # merging are about which cases run where and how their files join, not about what a worker measures.
    monkeypatch.setattr(spawn, "run_worker", _fake)
    config = _write_config(tmp_path)
    dirs = []
    for i in (1, 2, 3):
        out = tmp_path / f"shard{i}"
        assert cli.main(["run", str(config), "--shard", f"{i}/3", "--out", str(out), "--quiet"]) == 0
        (run_dir,) = out.iterdir()
        env = json.loads((run_dir / "env.json").read_text())
        assert env["shard"]["index"] == i and len(env["shard"]["cases"]) == 1  # three cases, three shards
        assert set(_workers(run_dir)["case"]) == {env["shard"]["cases"][0][1]}
        dirs.append(run_dir)
    merged = tmp_path / "merged"
    capsys.readouterr()
    assert cli.main(["merge", *map(str, reversed(dirs)), "--out", str(merged)]) == 0
    assert "merged 3 shards" in capsys.readouterr().out
    a, b = _workers(local_run), _workers(merged)
    key = list(results.WORKER_KEY)
    assert sorted(map(tuple, a[key].values)) == sorted(map(tuple, b[key].values))
    assert b[key].apply(tuple, axis=1).is_unique and (b["status"] == "ok").all()
    pd.testing.assert_series_equal(_row_counts(local_run), _row_counts(merged))
    assert _files(merged) == _files(local_run)
    for name in ("summary.csv", "scaling.csv", "throughput.csv", "report.md", "graphs.csv", "limits.csv"):
        assert (merged / name).exists(), name
    summary = pd.read_csv(merged / "summary.csv")
    assert list(dict.fromkeys(summary["case"])) == ["depth=1", "depth=2", "depth=3"]  # the config's order
    env = json.loads((merged / "env.json").read_text())
    assert [s["shard"]["index"] for s in env["shards"]] == [1, 2, 3] and env["status"] == "complete"
    assert set(b["host"]) == {env["hostname"]}
    assert "merged from 3 shards" in (merged / "report.md").read_text()


@pytest.fixture
def fake_shards(tmp_path):
    config = _config()
    work = planning.plan([config])
    return [
        runner.run(
            [config], tmp_path / "shards", _quiet, runner=fake_worker, probe=False, shard=shards.select(work, i, 3)
        )
        for i in (1, 2, 3)
    ]


def _edit_env(run_dir, **changes):
    env = json.loads((run_dir / "env.json").read_text())
    env.update(changes)
    (run_dir / "env.json").write_text(json.dumps(env))


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda d: d[:2], r"missing shard\(s\) 3/3"),
        (lambda d: [d[0], d[1], d[1], d[2]], "shard 2/3 given twice"),
        (lambda d: (_edit_env(d[1], git={"commit": "abc"}), d)[1], "gradcost commit abc"),
        (lambda d: (_edit_env(d[2], status="interrupted"), d)[1], "shard 3/3 is interrupted.*--resume"),
        (lambda d: (_edit_env(d[0], shard=None), d)[1], "not a shard"),
        (lambda d: (_edit_env(d[1], schema_version=6), d)[1], "results schema 6"),
    ],
)
def test_merge_refuses_what_is_not_the_complete_shards_of_one_run(fake_shards, tmp_path, spoil, message):
    with pytest.raises(merge.MergeError, match=message):
        merge.merge(spoil(fake_shards), tmp_path / "merged")
    assert not (tmp_path / "merged").exists()


def test_merge_refuses_shards_of_other_configs_and_a_full_output_folder(fake_shards, tmp_path, capsys):
    env = json.loads((fake_shards[2] / "env.json").read_text())
    env["configs"][0]["run"]["seed"] = 99
    (fake_shards[2] / "env.json").write_text(json.dumps(env))
    assert cli.main(["merge", *map(str, fake_shards), "--out", str(tmp_path / "m")]) == 2
    assert "ran different configs" in capsys.readouterr().err
    env["configs"][0]["run"]["seed"] = json.loads((fake_shards[0] / "env.json").read_text())["configs"][0]["run"][
        "seed"
    ]
    (fake_shards[2] / "env.json").write_text(json.dumps(env))
    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("x")
    with pytest.raises(merge.MergeError, match="not empty"):
        merge.merge(fake_shards, full)
    assert merge.merge(fake_shards, tmp_path / "ok").exists()


def test_run_refuses_more_shards_than_cases_and_a_bad_shard(tmp_path, capsys):
    config = _write_config(tmp_path)
    assert cli.main(["run", str(config), "--shard", "1/4", "--out", str(tmp_path / "o")]) == 2
    assert "only 3 cases" in capsys.readouterr().err
    assert cli.main(["run", str(config), "--shard", "5/4", "--out", str(tmp_path / "o")]) == 2
    assert "between 1 and N" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_shard_resumes_its_own_cases(tmp_path):
    config = _config()
    work = planning.plan([config])
    shard = shards.select(work, 2, 3)
    run_dir = runner.run([config], tmp_path, _quiet, runner=fake_worker, probe=False, shard=shard)
    workers = pd.read_csv(run_dir / "workers.csv")
    workers.iloc[:1].to_csv(run_dir / "workers.csv", index=False)  # as if cut short after one worker
    runner.resume(run_dir, _quiet, runner=fake_worker, probe=False)
    again = _workers(run_dir)
    assert set(again["case"]) == {shard["cases"][0][1]} and len(again) == len(workers)


# --- a Dask cluster on localhost ---------------------------------------------------------------


def _dask(*args, log: Path):
    with open(log, "w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _kill(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A real scheduler and two single-threaded workers with the gradcost resource (as docs/scaling-out.md
    starts them), each in its own process group, shared by this module's cluster tests (the one that kills a
    worker runs last); yields (address, {name: Popen})."""
    pytest.importorskip("distributed")
    tmp_path = tmp_path_factory.mktemp("cluster")
    scheduler_file = tmp_path / "scheduler.json"
    procs = {
        "scheduler": _dask(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
            log=tmp_path / "scheduler.log",
        )
    }
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for name in ("w1", "w2"):
            procs[name] = _dask(
                "worker",
                address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-nanny",
                "--resources",
                "gradcost=1",
                "--no-dashboard",
                "--name",
                name,
                log=tmp_path / f"{name}.log",
            )
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, procs
    finally:
        for proc in procs.values():
            _kill(proc)


def _measuring(dask_worker: subprocess.Popen) -> bool:
    """Whether a gradcost worker process (``python -m harness.worker``) runs under this Dask worker: its case
    is under way, mid-case."""
    import psutil

    try:
        children = psutil.Process(dask_worker.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for child in children:
        try:
            if "harness.worker" in child.cmdline():
                return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return False


def _dask_run(tmp_path, address, stderr=subprocess.STDOUT):
    """``gradcost run`` of the tiny config on the cluster, as a user starts it; (process, out folder)."""
    config, out = _write_config(tmp_path), tmp_path / "out"
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(config), "--dask", address, "--out", str(out), "--quiet"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    ), out


@pytest.mark.slow
@pytest.mark.dask
def test_a_dask_run_interrupted_resumes_on_the_cluster_from_the_printed_command(cluster, tmp_path):
    import shlex

    address, _ = cluster
    run, out = _dask_run(tmp_path, address, stderr=subprocess.PIPE)
    for line in run.stdout:  # the first case's workers land together, when the case ends
        if line.startswith("[1/"):
            break
    else:
        pytest.fail(f"the run ended before a case: {run.communicate()}")
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 130, err
    (run_dir,) = out.iterdir()
    before = _workers(run_dir)
    assert json.loads((run_dir / "env.json").read_text())["status"] == "interrupted"
    assert 2 <= len(before) < 6 and (before["status"] == "ok").all()
    (command,) = [line.split("resume with: ", 1)[1] for line in err.splitlines() if "resume with: " in line]
    assert f"--dask {address}" in command
    resumed = subprocess.run(shlex.split(command) + ["--quiet"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    workers = _workers(run_dir)
    key = list(results.WORKER_KEY)
    assert len(workers) == 6 and workers[key].apply(tuple, axis=1).is_unique and (workers["status"] == "ok").all()
    assert set(map(tuple, before[key].values)) <= set(map(tuple, workers[key].values))
    assert set(workers["pid"]) >= set(before["pid"])  # what landed before was not measured again


@pytest.mark.slow
@pytest.mark.dask
def test_a_dask_cluster_with_a_worker_killed_mid_case_measures_every_case_once(cluster, local_run, tmp_path):
    from distributed import Client

    address, procs = cluster
    run, out = _dask_run(tmp_path, address)
    killed = None
    with Client(address, timeout=30) as client:
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline and run.poll() is None:
            for addr in sorted(a for a, keys in client.processing().items() if keys):
                name = client.scheduler_info()["workers"][addr]["name"]
                if _measuring(procs[name]):  # evidence, not a guess: a gradcost worker process runs there
                    _kill(procs[name])
                    killed = name
                    break
            time.sleep(0.05)
    assert killed, "no case was ever seen measuring on the cluster"
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output
    (run_dir,) = out.iterdir()
    workers = _workers(run_dir)
    key = list(results.WORKER_KEY)
    assert workers[key].apply(tuple, axis=1).is_unique  # every worker once: the lost case was not doubled
    assert (workers["status"] == "ok").all(), workers[["case", "strategy", "status", "error"]]
    # Two Dask workers measured at once on this machine, each worker process on one core of its own.
    from harness.core.affinity import parse_cpus

    assert workers["cpus"].map(lambda cpus: len(parse_cpus(str(cpus)))).eq(1).all(), workers["cpus"]
    local = _workers(local_run)
    assert sorted(map(tuple, workers[key].values)) == sorted(map(tuple, local[key].values))
    pd.testing.assert_series_equal(_row_counts(local_run), _row_counts(run_dir))
    assert _files(run_dir) == _files(local_run)
    env = json.loads((run_dir / "env.json").read_text())
    assert env["executor"] == "dask" and env["status"] == "complete" and env["hosts"]
    assert set(workers["host"]) <= set(env["hosts"])
    assert "on a Dask cluster" in (run_dir / "report.md").read_text()


@pytest.mark.dask
def test_dask_without_a_scheduler_or_without_the_resource_is_refused_before_a_folder(tmp_path, capsys):
    pytest.importorskip("distributed")
    from harness.scale import dask_cluster

    with pytest.raises(dask_cluster.ClusterError, match="no Dask scheduler at tcp://127.0.0.1:9"):
        dask_cluster.check_cluster("tcp://127.0.0.1:9", connect_timeout_s=2)
    config = _write_config(tmp_path)
    from distributed import LocalCluster

    # Any free port for its dashboard: a test running beside this one may hold the default 8787.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as local:
        assert cli.main(["run", str(config), "--dask", local.scheduler_address, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "resource 'gradcost'" in err and "--resources gradcost=1" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.dask
def test_a_case_dask_gives_up_on_is_recorded_failed_with_the_reason_and_a_worker_of_another_commit_refuses(tmp_path):
    pytest.importorskip("distributed")
    from distributed import KilledWorker

    from harness.scale import dask_cluster

    (item, *_) = planning.plan([_config()])
    recorder = record.Recorder(tmp_path, len(item.jobs), _quiet)

    class Worker:  # what the scheduler's KilledWorker names
        address = "tcp://10.0.0.7:4000"

    class Lost:
        def result(self):
            raise KilledWorker("gradcost-case", Worker(), 3)

    env = {"hosts": {}}
    dask_cluster._record(Lost(), item, list(item.jobs), recorder, env)
    recorder.close()
    workers = pd.read_csv(tmp_path / "workers.csv")
    assert len(workers) == len(item.jobs) and (workers["status"] == "failed").all()
    assert workers["error"].str.contains("KilledWorker: Attempted to run task").all()
    assert workers["error"].str.contains("tcp://10.0.0.7:4000").all()
    # A worker whose checkout is at another commit measures nothing and says why.
    out = dask_cluster.run_case(item, set(), [], "0" * 40, runner=fake_worker)
    assert out["records"] == [] and "the client 0000000000" in out["refused"]
    mine = (out["env"].get("git") or {}).get("commit")
    ok = dask_cluster.run_case(item, set(), [], mine, runner=fake_worker)
    assert len(ok["records"]) == len(item.jobs) and all(r[2]["host"] == ok["host"] for r in ok["records"])


def test_plan_prints_the_run_on_n_machines_as_the_partition_computes_it(tmp_path, capsys):
    config = _write_config(tmp_path, SIZED)
    assert cli.main(["plan", str(config), "--machines", "1,3"]) == 0
    out = capsys.readouterr().out
    work = planning.plan([_config(SIZED)])
    cost, _ = shards.costs(work)
    total = sum(cost.values())
    assert f"{len(work)} cases, {sum(len(i.jobs) for i in work)} planned workers" in out
    assert f"one machine: {total / 60:.1f} min" in out
    rows = {int(line.split()[0]): float(line.split()[1]) for line in out.splitlines() if line.rstrip().endswith("%")}
    assert rows[1] == pytest.approx(total / 60, abs=0.05)
    assert rows[3] == pytest.approx(shards.makespan(cost, 3)[0] / 60, abs=0.05)
    assert "longest case: sized/depth=32" in out
    assert cli.main(["plan", str(config), "--machines", "0"]) == 2


def test_gradcost_host_names_the_machine_in_the_host_column_and_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADCOST_HOST", "node-17")
    run_dir = runner.run([_config()], tmp_path, _quiet, runner=fake_worker, probe=False)
    assert set(_workers(run_dir)["host"]) == {"node-17"}
    assert set(results.read_run(run_dir)["measurements"]["host"]) == {"node-17"}
    assert json.loads((run_dir / "env.json").read_text())["hostname"] == "node-17"
