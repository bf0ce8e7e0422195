"""Configs as a run folder's env.json records them: read back, and the case order they give."""

from __future__ import annotations

import pandas as pd

from harness.config.cases import expand
from harness.config.schema import Config, parse_config


def config_from_dict(d: dict) -> Config:
    """A config as recorded in env.json, validated again.

    Run folders written before the fix of issue 9 record ``sweep: {}`` for a
    config without a sweep; that means no sweep, as it did when they were written.
    """
    doc = {k: v for k, v in d.items() if k != "source" and not (k == "sweep" and v == {})}
    return parse_config(doc, source=d.get("source", "env.json"), default_name=d["name"])


def in_config_order(frame: pd.DataFrame, configs: list) -> pd.DataFrame:
    """Rows of ``frame`` with cases in the order the configs list them (``configs`` as env.json
    records them); within a case, as they are. A merged or Dask run's cases finish in any order."""
    if frame.empty:
        return frame
    try:
        rank = {
            (case.config, case.name): i
            for i, case in enumerate(case for c in configs for case in expand(config_from_dict(c)))
        }
    except (ValueError, KeyError, TypeError):  # configs this gradcost cannot read: keep the order measured
        return frame
    ranks = [rank.get((c, k), len(rank)) for c, k in zip(frame["config"], frame["case"])]
    return frame.assign(_rank=ranks).sort_values("_rank", kind="stable").drop(columns="_rank")
