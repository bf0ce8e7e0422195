"""The notebook runs, top to bottom, against two tiny runs (so it cannot rot)."""

from pathlib import Path

import nbformat
import pytest
from helpers import fake_worker
from nbclient import NotebookClient

from harness.config.schema import parse_config
from harness.orchestrate import runner

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "explore.ipynb"
CONFIG = {
    "name": "nb",
    "model": {"input": 3, "depth": 1, "width": 2, "output": 2},
    "run": {"repeats": 6},
    "sweep": {"depth": [1, 2, 3]},
}


def test_notebook_executes(tmp_path, monkeypatch):  # the runs draw no plots: the notebook redraws its own
    config = parse_config(CONFIG, source="nb.yaml")
    for _ in range(2):
        runner.run(
            [config], tmp_path / "results", progress=lambda line: None, runner=fake_worker, compiledir=tmp_path / "cc"
        )
    old = tmp_path / "results" / "20991231-000000-0000"  # newest by name, but another schema
    old.mkdir()
    (old / "env.json").write_text('{"schema_version": 1}')
    monkeypatch.setenv("GRADCOST_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("GRADCOST_RUN", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    outputs = [
        "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))
        for cell in nb.cells
        if cell.cell_type == "code"
    ]
    newest = sorted((tmp_path / "results").iterdir())[-2]
    assert outputs[0].startswith(str(newest))  # the newest run by default
    assert "per_param_separate" in outputs[1] and "construct" in outputs[1]  # the pivot
    assert "ratio_vs_single" in outputs[2]
    images = [o for cell in nb.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 2  # the phases plot and the depth sweep
    assert "without a significant change" in outputs[-1]
