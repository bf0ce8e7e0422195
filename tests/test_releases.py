"""Framework releases as a case parameter: envs/NAME-VERSION.txt, the interpreter each needs, the
framework_version column in every file, compare across releases, and one old release end to end
(Theano 1.0.5 on Python 3.7, built on first use, gradients checked against the NumPy reference)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import fake_worker

from harness import results
from harness.config import releases
from harness.config.cases import expand
from harness.config.schema import ConfigError, parse_config
from harness.orchestrate import release_envs, runner
from harness.report.compare import compare_runs

MODEL = {"input": 6, "depth": 1, "width": 5, "output": 3, "batch": 4}
RUN = {"strategies": ["single", "per_param"], "repeats": {"construct": 2, "compile": 1, "execute": 2}, "cache": "warm"}
quiet = lambda line: None  # noqa: E731


def worker(task, env, timeouts, **kwargs):  # a framework's own environment's worker: told its command
    return fake_worker(task, env, timeouts)


def config(frameworks, name="r", **run):
    doc = {"name": name, "model": MODEL, "run": {**RUN, **run}, "sweep": {"framework": frameworks}}
    return parse_config(doc, source=f"{name}.yaml")


# --- which releases there are -----------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_release_file_header_names_its_python_date_and_build_constraints(tmp_path):
    write(tmp_path / "jax.txt", "# released: 2026-06-17\njax==0.10.2\njaxlib==0.10.2\n")
    write(
        tmp_path / "jax-0.4.30.txt",
        "# JAX 0.4.30\n# python: 3.11\n# released: 2024-06-18\n# build-constraint: setuptools<58\n"
        "# build-constraint: wheel<1\njax==0.4.30\nnumpy==1.26.4\n",
    )
    write(tmp_path / "jax-9.9.txt", "# a file whose pin is another release is not that release\njax==0.4.30\n")
    found = releases.releases("jax", tmp_path)
    assert [(r.version, r.environment, r.default) for r in found] == [
        ("0.10.2", "jax", True),
        ("0.4.30", "jax-0.4.30", False),
    ]
    old = found[1]
    assert (old.python, old.released, old.build_constraints) == ("3.11", "2024-06-18", ("setuptools<58", "wheel<1"))
    assert found[0].python is None and found[0].released == "2026-06-17"
    assert releases.find("jax", None, tmp_path) == found[0] == releases.find("jax", "0.10.2", tmp_path)
    assert releases.find("jax", "0.4.30", tmp_path) == old
    assert releases.find("jax", "0.5.0", tmp_path) is None


def test_theano_releases_are_two_packages_and_the_default_one_is_the_venv():
    default = releases.find("theano", None)
    assert (default.version, default.distribution, default.environment) == ("1.1.2", "theano-pymc", "theano")
    old = releases.find("theano", "0.7.0")
    assert (old.distribution, old.python, old.released) == ("theano", "3.7", "2015-03-26")
    assert old.build_constraints == ("setuptools<58",)  # its sdist needs 2to3


def test_a_config_names_a_release_and_its_cases_carry_it():
    cases = expand(config(["theano", "theano==0.7.0", "pytensor==3.0.7:CVM", "jax", "jax==0.10.2"]))
    assert [(c.framework, c.version, c.env_name, c.mode) for c in cases] == [
        ("theano", "1.1.2", "theano", "FAST_RUN"),
        ("theano", "0.7.0", "theano-0.7.0", "FAST_RUN"),
        ("pytensor", "3.0.7", "pytensor-3.0.7", "CVM"),  # the pin before 3.3.7, kept as a release
        ("jax", "0.12.0.1", "jax", "jit"),  # the pin (envs/jax.txt)
        ("jax", "0.10.2", "jax-0.10.2", "jit"),  # the pin before it, kept as a release
    ]
    assert cases[1].columns()["framework_version"] == "0.7.0"
    # The default release named by its version is the framework's own environment.
    (pinned,) = expand(config(["theano==1.1.2"]))
    assert pinned.env_name == "theano" and pinned.version == "1.1.2"


def test_a_release_without_an_environment_is_a_config_error_naming_those_with_one():
    with pytest.raises(ConfigError) as exc:
        config(["theano==0.6.0"])
    assert "no environment for theano==0.6.0 (no envs/theano-0.6.0.txt)" in str(exc.value)
    assert "releases with one: theano==1.1.2, theano==0.7.0" in str(exc.value)
    with pytest.raises(
        ConfigError, match=r"no environment for aesara \(no envs/aesara.txt\); releases with one: aesara==2.9.4"
    ):
        config(["aesara"])  # Aesara is a release of the lineage only


# --- the interpreter a release needs ----------------------------------------------------------


def fake_python(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "python").write_text("#!/bin/sh\n")
    return path / "python"


def test_the_interpreter_is_found_from_the_variable_then_pyenv_then_the_path(tmp_path):
    pyenv, bin_dir = tmp_path / "pyenv", tmp_path / "bin"
    for patch in ("3.7.2", "3.7.16", "3.70.1"):
        fake_python(pyenv / "versions" / patch / "bin")
    bin_dir.mkdir()
    on_path = bin_dir / "python3.6"
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    environ = {"PYENV_ROOT": str(pyenv), "PATH": str(bin_dir)}
    assert release_envs.find_python("3.7", environ) == (
        str(pyenv / "versions/3.7.16/bin/python"),
        f"pyenv ({pyenv}/versions)",
    )
    assert release_envs.find_python("3.7", {**environ, "GRADCOST_PYTHON_3_7": "/opt/py37"}) == (
        "/opt/py37",
        "GRADCOST_PYTHON_3_7",
    )
    assert release_envs.find_python("3.6", environ) == (str(on_path), "PATH")
    missing, where = release_envs.find_python("3.5", environ)
    assert missing is None and "GRADCOST_PYTHON_3_5" in where and "python3.5 on the PATH" in where


def test_a_release_whose_python_is_missing_is_skipped_with_the_reason_and_the_rest_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("GRADCOST_PYTHON_3_7", raising=False)
    monkeypatch.delenv("GRADCOST_PYTHON_THEANO_0_7_0", raising=False)
    probed = []
    run_dir = runner.run(
        [config(["theano", "theano==0.7.0"])],
        tmp_path,
        quiet,
        runner=worker,
        compiledir=tmp_path / "cc",
        probe=lambda *args: probed.append(args) or {},
    )
    assert probed == []  # nothing to ask: Theano's own is .venv, the release has no interpreter
    w = results.read_run(run_dir)["workers"]
    old = w[w["framework_version"] == "0.7.0"]
    assert len(old) == 2 and set(old["status"]) == {"skipped"}
    assert old["error"].str.contains("theano 0.7.0 needs Python 3.7: none found").all()
    assert set(w[w["framework_version"] == "1.1.2"]["status"]) == {"ok"}
    env = json.loads((run_dir / "env.json").read_text())
    assert env["releases"]["theano-0.7.0"]["released"] == "2015-03-26"
    assert env["releases"]["theano"] == {**env["releases"]["theano"], "version": "1.1.2", "released": "2021-01-22"}
    assert "none found" in env["frameworks"]["theano-0.7.0"]["unusable"]


@pytest.mark.slow
def test_a_release_that_does_not_install_says_why_and_keeps_the_log(tmp_path, monkeypatch):
    monkeypatch.setattr(release_envs, "ENVS_DIR", tmp_path / "envs")
    requirements = write(tmp_path / "jax-0.0.0.txt", "jax==0.0.0\njax==0.10.2\n")  # pins that cannot both hold
    release = releases.Release("jax", "0.0.0", "jax-0.0.0", str(requirements), "jax")
    with pytest.raises(release_envs.ReleaseUnavailable) as exc:
        release_envs.ensure(release, quiet)
    message = str(exc.value)
    assert message.startswith("jax-0.0.0: does not install here (") and "jax==0.0.0" in message
    assert (tmp_path / "envs" / "jax-0.0.0.build.log").exists()
    assert not (tmp_path / "envs" / "jax-0.0.0" / release_envs.STAMP).exists()  # tried again next time


def test_uv_looks_where_pip_is_told_to_unless_told_itself(monkeypatch):
    """A release's environment built outside make (a run's first use) finds this machine kind's CPU PyTorch 2.13.0
    as make's build does: uv does not read pip's PIP_FIND_LINKS, so the build hands it on."""
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)
    assert release_envs.uv_environment()["UV_FIND_LINKS"] == "/opt/wheels"
    monkeypatch.setenv("UV_FIND_LINKS", "/elsewhere")
    assert release_envs.uv_environment()["UV_FIND_LINKS"] == "/elsewhere"
    monkeypatch.delenv("PIP_FIND_LINKS")
    monkeypatch.delenv("UV_FIND_LINKS")
    assert "UV_FIND_LINKS" not in release_envs.uv_environment()


def test_an_environment_holding_another_release_than_asked_is_not_used(tmp_path):
    asked = []

    def probe(name, distribution=None):
        asked.append((name, distribution))
        return {"version": "0.4.29", "packages": {"jax": "0.4.29"}}

    os.environ["GRADCOST_PYTHON_JAX_0_4_30"] = "/somewhere/python"  # a named interpreter: nothing is built
    try:
        run_dir = runner.run(
            [config(["jax==0.4.30"])], tmp_path, quiet, runner=worker, compiledir=tmp_path / "cc", probe=probe
        )
    finally:
        del os.environ["GRADCOST_PYTHON_JAX_0_4_30"]
    assert asked == [("jax-0.4.30", "jax")]
    w = results.read_run(run_dir)["workers"]
    assert set(w["status"]) == {"skipped"}
    assert w["error"].str.contains("its environment holds jax 0.4.29, not 0.4.30").all()


def test_a_framework_environment_holding_another_release_records_what_was_measured(tmp_path):
    probe = lambda name, distribution=None: {"version": "0.9.9", "packages": {"jax": "0.9.9"}}  # noqa: E731
    run_dir = runner.run([config(["jax"])], tmp_path, quiet, runner=worker, compiledir=tmp_path / "cc", probe=probe)
    assert set(results.read_run(run_dir)["measurements"]["framework_version"]) == {"0.9.9"}  # not the pin, 0.10.2


# --- the column, in every file; compare ----------------------------------------------------------


def run_of(tmp_path, frameworks, name):
    return runner.run(
        [config(frameworks, name="same")],
        tmp_path / name,
        quiet,
        runner=worker,
        compiledir=tmp_path / "cc",
        probe=lambda *a: {"version": None},
    )


def test_every_file_has_the_release_and_compare_tells_two_releases_apart(tmp_path):
    base = run_of(tmp_path, ["theano"], "base")
    for name in ("measurements.csv", "graphs.csv", "workers.csv", "limits.csv", "summary.csv"):
        frame = pd.read_csv(base / name, dtype=str)
        assert "framework_version" in frame.columns, name
        assert set(frame["framework_version"]) == ({"1.1.2"} if len(frame) else set()), name  # limits: no rows here
    # The same case measured in another release (its rows rewritten as the release would write them).
    new = tmp_path / "new"
    shutil.copytree(base, new)
    for name in ("measurements.csv", "graphs.csv", "workers.csv", "limits.csv", "summary.csv"):
        frame = pd.read_csv(new / name, dtype=str)
        frame["framework_version"] = "1.0.5"
        frame.to_csv(new / name, index=False)
    table, notes = compare_runs(base, new)
    assert not table.empty and set(table["framework_version"]) == {"1.1.2 -> 1.0.5"}
    assert any(n.startswith("framework_version: theano 1.1.2 -> 1.0.5 (1 case(s)") for n in notes)
    same, notes = compare_runs(base, base)
    assert set(same["framework_version"]) == {"1.1.2"} and not any("framework_version" in n for n in notes)


def test_a_run_of_schema_11_reads_its_releases_from_env_json(tmp_path):
    run_dir = run_of(tmp_path, ["theano"], "old")
    env = json.loads((run_dir / "env.json").read_text())
    env["schema_version"] = 11
    (run_dir / "env.json").write_text(json.dumps(env))
    for name in ("measurements.csv", "workers.csv"):
        frame = pd.read_csv(run_dir / name, dtype=str).drop(columns=["framework_version"])
        frame.to_csv(run_dir / name, index=False)
    data = results.read_run(run_dir)
    assert set(data["measurements"]["framework_version"]) == {env["packages"]["theano-pymc"]} == {"1.1.2"}


# --- one old release, for real ----------------------------------------------------------------


@pytest.mark.slow
def test_theano_1_0_5_on_python_3_7_builds_and_measures_a_tiny_case_with_checked_gradients(tmp_path):
    release = releases.find("theano", "1.0.5")
    python, where = release_envs.find_python(release.python)
    if python is None:
        pytest.skip(f"no Python {release.python} on this machine (looked in {where})")
    lines = []
    run_dir = runner.run(
        [config(["theano==1.0.5"], strategies=["single", "per_param", "primal"])],
        tmp_path,
        lines.append,
        compiledir=tmp_path / "cc",
    )
    data = results.read_run(run_dir)
    w = data["workers"]
    assert set(w["status"]) == {"ok"}, w["error"].tolist()
    assert set(w["framework_version"]) == {"1.0.5"}
    info = [json.loads(i) for i in w["backend_info"]]
    assert {i["theano_version"] for i in info} == {"1.0.5"}
    checks = w[w["strategy"] != "primal"]["rel_err_vs_numpy"].astype(float)
    assert (checks < 1e-6).all()  # the gradients are NumPy's, hand-written
    env = json.loads((run_dir / "env.json").read_text())
    packages = env["frameworks"]["theano-1.0.5"]["all_packages"]
    assert packages["theano"] == "1.0.5" and packages["numpy"] == "1.21.6"
    m = data["measurements"]
    assert {"construct", "compile", "first_call", "execute"} <= set(m["phase"])


# --- the report across releases -------------------------------------------------------------------


def test_the_report_sets_releases_side_by_side_by_date_with_the_questions_figures(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADCOST_PYTHON_THEANO_0_7_0", "/somewhere/python")  # nothing is built
    doc = {
        "name": "lin",
        "model": {"input": 6, "hidden": [5, 4, 3], "output": 3, "batch": 4},  # 8 parameters, as the question's
        "run": {**RUN, "strategies": ["single", "per_param", "per_param_separate"], "processes": 2},
        "sweep": {"framework": ["theano", "theano==0.7.0", "jax"]},
    }
    probe = lambda name, distribution=None: {  # noqa: E731
        "version": {"theano-0.7.0": "0.7.0", "jax": "0.12.0.1"}[name]
    }
    run_dir = runner.run(
        [parse_config(doc, source="lin.yaml")], tmp_path, quiet, runner=worker, compiledir=tmp_path / "cc", probe=probe
    )
    report = (run_dir / "report.md").read_text()
    section = report[report.index("**Across releases**") :]
    section = section[: section.index("Median time")]  # the next table
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    assert [r.split(" | ")[1:3] for r in rows] == [
        ["theano 0.7.0", "2015-03-26"],
        ["theano 1.1.2", "2021-01-22"],
        ["jax 0.12.0.1", "2026-10-21"],
    ]
    assert rows[0].startswith("| Theano → Aesara → PyTensor |") and rows[2].startswith("| JAX |")
    # fake_worker times repeat i as 0.01 * (i + 1) s in every strategy: every ratio to single is 1.
    assert "| 1.00× (1.00–1.00) |" in rows[0]
    assert "one `T.grad` call 0.061 s, eight calls 0.305 s (5.00×). Theano 0.7.0 (2015-03-26) here" in section
    if (run_dir / "plots").exists():
        assert (run_dir / "plots" / "lin-lineage.png").exists()


def test_releases_measured_in_two_modes_get_a_row_each_and_a_line_per_mode(tmp_path, monkeypatch):
    """A config that holds each release in two modes (configs/pins_numba_c.yaml) is not one row per release with
    one mode's values: every (release, mode) has its row, named by both, the releases of one mode together."""
    monkeypatch.setenv("GRADCOST_PYTHON_THEANO_0_7_0", "/somewhere/python")  # nothing is built
    doc = {
        "name": "modes",
        "model": {"input": 6, "hidden": [5, 4, 3], "output": 3, "batch": 4},
        "run": {**RUN, "strategies": ["single", "per_param"]},
        "sweep": {"framework": ["theano==0.7.0", "theano", "theano==0.7.0:FAST_COMPILE", "theano:FAST_COMPILE"]},
    }
    probe = lambda name, distribution=None: {"version": {"theano-0.7.0": "0.7.0"}.get(name)}  # noqa: E731
    run_dir = runner.run(
        [parse_config(doc, source="modes.yaml")],
        tmp_path,
        quiet,
        runner=worker,
        compiledir=tmp_path / "cc",
        probe=probe,
    )
    report = (run_dir / "report.md").read_text()
    section = report[report.index("**Across releases**") : report.index("Median time")]
    rows = [line.split(" | ")[1] for line in section.splitlines() if line.startswith("| ")][2:]
    assert rows == [
        "theano 0.7.0 FAST_RUN",
        "theano 1.1.2 FAST_RUN",
        "theano 0.7.0 FAST_COMPILE",
        "theano 1.1.2 FAST_COMPILE",
    ]


def test_a_lineage_of_frameworks_with_one_mode_each_stays_in_date_order():
    """Theano's FAST_RUN, PyTensor's CVM and Aesara's FAST_RUN are one line (configs/lineage.yaml): by date, not
    grouped by mode name."""
    from harness.report.lineage import lineage_rows

    measured = [("theano", "1.1.2", "FAST_RUN"), ("pytensor", "3.0.7", "CVM"), ("aesara", "2.9.4", "FAST_RUN")]
    measured += [("pytensor", "2.18.6", "CVM")]
    summary = pd.DataFrame(
        [
            {"config": "l", "cache": "warm", "hidden": "5", "framework": f, "framework_version": v, "mode": m,
             "case": f"{f}=={v}", "n_params": 4, "phase": "construct", "strategy": "single", "median": 0.01,
             "ratio_vs_single": 1.0, "ratio_ci_low": 1.0, "ratio_ci_high": 1.0}
            for f, v, m in measured
        ]
    )  # fmt: skip
    dates = {"theano": "2021-01-22", "aesara": "2024-08-28", "pytensor-2.18.6": "2024-01-12", "pytensor": "2026-06-15"}
    env = {"releases": {k: {"framework": k.split("-")[0], "version": v, "released": dates[k]}
                        for k, v in (("theano", "1.1.2"), ("aesara", "2.9.4"), ("pytensor-2.18.6", "2.18.6"),
                                     ("pytensor", "3.0.7"))}}  # fmt: skip
    rows = lineage_rows("l", summary, None, env)
    assert list(rows["label"]) == ["theano 1.1.2", "pytensor 2.18.6", "aesara 2.9.4", "pytensor 3.0.7"]
    assert set(rows["line_mode"]) == {""}  # and the plot draws them as one line


def test_no_section_across_releases_where_every_framework_has_one(tmp_path):
    run_dir = run_of(tmp_path, ["theano"], "one")
    assert "Across releases" not in (run_dir / "report.md").read_text()


def test_a_local_build_label_is_the_same_release(tmp_path):
    pin = releases.default_release("torch").version
    probe = lambda name, distribution=None: {"version": pin + "+cpu", "packages": {"torch": pin + "+cpu"}}  # noqa: E731
    run_dir = runner.run([config(["torch"])], tmp_path, quiet, runner=worker, compiledir=tmp_path / "cc", probe=probe)
    assert set(results.read_run(run_dir)["measurements"]["framework_version"]) == {pin}  # the pin's release
    os.environ["GRADCOST_PYTHON_TORCH_2_0_1"] = "/somewhere/python"
    try:
        probe = lambda name, distribution=None: {"version": "2.0.1+cu117"}  # noqa: E731
        run_dir = runner.run(
            [config(["torch==2.0.1"])], tmp_path / "b", quiet, runner=worker, compiledir=tmp_path / "cc", probe=probe
        )
    finally:
        del os.environ["GRADCOST_PYTHON_TORCH_2_0_1"]
    assert set(results.read_run(run_dir)["workers"]["status"]) == {"ok"}  # not "holds another release"
