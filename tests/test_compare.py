"""compare: ratios, significance, environment differences, a checked-in reference table."""

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import fake_worker
from scipy.stats import t as student_t

from harness.analysis import stats
from harness.analysis.agreement import changes, consistent_line
from harness.cli import main
from harness.config.schema import parse_config
from harness.orchestrate import runner
from harness.report import compare

REFERENCE = Path(__file__).parent / "data" / "compare_reference.txt"
CONFIG = {
    "name": "cmp",
    "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
    "run": {"seed": 1, "repeats": 2, "processes": 3, "strategies": ["single", "per_param", "per_param_separate"]},
    "sweep": {"depth": [1, 2]},
}
# New run: per_param 1.5x slower, per_param_separate 2x faster, single 2% slower (noise).
SCALE = {"single": 1.02, "per_param": 1.5, "per_param_separate": 0.5}


def scaled_worker(scale):
    calls = itertools.count()

    def run(task, env, timeouts):
        result = fake_worker(task, env, timeouts)
        level = 1 + 0.02 * (next(calls) % 3)  # processes differ by 0-4%
        for row in result["measurements"]:  # 50, 51 ms in each process, scaled
            row["seconds"] = (0.050 + 0.001 * row["repeat"]) * level * scale.get(task["strategy"], 1.0)
        return result

    return run


def two_runs(tmp_path):
    config = parse_config(CONFIG, source="cmp.yaml")
    dirs = []
    for name, scale in (("base", {}), ("new", SCALE)):
        d = runner.run(
            [config],
            tmp_path / name,
            progress=lambda line: None,
            runner=scaled_worker(scale),
            compiledir=tmp_path / "cc",
        )
        env = json.loads((d / "env.json").read_text())
        env["theano_flags"] = {"float64": f"flags-of-{name}"}  # machine-independent reference
        (d / "env.json").write_text(json.dumps(env))
        dirs.append(d)
    return dirs


def test_compare_table_matches_reference(tmp_path, capsys):
    base, new = two_runs(tmp_path)
    assert main(["compare", str(base), str(new)]) == 0
    out = capsys.readouterr().out
    text = out[: out.index("written:")]
    assert text == REFERENCE.read_text()
    assert (new / "compare.csv").exists()


def test_fail_on_regression(tmp_path):
    base, new = two_runs(tmp_path)
    assert main(["compare", str(base), str(new), "--fail-on-regression"]) == 1
    assert main(["compare", str(new), str(new), "--fail-on-regression"]) == 0  # nothing changed


def test_verdicts_need_both_factor_and_significance():
    a = np.array([1.0, 1.02, 0.98, 1.0, 1.01, 0.99])
    slots = [0, 0, 1, 1, 2, 2]  # three processes of two repeats
    verdict = lambda new: stats.compare_samples(a, new, 1.10, slots, slots)["change"]
    assert verdict(a * 1.5) == "slower" and verdict(a / 2) == "faster"
    assert verdict(a * 1.05) == ""  # significant but small
    noisy = np.array([0.5, 0.55, 2.0, 2.1, 0.7, 0.75])
    assert verdict(noisy) == ""  # large but not significant
    assert stats.compare_samples(a, a * 1.5, 1.10, slots, slots)["ratio"] == pytest.approx(1.5)


def test_repeats_of_one_process_are_not_independent_evidence():
    # Two processes a side, 13-15% apart, 50 repeats each: pooled, the repeats look like
    # 100 independent values a side and a Mann-Whitney test gives p = 1e-9 for the 1.12x
    # ratio; over processes it is two against two, and not significant.
    rng = np.random.default_rng(0)
    base = np.concatenate([rng.normal(c, 0.001, 50) for c in (1.00, 1.15)])
    new = np.concatenate([rng.normal(c, 0.001, 50) for c in (1.10, 1.30)])
    slots = np.repeat([0, 1], 50)
    row = stats.compare_samples(base, new, 1.10, slots, slots)
    assert row["processes_base"] == 2 and row["p_value"] > 0.05 and row["change"] == ""
    one = stats.compare_samples([1.0, 1.1, 0.9], [3.0, 3.1, 2.9], 1.10, [0, 0, 0], [0, 0, 0])
    assert one["change"] == "untestable: one process" and np.isnan(one["p_value"])


def test_environment_differences_are_named():
    base = {"theano_flags": {"float32": "x"}, "cpu": {"model": "A", "count": 2}, "packages": {"numpy": "1"}}
    new = {"theano_flags": {"float32": "x"}, "cpu": {"model": "B", "count": 2}, "packages": {"numpy": "2"}}
    assert compare.environment_differences(base, new) == [
        "cpu.model: 'A' -> 'B'",
        "packages: {'numpy': '1'} -> {'numpy': '2'}",
    ]


def test_a_compiledir_elsewhere_is_not_an_environment_difference():
    flags = lambda cc, blas: {"float32": f"base_compiledir={cc},floatX=float32,blas__ldflags={blas}"}
    same = compare.environment_differences(
        {"theano_flags": flags("/a/.cache", "-lopenblas")}, {"theano_flags": flags("/b/.cache", "-lopenblas")}
    )
    assert same == []
    (line,) = compare.environment_differences(
        {"theano_flags": flags("/a", "-lopenblas")}, {"theano_flags": flags("/b", "")}
    )
    assert line.startswith("theano_flags:") and "blas__ldflags=-lopenblas" in line and "/a" not in line


def test_a_changed_model_is_not_matched(tmp_path):
    config = parse_config(CONFIG, source="cmp.yaml")
    changed = parse_config({**CONFIG, "model": {**CONFIG["model"], "batch": 64}}, source="cmp.yaml")
    base = runner.run(
        [config], tmp_path / "a", progress=lambda line: None, runner=fake_worker, compiledir=tmp_path / "cc"
    )
    new = runner.run(
        [changed], tmp_path / "b", progress=lambda line: None, runner=fake_worker, compiledir=tmp_path / "cc"
    )
    table, _ = compare.compare_runs(base, new)
    assert table.empty  # same config and case names, but batch 32 vs 64
    same, _ = compare.compare_runs(base, base)
    assert len(same) == 22 and (same["change"] == "").all()


def test_framework_versions_are_environment_differences():
    from harness.report.compare import environment_differences

    env = {
        "frameworks": {
            "jax": {
                "python": "3.11.7",
                "packages": {"jax": "0.10.2", "numpy": "2.3.5"},
                "executable": "/a/.envs/jax/bin/python",
            }
        }
    }
    moved = {"frameworks": {"jax": {**env["frameworks"]["jax"], "executable": "/b/.envs/jax/bin/python"}}}
    assert environment_differences(env, moved) == []  # another clone: same environment
    newer = {"frameworks": {"jax": {**env["frameworks"]["jax"], "packages": {"jax": "0.11.0", "numpy": "2.3.5"}}}}
    assert environment_differences(env, newer) == [
        "frameworks.jax.packages: {'jax': '0.10.2', 'numpy': '2.3.5'} -> {'jax': '0.11.0', 'numpy': '2.3.5'}"
    ]


def test_the_machines_shift_between_runs_is_said_and_divided_out(tmp_path, capsys):
    base, new = two_runs(tmp_path)
    workload = {"repeats": 15, "python_loops": 1000000, "blas_n": 512}
    # new: 1.2x and 1.5x slower, as the geometric mean of each run's start and end (the end 4x the start)
    for d, python_s, blas_s in ((base, 0.020, 0.010), (new, 0.024, 0.015)):
        env = json.loads((d / "env.json").read_text())
        env["calibration"] = [
            {"when": "start", "python_s": python_s, "blas_s": blas_s, **workload},
            {"when": "end", "python_s": 4 * python_s, "blas_s": 4 * blas_s, **workload},
            {"when": "start", "error": "exit 1: a failed calibration is left out"},
        ]
        (d / "env.json").write_text(json.dumps(env))
    table, notes = compare.compare_runs(base, new)
    machine = (1.2 * 1.5) ** 0.5
    assert np.allclose(table["ratio_adjusted"], table["ratio"] / machine)
    assert any("Python work 1.200x, BLAS 1.500x, together 1.342x" in line for line in notes)
    assert main(["compare", str(base), str(new)]) == 0
    out = capsys.readouterr().out
    assert "÷machine" in out and f"{1.5 / machine:.2f}x" in out  # per_param's 1.5x, the shift divided out
    # Another workload, or a run without one: nothing is divided out, and the column is not shown.
    env = json.loads((new / "env.json").read_text())
    env["calibration"][0]["blas_n"] = env["calibration"][1]["blas_n"] = 256
    (new / "env.json").write_text(json.dumps(env))
    table, notes = compare.compare_runs(base, new)
    assert table["ratio_adjusted"].isna().all() and not any("machine pace" in line for line in notes)


def test_agreement_counts_ratios_and_medians_within_five_percent(tmp_path, capsys):
    """The machine 8% slower for everything (a whole run's shift) and per_param 6% slower still: every
    median moved beyond 5%, and of the within-case ratios only per_param's (0.08 cancels in them)."""
    config = parse_config(CONFIG, source="cmp.yaml")
    shifted = {"single": 1.08, "per_param": 1.08 * 1.06, "per_param_separate": 1.08}
    base, new = (
        runner.run([config], tmp_path / n, progress=lambda line: None, runner=scaled_worker(s), compiledir=tmp_path)
        for n, s in (("base", {}), ("new", shifted))
    )
    paired_line, ratios, inside, own, by_phase, medians = compare.agreement(base, new)
    assert paired_line == "paired ratios: none in both runs"  # unpaired runs
    # 2 cases x (per_param: construct, compile, first_call, execute; separate: compile, first_call, execute)
    assert ratios.startswith(
        "within-case ratios (per_param and per_param_separate over single, per phase; from pairs where the runs "
        "paired them): 6 of 14 "
    )
    assert inside == "ratios inside the other run's 95% CI (each in the other's): 6 of 14 (43%)"
    assert own.endswith("honest): 6 of 14 (43%)")  # per_param's 6% is beyond its change's CI too
    assert by_phase == (  # per_param moved in every phase, per_param_separate (no construct) in none
        "by phase (within 5% / inside the other's CI): construct 0 / 0 of 2, compile 2 / 2 of 4, "
        "first_call 2 / 2 of 4, execute 2 / 2 of 4"
    )
    table = changes(*(pd.read_csv(d / "summary.csv") for d in (base, new)), "ratio")
    assert table.loc[table["strategy"] == "per_param_separate", "inside"].all()  # unmoved: the 6 inside
    assert not table.loc[table["strategy"] == "per_param", "inside"].any()  # 6% beyond CIs of 0-4% processes
    assert "largest +6.0% (cmp depth=" in ratios and " per_param)" in ratios
    assert medians.startswith("medians: 0 of 22 within 5% between the runs (0%)")
    assert main(["compare", str(base), str(new)]) == 0
    assert ratios in capsys.readouterr().out


def _simulated_ratios(rng, n: int, processes: int, shift: float = 0.0) -> pd.DataFrame:
    """A summary.csv's ratio rows: n cases whose per_param / single is 4x, each measured over ``processes``
    pairs whose log ratios spread by 5%, its t interval over them (as pairs.paired_ratio gives it)."""
    logs = rng.normal(np.log(4.0) + shift, 0.05, size=(n, processes))
    mean = logs.mean(axis=1)
    half = student_t.ppf(0.975, processes - 1) * logs.std(axis=1, ddof=1) / np.sqrt(processes)
    ratio, low, high = np.exp(mean), np.exp(mean - half), np.exp(mean + half)
    return pd.DataFrame(
        {"config": "sim", "case": [f"c{i}" for i in range(n)], "cache": "warm", "phase": "execute"}
        | {"strategy": "per_param", "unit": "s", "median": 1.0, "processes": processes, "pairs": processes}
        | {"paired_ratio": ratio, "paired_ci_low": low, "paired_ci_high": high}
        | {"ratio_vs_single": ratio, "ratio_ci_low": low, "ratio_ci_high": high}
    )


@pytest.mark.parametrize("processes", [3, 6])
def test_a_change_inside_its_own_ci_holds_95_percent_of_honest_runs_and_inside_the_others_cannot(processes):
    """Simulated pairs of runs with honest intervals: a ratio's change lies inside its Welch CI about 95% of
    the time, each ratio inside the other's CI only 80-84% (issue 34's 90% is out of reach of honest CIs);
    a run whose ratios all moved by 1.5 pair sds (a broken pairing) fails the first."""
    rng = np.random.default_rng(34)
    table = changes(_simulated_ratios(rng, 1500, processes), _simulated_ratios(rng, 1500, processes), "ratio")
    rate = table["consistent"].astype(bool).mean()
    assert 0.93 <= rate <= 0.985, rate
    assert 0.76 <= table["inside"].mean() <= 0.88
    moved = changes(_simulated_ratios(rng, 1500, processes), _simulated_ratios(rng, 1500, processes, 0.075), "ratio")
    assert moved["consistent"].astype(bool).mean() < 0.85
    assert consistent_line(table).startswith("ratios whose change lies inside its own 95% CI (Welch, from both")
    one = _simulated_ratios(rng, 3, processes).assign(processes=1, pairs=1, ratio_ci_low=np.nan, ratio_ci_high=np.nan)
    assert changes(one, one, "ratio")["consistent"].isna().all()  # no CI, no verdict
