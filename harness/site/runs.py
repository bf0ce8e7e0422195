"""The site's view of run folders: each read through ``harness.results.read_run`` (older schemas upgraded), or
listed with the reason it could not be read — never a crash."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness.analysis.summary import summarize
from harness.report.pairs_section import HEADLINE
from harness.results import read_run
from harness.site.ratios import ratio_rows, statuses


@dataclass
class Run:
    """One run folder as the site shows it; ``reason`` is set (and the frames empty) where it could not be read."""

    name: str
    path: Path
    reason: str = ""
    env: dict = field(default_factory=dict)
    ratios: pd.DataFrame = field(default_factory=pd.DataFrame)
    statuses: pd.DataFrame = field(default_factory=pd.DataFrame)
    report: str = ""

    @property
    def ok(self) -> bool:
        return not self.reason

    @property
    def date(self) -> str:
        return str(self.env.get("date") or "")

    @property
    def commit(self) -> str:
        return str((self.env.get("git") or {}).get("commit") or "")

    @property
    def machine(self) -> str:
        """'vm (AMD EPYC, 2 CPUs)': the host and its processor, the key of a machine's history."""
        cpu = self.env.get("cpu") or {}
        detail = ", ".join(p for p in (cpu.get("model"), f"{cpu['count']} CPUs" if cpu.get("count") else "") if p)
        return f"{self.env.get('hostname') or '?'}" + (f" ({detail})" if detail else "")

    @property
    def configs(self) -> list[str]:
        return [c.get("name", "?") if isinstance(c, dict) else str(c) for c in self.env.get("configs") or []]

    def calibration(self) -> dict:
        """The calibration workload's Python time at the run's start and end, in seconds (None where not run)."""
        out = {"start": None, "end": None}
        for record in self.env.get("calibration") or []:
            if isinstance(record, dict) and record.get("when") in out:
                out[record["when"]] = record.get("python_s")
        return out

    def headline(self) -> list[dict]:
        """The first case's headline ratios (issue 34's: construct and execute over single, single over primal)."""
        r = self.ratios
        if r.empty:
            return []
        warm = r[(r["cache"] == "warm") & (r["metric"].isin(["time", "instructions"]))]
        if warm.empty:
            return []
        first = warm.iloc[0]
        mine = warm[(warm["config"] == first["config"]) & (warm["case"] == first["case"])]
        mine = mine[mine["column"] == first["column"]]
        out = []
        for phase, strategy, over in (*((p, s, "single") for p, s in HEADLINE), ("execute", "single", "primal")):
            hit = mine[(mine["phase"] == phase) & (mine["strategy"] == strategy) & (mine["over"] == over)]
            if not hit.empty:
                out.append(hit.iloc[0].to_dict())
        return out


def find_runs(root: Path) -> list[Path]:
    """Every folder under ``root`` (one level down, or ``root`` itself) that holds an env.json, by name."""
    root = Path(root)
    if (root / "env.json").exists():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "env.json").exists()) if root.is_dir() else []


def load(path: Path) -> Run:
    """A run folder as the site shows it: its ratios, its failed workers, its report.md; or why it cannot be read."""
    path = Path(path)
    run = Run(name=path.name, path=path)
    try:
        data = read_run(path)
    except (OSError, ValueError, KeyError, json.JSONDecodeError, pd.errors.ParserError) as error:
        run.reason = f"{type(error).__name__}: {error}"
        try:
            run.env = json.loads((path / "env.json").read_text())
        except (OSError, ValueError):
            pass
        return run
    run.env = data["env"]
    summary = data["summary"]
    if summary is None and not data["measurements"].empty:
        summary = summarize(data["measurements"])
    run.ratios = ratio_rows(summary, run.env)
    run.statuses = statuses(data["workers"])
    report = path / "report.md"
    run.report = report.read_text(encoding="utf-8") if report.exists() else ""
    return run


def load_all(paths: list[Path]) -> list[Run]:
    """The runs, newest first (by env.json's date; unreadable ones last)."""
    runs = [load(p) for p in paths]
    return sorted(runs, key=lambda r: (not r.ok, _negated(r.date), r.name))


def _negated(date: str) -> str:
    """A key that sorts ISO dates newest first."""
    return "".join(chr(0x10FFFF - ord(c)) for c in date)
