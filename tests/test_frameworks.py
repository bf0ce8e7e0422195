"""Issue 10: PyTensor, JAX and PyTorch beside Theano, each in its own environment.

The real-run tests start every framework's workers with that framework's
interpreter (``make test`` builds ``.envs/``); a missing environment fails them
with the command that builds it, it does not skip them.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from every_mode import EVERY_MODE, MODEL, PINNED, require_environments

from harness import results
from harness.cli import main
from harness.config.cases import expand
from harness.config.schema import ConfigError, parse_config
from harness.orchestrate import environments, theano_env

REPO = Path(__file__).resolve().parent.parent


def config(**run):
    return parse_config({"model": MODEL, "run": run}, source="f.yaml", default_name="f")


# --- the config -----------------------------------------------------------------------------


def test_framework_defaults_to_theano_and_each_framework_to_its_default_mode():
    (case,) = expand(config())
    assert (case.framework, case.mode) == ("theano", "FAST_RUN")
    cases = expand(parse_config({"model": MODEL, "sweep": {"framework": PINNED}}, source="f.yaml"))
    assert [(c.framework, c.mode) for c in cases] == [
        ("theano", "FAST_RUN"),
        ("pytensor", "NUMBA"),
        ("jax", "jit"),
        ("torch", "eager"),
    ]
    assert [c.name for c in cases] == [f"framework={n}" for n in PINNED]
    assert cases[2].columns()["framework"] == "jax" and cases[2].columns()["mode"] == "jit"


def test_every_framework_and_mode_in_one_sweep_gives_unique_cases():
    doc = {"model": MODEL, "sweep": {"framework": EVERY_MODE, "depth": [1, 2]}}
    cases = expand(parse_config(doc, source="f.yaml"))
    assert len(cases) == 2 * len(EVERY_MODE) == len({c.name for c in cases})
    assert {(c.framework, c.mode) for c in cases} == {tuple(v.split(":")) for v in EVERY_MODE}


@pytest.mark.parametrize(
    "doc, path, words",
    [
        ({"run": {"framework": "jax", "mode": "FAST_RUN"}}, "run.mode", "not a jax mode (got 'FAST_RUN'; allowed jit)"),
        ({"run": {"framework": "torch:jit"}}, "run.framework", "not a torch mode (got 'jit'; allowed eager, compile)"),
        ({"run": {"framework": "tensorflow"}}, "run.framework", "allowed theano, aesara, pytensor, jax, torch"),
        ({"run": {"framework": "pytorch"}}, "run.framework", "unknown value"),
        ({"run": {"mode": "CVM"}}, "run.mode", "not a theano mode (got 'CVM'; allowed FAST_RUN, FAST_COMPILE, NO_OPT)"),
        ({"run": {"framework": "pytensor", "mode": "NO_OPT"}}, "run.mode", "not a pytensor mode"),
        (
            {"run": {"mode": "FAST_RUN"}, "sweep": {"framework": ["theano", "jax"]}},
            "run.mode (in case framework=jax)",
            "not a jax mode",
        ),
        (
            {"sweep": {"framework": ["pytensor:CVM", "jax"], "mode": ["jit"]}},
            "sweep (in case framework=pytensor:CVM,mode=jit)",
            "a mode is given twice",
        ),
        ({"sweep": {"framework": ["theano", 3]}}, "sweep.framework (in case framework=3)", "must be a framework name"),
    ],
)
def test_impossible_framework_mode_pairs_are_config_errors(doc, path, words):
    with pytest.raises(ConfigError) as exc:
        parse_config({"model": MODEL, **doc}, source="f.yaml")
    assert exc.value.path == path and words in exc.value.problem, str(exc.value)


def test_impossible_pair_exits_2_from_the_command_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(json.dumps({"model": MODEL, "run": {"framework": "jax", "mode": "NUMBA"}}))
    assert main(["run", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "bad.yaml: run.mode: not a jax mode (got 'NUMBA'; allowed jit)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- environments ---------------------------------------------------------------------------


def test_missing_environment_is_refused_before_anything_is_measured(tmp_path, capsys, monkeypatch):
    path = tmp_path / "j.yaml"
    path.write_text(json.dumps({"model": MODEL, "run": {"framework": "jax"}}))
    monkeypatch.setenv("GRADCOST_PYTHON_JAX", str(tmp_path / "no-such-env" / "bin" / "python"))
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "error: jax: no environment at" in err and "make env-jax" in err and "GRADCOST_PYTHON_JAX" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_environment_without_the_framework_names_what_it_lacks(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADCOST_PYTHON_TORCH", sys.executable)  # .venv: no torch there
    with pytest.raises(environments.EnvironmentProblem, match=r"torch: .* cannot import torch \(ModuleNotFoundError"):
        environments.probe("torch")


def test_worker_environment_caps_every_framework_threads(tmp_path):
    env = environments.worker_env("jax", tmp_path, "float32", 2, base={"PATH": "/bin"})
    assert env["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=2"
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["NUMBA_NUM_THREADS"] == "2"
    assert env["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "jax")
    assert env["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path / "inductor")
    assert str(REPO) in env["PYTHONPATH"].split(os.pathsep)
    pt = environments.worker_env("pytensor", tmp_path, "float64", 1, base={})
    assert f"base_compiledir={tmp_path}" in pt["PYTENSOR_FLAGS"] and "floatX=float64" in pt["PYTENSOR_FLAGS"]


@pytest.mark.slow
def test_theano_imports_in_the_venv_without_flags():
    """A REPL or notebook kernel in .venv gets a working Theano (the .pth that make setup installs)."""
    env = {k: v for k, v in os.environ.items() if k != "THEANO_FLAGS"}
    out = subprocess.run(
        [sys.executable, "-c", "import theano; print(theano.config.blas__ldflags)"],
        env=env,
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert out.returncode == 0, out.stderr
    from harness.orchestrate import theano_env

    assert out.stdout.strip() == theano_env.detect_blas()[0]


def test_hlo_instruction_count_counts_instructions_of_every_computation():
    text = """HloModule jit_f, is_scheduled=true

%fused_computation (param_0: f32[4,5]) -> f32[4,5] {
  %param_0 = f32[4,5]{1,0} parameter(0)
  ROOT %logistic.1 = f32[4,5]{1,0} logistic(f32[4,5]{1,0} %param_0)
}

ENTRY %main.9 (Arg_0.1: f32[6,5], Arg_1.2: f32[4,6]) -> f32[4,5] {
  %Arg_0.1 = f32[6,5]{1,0} parameter(0)
  %Arg_1.2 = f32[4,6]{1,0} parameter(1)
  %dot.3 = f32[4,5]{1,0} dot(f32[4,6]{1,0} %Arg_1.2, f32[6,5]{1,0} %Arg_0.1), lhs_contracting_dims={1}
  ROOT %fusion = f32[4,5]{1,0} fusion(f32[4,5]{1,0} %dot.3), kind=kLoop, calls=%fused_computation
}

FileNames
1 "<string>"
"""
    from harness.backends.counting import hlo_instructions

    assert hlo_instructions(text) == 6


# --- cold caches, for real (every mode and the gradient check: test_every_mode_*.py) ----------------


@pytest.mark.slow
@pytest.mark.frameworks
def test_cold_caches_of_the_other_frameworks(tmp_path):
    require_environments()
    path = tmp_path / "cold.yaml"
    path.write_text(
        json.dumps(
            {
                "name": "cold",
                "model": MODEL,
                "run": {
                    "cache": "cold",
                    "strategies": ["single"],
                    "repeats": {"construct": 1, "compile": 1, "execute": 1},
                    "warmup": 0,
                },
                # PyTensor's CVM, not NUMBA: PyTensor 3.3.7's NUMBA compiles this tiny network's gradient in 85-100 s
                # from an empty cache (3.0.7: 12-22 s; docs/lineage.md), which the every-mode run's first NUMBA
                # worker already pays in a fresh clone; its compile finishing at the first call is checked there.
                "sweep": {"framework": ["jax", "torch:compile", "pytensor:CVM", "torch:eager"]},
            }
        )
    )
    assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--quiet"]) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    m = pd.read_csv(run_dir / "measurements.csv", dtype=results.TEXT_COLUMNS)
    phases = {fw_mode: tuple(d["phase"]) for fw_mode, d in m.groupby(["framework", "mode"])}
    # Explicit compile (JAX, PyTensor's C modules), first call only (torch.compile); eager PyTorch compiles nothing
    # and has no cold worker.
    assert phases == {
        ("jax", "jit"): ("compile",),
        ("pytensor", "CVM"): ("compile",),
        ("torch", "compile"): ("first_call",),
    }
    assert (m["cache"] == "cold").all()


# --- devices (issue 11), in the real environments of this CPU machine ------------------------------


@pytest.mark.slow
@pytest.mark.frameworks
@pytest.mark.parametrize("name", ["jax", "torch", "pytensor"])
def test_each_environment_lists_its_devices_and_no_gpu_here(name):
    info = environments.probe(name)
    assert info["devices"] and info["gpus"] == []  # this machine has no GPU
    assert environments.gpu_problem(name, info).startswith(
        f"no GPU visible to {'jax' if name != 'torch' else 'torch'} in its environment"
    )
    # make env-NAME compiles the bytecode: a worker imports the framework, it does not compile its source
    assert info["bytecode"]["cached"], info["bytecode"]


@pytest.mark.slow
@pytest.mark.frameworks
def test_a_gpu_config_on_a_cpu_machine_runs_its_cpu_cases_and_skips_the_rest(tmp_path):
    doc = {
        "name": "dev",
        "model": MODEL,
        "run": {"strategies": ["single", "per_param"], "repeats": 2},
        "sweep": {"framework": ["jax", "torch:eager"], "device": ["cpu", "gpu"]},
    }
    path = tmp_path / "dev.yaml"
    path.write_text(json.dumps(doc))
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0  # skipped is not failed
    (run_dir,) = (tmp_path / "out").iterdir()
    w = pd.read_csv(run_dir / "workers.csv")
    assert set(w[w["device"] == "cpu"]["status"]) == {"ok"}
    gpu = w[w["device"] == "gpu"]
    assert set(gpu["status"]) == {"skipped"} and gpu["pid"].isna().all()  # no worker was started
    assert gpu["error"].str.startswith("no GPU visible to").all()
    assert "device" in pd.read_csv(run_dir / "summary.csv").columns


@pytest.mark.slow
@pytest.mark.frameworks
def test_torch_waits_for_its_device_inside_every_call():
    script = """
import numpy as np
from harness.backends import torch as tb
from harness.core.data import init_params, make_batch
from harness.core.model import Model
m = Model(input=6, hidden=(5,), output=3, activation="sigmoid", loss="softmax_cross_entropy", biases=True,
          floatX="float32", batch=4)
b = tb.backend(m, init_params(m, 0), *make_batch(m, 0), "eager")
log = []
b.sync = lambda: log.append("sync")
for strategy in ("single", "per_param", "per_param_separate", "primal"):
    call = b.executable(strategy, b.construct(strategy), None)
    call(); call()
a = np.ones((4, 6), np.float32)
b.matmul(a, a.T.copy(), False, False)()
print(len(log))
"""
    out = subprocess.run(
        [environments.interpreter("torch"), "-c", script],
        capture_output=True,
        text=True,
        env=environments.worker_env(
            "torch", environments.cache_dir("torch", theano_env.default_compiledir()), "float32", 1
        ),
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "9"  # one wait per timed call: 4 strategies x 2 calls, and the product


@pytest.mark.slow
@pytest.mark.frameworks
def test_make_gpu_check_on_a_machine_without_a_gpu_records_every_case_as_skipped(tmp_path):
    # As on a GPU machine: the orchestrator and the workers run with named interpreters, nothing
    # is built (no .venv target), and every case is skipped here, before any worker starts.
    env = {
        **os.environ,
        "GRADCOST_PYTHON_JAX": environments.interpreter("jax"),
        "GRADCOST_PYTHON_TORCH": environments.interpreter("torch"),
        "GRADCOST_PYTHON_PYTENSOR": environments.interpreter("pytensor"),
    }
    out = subprocess.run(
        ["make", "--no-print-directory", "gpu-check", f"GPU_PYTHON={sys.executable}", f"OUT={tmp_path}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # Nothing measured here: the run exits 1 (README, "When things go wrong"), and make says so with
    # its own code 2; on a GPU machine, 0.
    assert out.returncode == 2 and "gpu-check] Error 1" in out.stderr, out.stdout[-2000:] + out.stderr[-2000:]
    assert "nothing was measured: of 104 worker(s), 104 skipped" in out.stderr
    assert "rm -rf .venv" not in out.stdout and "building .envs" not in out.stdout
    (run_dir,) = tmp_path.iterdir()
    w = pd.read_csv(run_dir / "workers.csv")
    assert (
        len(w) == (4 * 4 + 3 * 4 * 3) * 2
    )  # (question: 4 modes x 4 strategies + 3 depths x 4 modes x 3) x 2 processes
    assert set(w["status"]) == {"skipped"} and set(w["device"]) == {"gpu"}
    assert w["error"].str.startswith("no GPU visible to").all()
    env_json = json.loads((run_dir / "env.json").read_text())
    assert set(env_json["frameworks"]) == {"jax", "torch", "pytensor"} and "gpu" in env_json
