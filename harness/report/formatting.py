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


def format_count(n: float) -> str:
    """Instructions, for people: '41.7 M instr'."""
    if n != n:
        return "n/a"
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {prefix}instr"
    return f"{n:.0f} instr"


def format_measure(value: float, unit: str = "s") -> str:
    """A median in its unit (summary.csv's ``unit``): seconds, or instructions counted."""
    return format_count(value) if unit == "instructions" else format_seconds(value)


def format_ratio(
    r: float, lo: float = float("nan"), hi: float = float("nan"), times: str = "×", dash: str = "–", label: str = ""
) -> str:
    """'1.23×', with its CI where it has one: '1.23× (95% CI 1.10–1.37)' (``label`` '95% CI '); '' for NaN."""
    if r != r:
        return ""
    text = f"{r:.2f}{times}"
    if lo == lo:
        text += f" ({label}{lo:.2f}{dash}{hi:.2f})"
    return text


FRAMEWORK_NAMES = {"theano": "Theano", "aesara": "Aesara", "pytensor": "PyTensor", "jax": "JAX", "torch": "PyTorch"}
