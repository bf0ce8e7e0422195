"""Floating-point work of one gradient evaluation, counted from the model's shape.

Matrix products dominate an MLP: a product of (batch x in) by (in x out)
costs 2 * batch * in * out operations. Each layer has one product forward and
two backward (the weight gradient and the gradient of its input), except the
first layer, whose input needs no gradient. Elementwise work is not counted.
"""
from __future__ import annotations


def layer_shapes(input: int, hidden: tuple[int, ...], output: int) -> list[tuple[int, int]]:
    sizes = (input, *hidden, output)
    return list(zip(sizes[:-1], sizes[1:]))


def gradient_flops(input: int, hidden: tuple[int, ...], output: int, batch: int) -> int:
    """Operations of a forward and backward pass over one batch."""
    total = 0
    for i, (fan_in, fan_out) in enumerate(layer_shapes(input, hidden, output)):
        products = 3 if i > 0 else 2
        total += products * 2 * batch * fan_in * fan_out
    return total


def largest_layer(input: int, hidden: tuple[int, ...], output: int) -> tuple[int, int]:
    """(in, out) of the layer with the most weights: where NumPy's limit is measured."""
    return max(layer_shapes(input, hidden, output), key=lambda s: s[0] * s[1])


def matmul_flops(batch: int, fan_in: int, fan_out: int) -> int:
    return 2 * batch * fan_in * fan_out
