"""The lock of .venv (envs/venv.txt) holds exactly what pyproject.toml pins, and every environment is fully pinned."""

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _pins(path: Path) -> dict:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return {_name(line): line.split("==", 1)[1] for line in lines if line and not line.startswith("-")}


def test_the_venv_lock_has_every_pin_of_pyproject_at_its_version():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [
        *project["dependencies"],
        *project["optional-dependencies"]["test"],
        *project["optional-dependencies"]["dask"],
    ]
    lock = _pins(REPO / "envs" / "venv.txt")
    for requirement in wanted:
        name, version = _name(requirement), requirement.split("==", 1)[1]
        assert lock.get(name) == version, (requirement, lock.get(name))


def test_every_environment_file_pins_every_package_exactly():
    for path in sorted((REPO / "envs").glob("*.txt")):
        for line in path.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):  # -r other.txt: that file is checked too
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[A-Za-z0-9_.+\-]+", line), (path.name, line)


# --- compiled bytecode: this machine kind sets PYTHONDONTWRITEBYTECODE, so an environment installed
# without its bytecode makes every worker compile its framework's source at import ---------------------


def test_bytecode_state_sees_whether_a_module_has_compiled_bytecode(tmp_path, monkeypatch):
    import py_compile
    import sys

    from harness.orchestrate import envinfo

    (tmp_path / "gb_bytecode_probe.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert envinfo.bytecode_state("gb_bytecode_probe") == {"cached": False, "writes": False}
    py_compile.compile(str(tmp_path / "gb_bytecode_probe.py"))
    assert envinfo.bytecode_state("gb_bytecode_probe") == {"cached": True, "writes": False}
    assert envinfo.bytecode_state("gb_no_such_module") is None


def test_make_setup_compiles_theano_and_a_run_says_when_an_environment_does_not():
    from harness.orchestrate import envinfo, environments

    assert envinfo.bytecode_state("theano")["cached"]  # make setup installs with --compile-bytecode
    note = environments.bytecode_note("torch", {"bytecode": {"cached": False, "writes": False}})
    assert "every worker compiles torch's Python source" in note and "make env-torch" in note
    assert "make setup" in environments.bytecode_note("theano", {"bytecode": {"cached": False, "writes": False}})
    for state in ({"cached": True, "writes": False}, {"cached": False, "writes": True}, None):
        assert environments.bytecode_note("torch", {"bytecode": state}) is None


def test_a_run_prints_the_bytecode_note_once_per_environment_without_bytecode(tmp_path):
    import json

    from helpers import fake_worker

    from harness.config.schema import parse_config
    from harness.orchestrate import runner

    config = parse_config(
        {
            "name": "b",
            "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
            "run": {"repeats": 1, "strategies": ["single"]},
            "sweep": {"framework": ["jax", "torch"], "depth": [1, 2]},
        },
        source="b.yaml",
    )
    states = {"jax": {"cached": False, "writes": False}, "torch": {"cached": True, "writes": False}}
    lines = []
    worker = lambda task, env, timeouts, **kwargs: fake_worker(task, env, timeouts)  # noqa: E731
    run_dir = runner.run([config], tmp_path, lines.append, runner=worker, probe=lambda n: {"bytecode": states[n]})
    notes = [line for line in lines if "compiled bytecode" in line]
    assert len(notes) == 1 and "make env-jax" in notes[0]
    recorded = json.loads((run_dir / "env.json").read_text())
    assert recorded["frameworks"]["jax"]["bytecode"] == states["jax"] and recorded["bytecode"]["cached"]
