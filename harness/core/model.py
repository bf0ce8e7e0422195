"""The MLP a case measures, as plain data: no YAML, no pandas, no framework.

Workers of every framework import this (with data, timing and the NumPy
reference), so it must run in any framework's environment with only NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Model:
    """One MLP: layer widths, activation, loss and data shape."""

    input: int
    hidden: tuple[int, ...]
    output: int
    activation: str
    loss: str
    biases: bool
    floatX: str
    batch: int

    @property
    def depth(self) -> int:
        return len(self.hidden)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        return (self.input, *self.hidden, self.output)

    @property
    def n_params(self) -> int:
        return (len(self.layer_sizes) - 1) * (2 if self.biases else 1)

    @classmethod
    def from_dict(cls, d: dict) -> Model:
        return cls(**{**d, "hidden": tuple(d["hidden"])})
