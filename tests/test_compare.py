"""compare: ratios, significance, environment differences, a checked-in reference table."""
import json
from pathlib import Path

import numpy as np
import pytest

from harness.report import compare
from harness.measure import runner
from harness.cli import main
from harness.config.schema import parse_config
from helpers import fake_worker

REFERENCE = Path(__file__).parent / "data" / "compare_reference.txt"
CONFIG = {"name": "cmp", "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
          "run": {"seed": 1, "repeats": 6, "strategies": ["single", "per_param", "per_param_separate"]},
          "sweep": {"depth": [1, 2]}}
# New run: per_param 1.5x slower, per_param_separate 2x faster, single 2% slower (noise).
SCALE = {"single": 1.02, "per_param": 1.5, "per_param_separate": 0.5}


def scaled_worker(scale):
    def run(task, env, timeouts):
        result = fake_worker(task, env, timeouts)
        for row in result["measurements"]:  # 50, 51, ... 55 ms, scaled
            row["seconds"] = (0.050 + 0.001 * row["repeat"]) * scale.get(task["strategy"], 1.0)
        return result
    return run


def two_runs(tmp_path):
    config = parse_config(CONFIG, source="cmp.yaml")
    dirs = []
    for name, scale in (("base", {}), ("new", SCALE)):
        d = runner.run([config], tmp_path / name, progress=lambda line: None,
                       runner=scaled_worker(scale), compiledir=tmp_path / "cc")
        env = json.loads((d / "env.json").read_text())
        env["theano_flags"] = {"float64": f"flags-of-{name}"}  # machine-independent reference
        (d / "env.json").write_text(json.dumps(env))
        dirs.append(d)
    return dirs


def test_compare_table_matches_reference(tmp_path, capsys):
    base, new = two_runs(tmp_path)
    assert main(["compare", str(base), str(new)]) == 0
    out = capsys.readouterr().out
    text = out[:out.index("written:")]
    assert text == REFERENCE.read_text()
    assert (new / "compare.csv").exists()


def test_fail_on_regression(tmp_path):
    base, new = two_runs(tmp_path)
    assert main(["compare", str(base), str(new), "--fail-on-regression"]) == 1
    assert main(["compare", str(new), str(new), "--fail-on-regression"]) == 0  # nothing changed


def test_verdicts_need_both_factor_and_significance():
    a = np.array([1.0, 1.1, 0.9, 1.05, 0.95, 1.0])
    assert compare.compare_samples(a, a * 1.5, 1.10)["change"] == "slower"
    assert compare.compare_samples(a, a / 2, 1.10)["change"] == "faster"
    assert compare.compare_samples(a, a * 1.05, 1.10)["change"] == ""      # significant but small
    noisy = np.array([0.5, 2.0, 0.7, 1.9, 0.6, 2.2])
    assert compare.compare_samples(a, noisy, 1.10)["change"] == ""         # large but not significant
    one = compare.compare_samples([1.0], [3.0], 1.10)
    assert one["change"] == "" and np.isnan(one["p_value"])               # one value: no test
    assert compare.compare_samples(a, a * 1.5, 1.10)["ratio"] == pytest.approx(1.5)


def test_environment_differences_are_named():
    base = {"theano_flags": {"float32": "x"}, "cpu": {"model": "A", "count": 2}, "packages": {"numpy": "1"}}
    new = {"theano_flags": {"float32": "x"}, "cpu": {"model": "B", "count": 2}, "packages": {"numpy": "2"}}
    assert compare.environment_differences(base, new) == [
        "cpu.model: 'A' -> 'B'", "packages: {'numpy': '1'} -> {'numpy': '2'}"]


def test_a_compiledir_elsewhere_is_not_an_environment_difference():
    flags = lambda cc, blas: {"float32": f"base_compiledir={cc},floatX=float32,blas__ldflags={blas}"}
    same = compare.environment_differences({"theano_flags": flags("/a/.cache", "-lopenblas")},
                                           {"theano_flags": flags("/b/.cache", "-lopenblas")})
    assert same == []
    (line,) = compare.environment_differences({"theano_flags": flags("/a", "-lopenblas")},
                                              {"theano_flags": flags("/b", "")})
    assert line.startswith("theano_flags:") and "blas__ldflags=-lopenblas" in line and "/a" not in line


def test_a_changed_model_is_not_matched(tmp_path):
    config = parse_config(CONFIG, source="cmp.yaml")
    changed = parse_config({**CONFIG, "model": {**CONFIG["model"], "batch": 64}}, source="cmp.yaml")
    base = runner.run([config], tmp_path / "a", progress=lambda line: None, runner=fake_worker,
                      compiledir=tmp_path / "cc")
    new = runner.run([changed], tmp_path / "b", progress=lambda line: None, runner=fake_worker,
                     compiledir=tmp_path / "cc")
    table, _ = compare.compare_runs(base, new)
    assert table.empty  # same config and case names, but batch 32 vs 64
    same, _ = compare.compare_runs(base, base)
    assert len(same) == 22 and (same["change"] == "").all()


def test_framework_versions_are_environment_differences():
    from harness.report.compare import environment_differences
    env = {"frameworks": {"jax": {"python": "3.11.7", "packages": {"jax": "0.10.2", "numpy": "2.3.5"},
                                  "executable": "/a/.envs/jax/bin/python"}}}
    moved = {"frameworks": {"jax": {**env["frameworks"]["jax"], "executable": "/b/.envs/jax/bin/python"}}}
    assert environment_differences(env, moved) == []  # another clone: same environment
    newer = {"frameworks": {"jax": {**env["frameworks"]["jax"], "packages": {"jax": "0.11.0", "numpy": "2.3.5"}}}}
    assert environment_differences(env, newer) == [
        "frameworks.jax.packages: {'jax': '0.10.2', 'numpy': '2.3.5'} -> {'jax': '0.11.0', 'numpy': '2.3.5'}"]
