"""How numbers are written for people: one place, used by the printed tables, report.md and compare."""
from __future__ import annotations


def format_seconds(s: float) -> str:
    if s != s:
        return "n/a"
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} us"
