"""A static site from run folders that opens from ``file://`` with no network request: data inline, one pinned
JavaScript bundle (Vega, Vega-Lite, Vega-Embed) written once for the whole site (issue 35).

runs (read each run folder, or say why not) -> ratios (one row per ratio and CI) -> pages (HTML) -> build (files).
"""
