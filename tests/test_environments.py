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
