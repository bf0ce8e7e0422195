"""Every framework and mode, for real: what the two halves of the run share.

The run is cut in two, one test file each (``test_every_mode_symbolic.py``: Theano and PyTensor;
``test_every_mode_jax_torch.py``: JAX and PyTorch), so that ``make test``'s two pytest workers
(``--dist loadfile``) measure them side by side; each file's module fixture starts one real run
through the command line and its tests read that run's files.
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness import results
from harness.config import releases
from harness.core.registry import FRAMEWORKS
from harness.orchestrate import environments

REPO = Path(__file__).resolve().parent.parent
MODEL = {"input": 6, "depth": 2, "width": 5, "output": 3, "batch": 4, "floatX": "float32"}
# Every mode of every framework with an environment of its own (Aesara is a release of the lineage only).
PINNED = [name for name in FRAMEWORKS if releases.default_release(name)]
EVERY_MODE = [f"{name}:{mode}" for name in PINNED for mode in FRAMEWORKS[name].modes]
# The modes whose per_param_separate goes through code of its own (the symbolic backend compiles n functions
# alike in every Theano and PyTensor mode; its lazy modes, NUMBA and JAX, compile them at the first call, and
# PyTensor's JAX copies parameters), and with it the primal of each backend's code path. PyTensor's lazy path is
# shown by JAX: NUMBA's n functions would cost a fresh clone about 140 s, for PyTensor 3.3.7's Numba compiles
# from an empty cache 4-7 times slower than 3.0.7's did (docs/lineage.md); its single and per_param run below.
SEPARATE_MODES = [
    "theano:FAST_RUN",
    "pytensor:CVM",
    "pytensor:JAX",
    "jax:jit",
    "torch:eager",
    "torch:compile",
]
EXPECTED_TO_FAIL = "pytensor:PYTORCH"  # one worker is enough to show a declared failure (it takes 15-40 s)
# PyTensor's PYTORCH mode (3.0.7, 3.3.7) cannot differentiate a broadcast addition (declared in core/registry.py).
KNOWN_FAILURE = ("pytensor", "PYTORCH", "TypeError: 'bool' object is not subscriptable")
RUN = {"repeats": {"construct": 2, "compile": 1, "execute": 2}, "warmup": 0, "min_time_s": 0.001}
# Modes run in a file of their own (``test_every_mode_numba.py``), named there as NAME:MODE and left out of their
# framework's half: PyTensor 3.3.7's NUMBA compiles for about 2 minutes from an empty cache, and in a file of its
# own it runs beside the rest of the symbolic half on make test's other core, not after it on the same one.
OWN_FILE = ("pytensor:NUMBA",)


def require_environments(names=("pytensor", "jax", "torch")):
    missing = []
    for name in names:
        try:
            environments.probe(name)
        except environments.EnvironmentProblem as exc:
            missing.append(str(exc))
    if missing:
        pytest.fail("framework environments missing (make envs builds them):\n" + "\n".join(missing))


def modes_of(frameworks) -> list[str]:
    """The modes a selection names: a framework (every mode but those in a file of their own), or NAME:MODE."""
    return [m for m in EVERY_MODE if m in frameworks or (m.split(":")[0] in frameworks and m not in OWN_FILE)]


def names_of(frameworks) -> set[str]:
    return {m.split(":")[0] for m in modes_of(frameworks)}


def configs(frameworks) -> list[dict]:
    """The modes of ``frameworks``: each with single and per_param; per_param_separate and the primal where
    their code differs; the declared failure once. The gradient strategies only: the NumPy reference is the
    same code in every environment (each worker's check runs it)."""
    modes = modes_of(frameworks)
    separate = [m for m in SEPARATE_MODES if m in modes]
    others = [m for m in modes if m not in SEPARATE_MODES and m != EXPECTED_TO_FAIL]
    docs = []
    if separate:
        docs.append(
            {
                "name": "every",
                "model": MODEL,
                "run": {**RUN, "strategies": ["single", "per_param", "per_param_separate", "primal"]},
                "sweep": {"framework": separate},
            }
        )
    if others:
        docs.append(
            {
                "name": "others",
                "model": MODEL,
                "run": {**RUN, "strategies": ["single", "per_param"]},
                "sweep": {"framework": others},
            }
        )
    if EXPECTED_TO_FAIL in modes:
        docs.append(
            {
                "name": "declared",
                "model": MODEL,
                "run": {**RUN, "strategies": ["single"], "framework": EXPECTED_TO_FAIL},
            }
        )
    return docs


def expected_workers(frameworks) -> int:
    modes = modes_of(frameworks)
    declared = EXPECTED_TO_FAIL in modes
    return 2 * (len(modes) - declared) + 2 * len([m for m in SEPARATE_MODES if m in modes]) + declared


def run(tmp_path_factory, frameworks):
    """One real run of ``frameworks``' modes through the command line: (the finished process, its run folder)."""
    require_environments(sorted(names_of(frameworks) - {"theano"}))
    out = tmp_path_factory.mktemp("frameworks")
    paths = []
    for doc in configs(frameworks):
        paths.append(out / f"{doc['name']}.yaml")
        paths[-1].write_text(json.dumps(doc))
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", *map(str, paths), "--out", str(out / "runs"), "--quiet"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert (out / "runs").is_dir(), proc.stderr[-3000:]
    (run_dir,) = (out / "runs").iterdir()
    return proc, run_dir


def run_fixture(frameworks):
    """The module fixture of a half: its one real run, shared by that file's tests."""

    @pytest.fixture(scope="module")
    def every_mode_run(tmp_path_factory):
        return run(tmp_path_factory, frameworks)

    return every_mode_run


def check_gradients(proc, run_dir, frameworks):
    """Every worker measured checked gradients (or, where declared, failed as declared), and the run exit 0."""
    workers = pd.read_csv(run_dir / "workers.csv", dtype=results.TEXT_COLUMNS)
    assert len(workers) == expected_workers(frameworks)
    assert set(workers["framework"]) == names_of(frameworks)
    failed = workers[workers["status"] != "ok"]
    assert set(zip(failed["framework"], failed["mode"])) <= {KNOWN_FAILURE[:2]}, failed[["case", "error"]]
    assert all(KNOWN_FAILURE[2] in str(error) for error in failed["error"])
    # The real failure matches its declaration: recorded as expected, and the run exits 0 (nothing unexpected).
    declared = EXPECTED_TO_FAIL in modes_of(frameworks)
    assert (failed["status"] == "expected failure").all() and len(failed) == declared
    assert proc.returncode == 0 and ("EXPECTED FAILURE" in proc.stderr) == declared, proc.stderr[-3000:]
    assert "UNEXPECTED PASS" not in proc.stderr
    ok = workers[(workers["status"] == "ok") & (workers["strategy"] != "numpy_reference")]
    assert len(ok) == len(workers) - declared  # every other mode, every gradient strategy it ran
    assert (ok["rel_err_vs_numpy"] < 2e-3).all()  # float32 against the float64 NumPy reference (the primal: its loss)
    primal = ok[ok["strategy"] == "primal"]
    assert set(primal["framework"] + ":" + primal["mode"]) == {m for m in SEPARATE_MODES if m in modes_of(frameworks)}
    assert (ok.loc[~ok["strategy"].isin(["single", "primal"]), "rel_err_vs_single"] < 1e-5).all()
    assert ok["os_threads"].notna().all() and workers["pid"].dropna().is_unique


def check_phases(run_dir):
    """Each framework, mode and strategy measured exactly the phases the registry gives it."""
    m = pd.read_csv(run_dir / "measurements.csv", dtype=results.TEXT_COLUMNS)
    m = m[m["status"] == "ok"]
    for (fw, mode, strategy), d in m.groupby(["framework", "mode", "strategy"]):
        assert tuple(dict.fromkeys(d["phase"])) == FRAMEWORKS[fw].phases(mode, strategy), (fw, mode, strategy)
    assert (m["seconds"] > 0).all()
    return m


def graphs(run_dir) -> pd.DataFrame:
    return pd.read_csv(run_dir / "graphs.csv", dtype=results.TEXT_COLUMNS).set_index(["framework", "mode", "strategy"])


def env_json(run_dir) -> dict:
    return json.loads((run_dir / "env.json").read_text())


def wrong_gradient_is_caught(framework: str):
    """As a stale torch.compile cache would serve: gradients off by 1% fail the check, and nothing is timed.
    Run after the every-mode run of its file, in the warm cache it filled (same model and floatX, the
    repository's cache): this is about the check, not the cache, and an empty one would cost PyTensor's
    C modules or torch.compile's kernels again (15-20 s)."""
    from harness.config.cases import expand
    from harness.config.schema import parse_config
    from harness.orchestrate import plan as planning
    from harness.orchestrate import spawn, theano_env

    cfg = parse_config(
        {
            "model": MODEL,
            "run": {"framework": framework, "strategies": ["single", "per_param"], "repeats": 1, "warmup": 0},
        },
        source="f.yaml",
    )
    (case,) = expand(cfg)
    assert case.model.floatX == "float32"  # the every-mode run's, whose cache this reuses
    task = {**planning.make_task(case, cfg, planning.Job("per_param", "warm")), "fault": {"perturb_gradient": 1e-2}}
    cache = environments.cache_dir(case.framework, theano_env.default_compiledir())
    env = environments.worker_env(case.framework, cache, "float32", 1)
    result = spawn.run_worker(task, env, {"default": 300}, command=environments.worker_command(case.framework))
    assert result["status"] == "failed" and result["measurements"] == []
    assert result["error"].startswith("gradient mismatch: vs_numpy relative error")
    assert result["check"]["vs_numpy"] > 2e-3 and result["check"]["vs_single"] > 1e-5
