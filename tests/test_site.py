"""The site's data and files (issue 35): ratios as report.md states them, every committed run read, unreadable
folders listed with why, pages that name no network address, the bundle pinned by hash."""

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.site import build as site_build
from harness.site.build import build_site
from harness.site.ratios import network, ratio_rows
from harness.site.runs import find_runs, load_all

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "results"


def _summary(**over):
    base = {
        "config": "q", "case": "question", "input": 8, "hidden": "6-5", "output": 3, "batch": 4,
        "framework": "theano", "framework_version": "1.1.2", "mode": "FAST_RUN", "device": "cpu", "threads": 1,
        "metric": "time", "cache": "warm", "phase": "execute", "strategy": "per_param", "processes": 3,
        "median": 0.5, "unit": "s", "cores_used": 1.0, "ratio_vs_single": 2.0, "ratio_ci_low": 1.5,
        "ratio_ci_high": 2.5, "paired_ratio": float("nan"), "paired_ci_low": float("nan"),
        "paired_ci_high": float("nan"), "pairs": 0, "pair_design": "", "ratio_vs_primal": float("nan"),
        "ratio_vs_primal_ci_low": float("nan"), "ratio_vs_primal_ci_high": float("nan"),
    }  # fmt: skip
    return {**base, **over}


def test_a_paired_ratio_is_the_answer_where_the_run_paired_and_the_ratio_of_medians_where_not():
    summary = pd.DataFrame(
        [
            _summary(
                strategy="single",
                ratio_vs_single=1.0,
                ratio_vs_primal=3.0,
                ratio_vs_primal_ci_low=2.0,
                ratio_vs_primal_ci_high=4.0,
            ),  # fmt: skip
            _summary(),  # unpaired: ratio of medians
            _summary(
                phase="construct",
                pairs=6,
                paired_ratio=4.4,
                paired_ci_low=4.3,
                paired_ci_high=4.5,
                pair_design="alternated",
            ),  # fmt: skip
            _summary(phase="compile", pairs=3, paired_ratio=1.2, paired_ci_low=1.1, paired_ci_high=1.3),
            _summary(phase="first_call", ratio_vs_single=float("nan")),  # no ratio: no row
        ]
    )
    rows = ratio_rows(summary, {}).set_index(["phase", "strategy", "over"])
    assert len(rows) == 4  # single ÷ single is no ratio; first_call had none
    assert rows.loc[("execute", "single", "primal"), ["ratio", "low", "high", "kind"]].tolist() == [
        3.0,
        2.0,
        4.0,
        "unpaired",
    ]
    assert rows.loc[("execute", "per_param", "single"), ["ratio", "low", "high", "kind"]].tolist() == [
        2.0,
        1.5,
        2.5,
        "unpaired",
    ]
    assert rows.loc[("construct", "per_param", "single"), ["ratio", "kind"]].tolist() == [4.4, "alternated"]
    assert rows.loc[("compile", "per_param", "single"), ["ratio", "low", "kind"]].tolist() == [1.2, 1.1, "paired"]
    assert rows.loc[("execute", "per_param", "single"), "question"] == "8-6-5-3, batch 4 · execute · per_param ÷ single"
    assert rows.loc[("execute", "per_param", "single"), "column"] == "Theano 1.1.2 FAST_RUN"


def test_a_network_names_its_widths_with_equal_hidden_layers_counted():
    assert network({"input": 784, "hidden": "256-256-256-256", "output": 10, "batch": 64}) == "784-256×4-10, batch 64"
    assert network({"input": 16384, "hidden": "5000-3000-512", "output": 40, "batch": 64}) == (
        "16384-5000-3000-512-40, batch 64"
    )


def test_every_committed_run_is_read_whatever_its_schema_and_its_ratios_match_its_summary():
    runs = load_all(find_runs(RESULTS))
    assert len(runs) >= 10 and all(r.ok for r in runs), [(r.name, r.reason) for r in runs if not r.ok]
    assert {r.env["schema_version"] for r in runs} >= {9, 10, 12, 14}
    bench = next(r for r in runs if r.name == "bench_paired")
    summary = pd.read_csv(RESULTS / "bench_paired" / "summary.csv")
    want = summary[(summary["case"] == "question") & (summary["cache"] == "warm") & (summary["phase"] == "construct")]
    want = want[want["strategy"] == "per_param"].iloc[0]
    got = bench.ratios[(bench.ratios["case"] == "question") & (bench.ratios["phase"] == "construct")]
    got = got[(got["strategy"] == "per_param") & (got["cache"] == "warm") & (got["over"] == "single")].iloc[0]
    assert (got["ratio"], got["low"], got["high"]) == (
        want["paired_ratio"],
        want["paired_ci_low"],
        want["paired_ci_high"],
    )
    assert got["kind"] == "alternated"


def test_a_folder_of_another_schema_or_broken_json_is_listed_with_why_not_a_crash(tmp_path):
    shutil.copytree(RESULTS / "pins_numba_c", tmp_path / "runs" / "good")
    future = tmp_path / "runs" / "future"
    shutil.copytree(RESULTS / "pins_numba_c", future)
    env = json.loads((future / "env.json").read_text())
    (future / "env.json").write_text(json.dumps({**env, "schema_version": 99}))
    (tmp_path / "runs" / "broken").mkdir()
    (tmp_path / "runs" / "broken" / "env.json").write_text("{not json")
    built = build_site([tmp_path / "runs"], tmp_path / "site", progress=lambda line: None)
    reasons = {r.name: r.reason for r in built.unread}
    assert set(reasons) == {"future", "broken"}
    assert "schema version 99" in reasons["future"] and "JSONDecodeError" in reasons["broken"]
    index = (tmp_path / "site" / "index.html").read_text()
    assert "Run folders not read" in index and "schema version 99" in index
    assert (tmp_path / "site" / "runs" / "good" / "index.html").exists()
    assert not (tmp_path / "site" / "runs" / "future").exists()


def test_the_pages_name_no_network_address_and_carry_their_runs_files(tmp_path):
    built = build_site([RESULTS], tmp_path / "site", progress=lambda line: None)
    assert not built.unread
    assert len(built.pages) == 5 + len(built.runs)
    for name in built.pages:
        html = (tmp_path / "site" / name).read_text()
        for attr in re.findall(r'(?:src|href)="([^"]*)"', html):
            assert not re.match(r"^[a-z]+://|^//", attr), (name, attr)
        assert "<script src=" in html and "https://" not in html.split('<script id="charts"')[0], name
    run = tmp_path / "site" / "runs" / "bench_paired"
    assert (run / "summary.csv").read_bytes() == (RESULTS / "bench_paired" / "summary.csv").read_bytes()
    assert list((run / "plots").glob("*.png"))
    assert (tmp_path / "site" / "assets" / "vega-bundle.js").stat().st_size > 500_000
    assert built.seconds < 60


def test_the_bundle_refuses_a_vendored_file_that_is_not_the_pinned_build(tmp_path, monkeypatch):
    vendor = tmp_path / "vendor"
    shutil.copytree(site_build.VENDOR, vendor)
    monkeypatch.setattr(site_build, "VENDOR", vendor)
    assert "vega-embed 7.3.0" in site_build.bundle()
    with (vendor / "vega-lite.min.js").open("a") as f:
        f.write("\n")
    with pytest.raises(ValueError, match="not the vega-lite 6.5.0 build"):
        site_build.bundle()


def test_site_on_the_command_line_refuses_a_folder_without_runs(tmp_path, capsys):
    from harness.cli import main

    assert main(["site", str(tmp_path), "--out", str(tmp_path / "site")]) != 0
    assert "no run folder" in capsys.readouterr().err
