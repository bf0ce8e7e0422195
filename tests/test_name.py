"""The project's name is gradcost (issue 33): `gradbench` is GradBench's, the peer the docs cite."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from harness.cli import main, renamed_variables

REPO = Path(__file__).resolve().parent.parent
# The only files that may still say the old name: the warning for the old variables, and this test.
OLD_NAME_ALLOWED = {"harness/cli/__init__.py", "tests/test_name.py"}


def test_the_distribution_and_its_command_are_gradcost():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == "gradcost"
    assert project["scripts"] == {"gradcost": "harness.cli:main"}


def test_the_installed_environment_has_a_gradcost_command_and_no_gradbench_one():
    bin_dir = Path(sys.executable).parent
    assert not (bin_dir / "gradbench").exists()
    proc = subprocess.run([str(bin_dir / "gradcost"), "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: gradcost "), proc.stdout + proc.stderr


def test_no_committed_text_outside_the_recorded_runs_uses_the_old_name():
    """Committed runs keep what they recorded (results/); everything else says gradcost, and GradBench (capital
    G and B) only where it means the peer."""
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in files:
        if name.startswith("results/") or name in OLD_NAME_ALLOWED:
            continue
        try:
            text = (REPO / name).read_text()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for i, line in enumerate(text.splitlines(), 1):
            line = line.replace("gradbench/gradbench", "")  # the peer's repository
            if "gradbench" in line or "GRADBENCH" in line:
                found.append(f"{name}:{i}")
    assert found == []


def test_an_old_variable_is_named_with_its_new_name(capsys):
    assert renamed_variables({"GRADBENCH_PYTHON_JAX": "/x", "GRADCOST_RUN": "y", "PATH": "/bin"}) == [
        "GRADBENCH_PYTHON_JAX"
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADBENCH_PLOTS", "off")
        with pytest.raises(SystemExit):
            main(["--help"])
    err = capsys.readouterr().err
    assert "warning: GRADBENCH_PLOTS is ignored" in err and "set GRADCOST_PLOTS instead" in err
