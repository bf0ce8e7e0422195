"""For people: summary files, report.md, plots, compare."""
