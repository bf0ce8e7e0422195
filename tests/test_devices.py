"""device: cpu | gpu — config checks, the no-GPU skip, synchronisation inside the timed region."""

import subprocess

import pandas as pd
import pytest
from helpers import fake_worker

from harness.backends.sync import then_wait
from harness.config.cases import expand
from harness.config.schema import ConfigError, parse_config
from harness.orchestrate import envinfo, environments, runner
from harness.worker.timing import timed

MODEL = {"input": 3, "depth": 1, "width": 2, "output": 2}
RUN = {"repeats": {"construct": 2, "compile": 1, "execute": 2}, "strategies": ["single", "per_param"]}


@pytest.mark.parametrize("framework, device", [("theano", "gpu"), ("pytensor:CVM", "gpu"), ("pytensor:NUMBA", "gpu")])
def test_cpu_only_frameworks_refuse_a_gpu(framework, device):
    with pytest.raises(ConfigError) as exc:
        parse_config({"model": MODEL, "run": {**RUN, "framework": framework, "device": device}}, source="g.yaml")
    assert exc.value.path == "run.device" and "runs on the CPU only" in str(exc.value)
    assert "jax:jit" in str(exc.value) and "pytensor:JAX" in str(exc.value)


def test_device_is_sweepable_and_a_column():
    config = parse_config(
        {
            "model": MODEL,
            "run": RUN,
            "sweep": {"framework": ["jax", "torch:compile", "pytensor:JAX"], "device": ["cpu", "gpu"]},
        },
        source="g.yaml",
    )
    cases = expand(config)
    assert [(c.framework, c.mode, c.device) for c in cases][:2] == [("jax", "jit", "cpu"), ("jax", "jit", "gpu")]
    assert cases[1].columns()["device"] == "gpu" and len({c.name for c in cases}) == 6
    with pytest.raises(ConfigError) as exc:
        parse_config({"model": MODEL, "run": RUN, "sweep": {"device": ["cpu", "gpu"]}}, source="g.yaml")
    assert "in case device=gpu" in exc.value.path  # Theano, the default framework, on a GPU
    with pytest.raises(ConfigError):
        parse_config({"model": MODEL, "run": {**RUN, "device": "tpu"}}, source="g.yaml")


def recording_worker():
    calls = []

    def run(task, env, timeouts, **kwargs):
        calls.append((task["framework"], task["device"], env.get("JAX_PLATFORMS")))
        return fake_worker(task, env, timeouts)

    run.calls = calls
    return run


def test_gpu_cases_are_skipped_before_any_worker_starts_without_a_gpu(tmp_path):
    config = parse_config(
        {"name": "g", "model": MODEL, "run": {**RUN, "framework": "jax"}, "sweep": {"device": ["cpu", "gpu"]}},
        source="g.yaml",
    )
    worker = recording_worker()
    probe = lambda name: {"python": "3.11", "executable": "/x/python", "devices": ["TFRT_CPU_0"], "gpus": []}  # noqa: E731
    run_dir = runner.run(
        [config], tmp_path, progress=lambda line: None, runner=worker, compiledir=tmp_path / "cc", probe=probe
    )
    assert worker.calls and all(device == "cpu" and platforms == "cpu" for _, device, platforms in worker.calls)
    w = pd.read_csv(run_dir / "workers.csv")
    gpu = w[w["device"] == "gpu"]
    assert len(gpu) == 2 and set(gpu["status"]) == {"skipped"}
    assert set(gpu["error"]) == {"no GPU visible to jax in its environment (/x/python)"}
    assert set(w[w["device"] == "cpu"]["status"]) == {"ok"}
    m = pd.read_csv(run_dir / "measurements.csv")
    assert set(m[m["device"] == "gpu"]["status"]) == {"skipped"}


def test_a_gpu_worker_gets_jax_on_cuda_when_a_gpu_is_there(tmp_path):
    config = parse_config(
        {"name": "g", "model": MODEL, "run": {**RUN, "framework": "jax", "device": "gpu"}}, source="g.yaml"
    )
    worker = recording_worker()
    probe = lambda name: {"devices": ["cuda:0"], "gpus": ["cuda:0"]}  # noqa: E731
    runner.run([config], tmp_path, progress=lambda line: None, runner=worker, compiledir=tmp_path / "cc", probe=probe)
    assert {(device, platforms) for _, device, platforms in worker.calls} == {("gpu", "cuda")}


def test_a_missing_environment_refuses_the_run_or_skips_its_cases(tmp_path):
    config = parse_config(
        {"name": "m", "model": MODEL, "run": RUN, "sweep": {"framework": ["jax", "theano"]}}, source="m.yaml"
    )

    def probe(name):
        raise environments.EnvironmentProblem(f"{name}: no environment at /nowhere; run: make env-{name}")

    with pytest.raises(environments.EnvironmentProblem):
        runner.run(
            [config],
            tmp_path / "a",
            progress=lambda line: None,
            runner=fake_worker,
            compiledir=tmp_path / "cc",
            probe=probe,
        )
    run_dir = runner.run(
        [config],
        tmp_path / "b",
        progress=lambda line: None,
        runner=fake_worker,
        compiledir=tmp_path / "cc",
        probe=probe,
        skip_missing=True,
    )
    w = pd.read_csv(run_dir / "workers.csv").set_index("framework")
    assert set(w.loc["jax", "status"]) == {"skipped"} and "make env-jax" in w.loc["jax", "error"].iloc[0]
    assert set(w.loc["theano", "status"]) == {"ok"}


def test_the_synchronisation_is_inside_the_timed_region():
    class Clock:
        t = 0.0

        def __call__(self):
            return self.t

    clock, log = Clock(), []

    def launch():  # returns at once, as a CUDA launch does
        clock.t += 0.001
        log.append("launch")
        return ["out"]

    def synchronize():  # the kernels finish here
        clock.t += 0.5
        log.append("sync")

    seconds, out = timed(then_wait(launch, synchronize), warmup=0, repeats=2, clock=clock)
    assert seconds == [pytest.approx(0.501)] * 2 and out == ["out"]
    assert log == ["launch", "sync", "launch", "sync"]


def test_gpu_info_from_nvidia_smi():
    def run(cmd, **kwargs):
        if "--query-gpu=name,memory.total,driver_version" in cmd:
            return subprocess.CompletedProcess(cmd, 0, "NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15\n", "")
        return subprocess.CompletedProcess(
            cmd, 0, "| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4     |\n", ""
        )

    assert envinfo.gpu_info(run) == [
        {"name": "NVIDIA H100 80GB HBM3", "memory": "81559 MiB", "driver": "550.54.15", "cuda": "12.4"}
    ]

    def missing(cmd, **kwargs):
        raise FileNotFoundError("nvidia-smi")

    assert envinfo.gpu_info(missing) is None


def test_a_gpu_difference_is_an_environment_difference():
    from harness.report.compare import environment_differences

    a = {"gpu": [{"name": "NVIDIA H100", "memory": "81559 MiB"}]}
    b = {"gpu": [{"name": "NVIDIA H200", "memory": "143771 MiB"}]}
    (line,) = environment_differences(a, b)
    assert line.startswith("gpu:") and "H100" in line and "H200" in line


def test_report_says_how_much_of_execute_is_the_copy_to_the_device():
    from harness.report import markdown

    base = {"config": "c", "case": "k", "cache": "warm", "strategy": "single"}
    summary = pd.DataFrame(
        [{**base, "phase": "execute", "median": 0.040}, {**base, "phase": "transfer", "median": 0.030}]
    )
    text = "\n".join(markdown.answer("c", "k", summary, pd.DataFrame(columns=["config", "case", "strategy"])))
    assert "30.00 ms of `single`'s 40.00 ms (75%)" in text


def test_pytensor_jax_measures_its_transfer_phase_and_the_others_do_not():
    from harness.core.registry import framework

    assert framework("pytensor").phases("JAX", "single")[-1] == "transfer"
    assert "transfer" not in framework("pytensor").phases("CVM", "single")
    assert "transfer" not in framework("jax").phases("jit", "per_param")
