"""Structural fingerprints of compiled functions: equal exactly when the computations are.

A fingerprint is a digest of what a compiled function does (its ops, their
parameters, dtypes and static shapes, and how they connect, in topological
order) with everything that differs between two compiles of the same
computation left out: names the framework made up, memory addresses, source
locations. Two strategies with the same fingerprint run the same function;
the timings of the two can then differ only by where and when they ran.
Framework-free: the backends hand in plain structures or text.
"""

from __future__ import annotations

import hashlib
import re

DIGITS = 16  # hex digits kept: 64 bits, no accidental collisions among a run's graphs

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_HLO_METADATA = re.compile(r",?\s*metadata=\{[^{}]*\}")
_HLO_NAME = re.compile(r"%[\w.\-]+")
_HLO_SIGNATURE_NAME = re.compile(r"([(,]\s*)[\w.\-]+(: )")


def digest(structure) -> str:
    """The first DIGITS hex digits of the SHA-256 of a structure's repr (lists, tuples, strings, numbers)."""
    return hashlib.sha256(repr(structure).encode()).hexdigest()[:DIGITS]


def without_addresses(text: str) -> str:
    """An object's description without ' at 0x7f...' (a default repr names its address)."""
    return _ADDRESS.sub("", text)


def canonical_hlo(text: str) -> str:
    """An HLO module's computations with names numbered by first appearance, metadata dropped.

    The module header (its name, from the Python function) and the tables of
    file names and stack frames that follow it are dropped too: everything
    before the first computation.
    """
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(("%", "ENTRY"))), len(lines))
    body = "\n".join(line.rstrip() for line in lines[start:] if line.strip())
    body = _HLO_METADATA.sub("", body)
    body = _HLO_SIGNATURE_NAME.sub(r"\1p\2", body)
    names: dict[str, str] = {}
    return _HLO_NAME.sub(lambda m: names.setdefault(m.group(0), f"%{len(names)}"), body)


def combine(fingerprints: list[str]) -> str:
    """One fingerprint for several compiled functions, in order (one function: its own)."""
    return fingerprints[0] if len(fingerprints) == 1 else digest(tuple(fingerprints))
