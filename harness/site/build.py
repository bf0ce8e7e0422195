"""``gradcost site``: read the run folders, write the pages, copy each run's files beside its page, and write the
one JavaScript bundle once. The folder it writes opens from ``file://`` with no network request."""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness.results import write_atomic
from harness.site.compare_page import compare_page
from harness.site.pages import RUN_FILES, index_page, run_page
from harness.site.runs import Run, find_runs, load_all
from harness.site.views import history_page, matrix_page, releases_page

ASSETS = Path(__file__).resolve().parent / "assets"
VENDOR = ASSETS / "vendor"
BUNDLE = "vega-bundle.js"


@dataclass
class Built:
    """What a build wrote: its pages (relative to the site folder), the runs read and not read, seconds taken."""

    out: Path
    pages: list[str] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def unread(self) -> list[Run]:
        return [r for r in self.runs if not r.ok]


def manifest() -> list[tuple[str, str, str, str]]:
    """(package, version, file, sha256) of each vendored build, in the bundle's order."""
    rows = []
    for line in (VENDOR / "MANIFEST").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, version, name, digest = line.split()
            rows.append((package, version, name, digest))
    return rows


def bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed in one classic script (a module script would not load from file://),
    each checked against the manifest's hash first."""
    parts = []
    for package, version, name, digest in manifest():
        data = (VENDOR / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"{VENDOR / name}: not the {package} {version} build the manifest pins (sha256)")
        parts.append(f"/* {package} {version} ({name}); licence: assets/LICENSES */\n{data.decode('utf-8')}\n")
    return "".join(parts)


def _copy_run_files(run: Run, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        if (run.path / name).exists():
            shutil.copy2(run.path / name, folder / name)
    if (run.path / "plots").is_dir():
        shutil.copytree(run.path / "plots", folder / "plots", dirs_exist_ok=True)


def build_site(sources: list[Path], out: Path, progress=print) -> Built:
    """The site of every run folder under ``sources`` (a run folder, or a folder of them) into ``out``."""
    started = time.perf_counter()
    paths = [p for s in sources for p in find_runs(Path(s))]
    if not paths:
        raise FileNotFoundError(f"no run folder (with an env.json) in {', '.join(map(str, sources))}")
    progress(f"reading {len(paths)} run folders")
    runs = load_all(paths)
    out = Path(out)
    built = Built(out=out, runs=runs)
    (out / "assets").mkdir(parents=True, exist_ok=True)
    write_atomic(out / "assets" / BUNDLE, bundle())
    for name in ("site.js", "site.css"):
        shutil.copy2(ASSETS / name, out / "assets" / name)
    shutil.copy2(VENDOR / "LICENSES", out / "assets" / "LICENSES")

    def write(name: str, html: str) -> None:
        write_atomic(out / name, html)
        built.pages.append(name)

    for run in runs:
        if run.ok:
            progress(f"run page {run.name}")
            _copy_run_files(run, out / "runs" / run.name)
            write(f"runs/{run.name}/index.html", run_page(run))
    progress("index, matrix, releases, history, compare")
    write("index.html", index_page(runs))
    write("matrix.html", matrix_page(runs))
    write("releases.html", releases_page(runs))
    write("history.html", history_page(runs))
    write("compare.html", compare_page(runs))
    built.seconds = time.perf_counter() - started
    return built
