"""A tiny config through the real command line and real worker processes."""

import json
from pathlib import Path

import pandas as pd
import pytest

from harness import results
from harness.cli import main

pytestmark = pytest.mark.slow

TINY = Path(__file__).resolve().parent.parent / "configs" / "tiny.yaml"


def test_run_writes_every_file(tmp_path, capsys, plots):
    assert main(["run", str(TINY), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    (run_dir,) = tmp_path.iterdir()
    assert f"results: {run_dir}" in out and "[12/12]" in out  # 2 cases x (4 warm + 2 cold)

    m = pd.read_csv(run_dir / "measurements.csv")
    assert tuple(m.columns) == results.MEASUREMENT_COLUMNS
    assert (m["status"] == "ok").all() and (m["seconds"] > 0).all()
    counts = m.groupby(["case", "cache", "strategy", "phase"]).size()
    assert counts[("depth=2", "warm", "single", "construct")] == 3
    assert counts[("depth=2", "warm", "per_param", "execute")] == 3
    assert counts[("depth=2", "warm", "per_param", "first_call")] == 1
    assert counts[("depth=2", "cold", "per_param", "compile")] == 1
    assert counts[("depth=2", "warm", "numpy_reference", "matmul")] == 3
    assert counts[("depth=2", "warm", "numpy_reference", "forward")] == 3
    assert counts[("depth=2", "warm", "primal", "execute")] == 3
    assert ("depth=2", "cold", "primal", "compile") not in counts  # the primal is held against warm gradients
    assert ("depth=2", "cold", "single", "construct") not in counts  # a cold worker compiles only
    compiles = m[m["phase"] == "compile"].groupby("cache")["c_compiled"]
    assert compiles.min()["warm"] == 0 and compiles.max()["warm"] == 0  # only cache look-ups
    assert (m[(m["phase"] == "compile") & (m["cache"] == "cold")]["c_compiled"] > 0).all()

    s = pd.read_csv(run_dir / "summary.csv")
    assert {
        "n",
        "min",
        "median",
        "mean",
        "std",
        "iqr",
        "ci_low",
        "ci_high",
        "cv",
        "unstable",
        "ratio_vs_single",
        "ratio_ci_low",
        "ratio_ci_high",
        "ratio_vs_primal",
        "ratio_vs_primal_ci_low",
        "ratio_vs_primal_ci_high",
    } <= set(s.columns)
    sc = pd.read_csv(run_dir / "scaling.csv")
    assert {"slope", "slope_stderr", "slope_ci_low", "slope_ci_high"} <= set(sc.columns)
    tp = pd.read_csv(run_dir / "throughput.csv")
    assert (tp["gflop_per_s"] > 0).all() and (tp["matmul_gflop_per_s"] > 0).all()
    assert (tp["limit_gflop_per_s"] > 0).all()
    lim = pd.read_csv(run_dir / "limits.csv")
    assert set(lim["strategy"]) == {"single"} and set(lim["slot"]) == {0}  # one worker per case
    from harness.core.flops import products

    for case, d in lim.groupby("case"):
        depth = int(case.split("=")[1])
        expected = {(kind, m, k, n) for kind, m, k, n, _ in products(8, (6,) * depth, 3, 4)}  # tiny.yaml
        assert set(zip(d["product"], d["m"], d["k"], d["n"])) == expected

    g = pd.read_csv(run_dir / "graphs.csv").set_index(["case", "strategy"])
    assert list(pd.read_csv(run_dir / "graphs.csv").columns[:2]) == ["config", "case"]
    assert g.loc[("depth=2", "per_param"), "nodes_unoptimized"] > g.loc[("depth=2", "single"), "nodes_unoptimized"]
    assert g.loc[("depth=2", "per_param"), "nodes_optimized"] == g.loc[("depth=2", "single"), "nodes_optimized"]

    w = pd.read_csv(run_dir / "workers.csv")
    assert (w["status"] == "ok").all()
    theano_warm = w[(w["cache"] == "warm") & (w["strategy"] != "numpy_reference")]
    assert (theano_warm["rel_err_vs_numpy"] < 1e-8).all()
    assert len(set(w["order"])) == 6
    assert w["pid"].nunique() == len(w)  # a fresh process for every worker

    env = json.loads((run_dir / "env.json").read_text())
    for key in (
        "python",
        "packages",
        "theano_flags",
        "blas",
        "cpu",
        "git",
        "date",
        "configs",
        "timer",
        "compiledir_policy",
        "loadavg_start",
        "loadavg_end",
    ):
        assert env[key], key
    assert env["packages"]["theano-pymc"] == "1.1.2"
    assert env["cpu"]["count"] >= 1 and env["status"] == "complete"
    for stem in ("tiny-phases", "tiny-sweep-depth", "tiny-primal-depth"):
        for ext in ("png", "svg"):
            assert (run_dir / "plots" / f"{stem}.{ext}").stat().st_size > 1000

    p = pd.read_csv(run_dir / "primal.csv").set_index(["case", "strategy"])
    assert set(p.index.get_level_values("strategy")) == {"single", "per_param", "primal", "numpy_reference"}
    gradients = p.drop(index="primal", level="strategy")
    assert (p["ratio_vs_primal"] > 0).all() and (gradients["flop_ratio"] > 2).all()
    assert (p.xs("primal", level="strategy")[["ratio_vs_primal", "flop_ratio"]] == 1).all().all()
    assert p["product_time_ratio"].drop(index="numpy_reference", level="strategy").notna().all()
    assert (s.loc[s["strategy"] == "single", "ratio_vs_primal"].dropna() > 0).all()

    report = (run_dir / "report.md").read_text()
    assert "**Answer for depth=2**" in report and "Apply nodes before the compiler:" in report
    assert "Apply nodes after rewriting:" in report
    assert "**Gradient ÷ primal**" in report and "| depth=2 | Theano FAST_RUN |" in report

    # report redraws from the files alone
    (run_dir / "summary.csv").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "summary.csv").exists()


def test_bad_config_exits_2_without_writing(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {input: 3, depth: 1, width: 2, output: 2, activaton: relu}\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: model.activaton: unknown key" in err and "did you mean 'activation'" in err
    assert not (tmp_path / "out").exists()


def test_a_warm_compile_needs_no_warm_up_compile(tmp_path):
    # The worker builds what it executes before the timed compile: that fills the compiledir with
    # its own C modules, so with warmup.compile 0 the timed compile still only looks them up.
    from harness.config.schema import parse_config
    from harness.orchestrate import runner

    config = parse_config(
        {
            "name": "w",
            "model": {"input": 7, "depth": 2, "width": 5, "output": 3, "batch": 4},
            "run": {
                "strategies": ["single", "per_param_separate"],
                "cache": "warm",
                "repeats": {"construct": 1, "compile": 2, "execute": 1},
                "warmup": {"construct": 0, "compile": 0, "execute": 0},
            },
        },
        source="w.yaml",
    )
    run_dir = runner.run([config], tmp_path / "out", progress=lambda line: None, compiledir=tmp_path / "cc")
    m = pd.read_csv(run_dir / "measurements.csv")
    compiles = m[m["phase"] == "compile"]
    assert len(compiles) == 4 and (compiles["c_compiled"] == 0).all()  # an empty compiledir at start
