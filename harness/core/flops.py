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


def primal_flops(input: int, hidden: tuple[int, ...], output: int, batch: int) -> int:
    """Operations of the forward pass alone (the primal): one product per layer."""
    return sum(2 * batch * fan_in * fan_out for fan_in, fan_out in layer_shapes(input, hidden, output))


def strategy_products(
    strategy: str, input: int, hidden: tuple[int, ...], output: int, batch: int, biases: bool
) -> dict[tuple[str, int, int, int], int]:
    """The least set of matrix products a strategy's call computes, {(kind, m, k, n): count}.

    primal: each layer's forward product. single and per_param: one forward
    and backward pass (``products``; per_param's n gradients share it once a
    framework merges them). per_param_separate: a function per parameter, each
    its own forward pass and the backward pass down to that parameter (the
    input gradients of the layers above it, and a weight's own product; a bias
    gradient is a sum, no product).
    """
    if strategy not in ("primal", "per_param_separate"):
        return {(kind, m, k, n): count for kind, m, k, n, count in products(input, hidden, output, batch)}
    shapes = layer_shapes(input, hidden, output)
    forward = [("forward", batch, fan_in, fan_out) for fan_in, fan_out in shapes]
    counts: dict[tuple[str, int, int, int], int] = {}
    if strategy == "primal":  # layers of one width repeat a shape: count each
        for shape in forward:
            counts[shape] = counts.get(shape, 0) + 1
        return counts
    for i, (fan_in, fan_out) in enumerate(shapes):
        above = [("input_grad", batch, b, a) for a, b in shapes[i + 1 :]]
        pieces = [forward + above + [("weight_grad", fan_in, batch, fan_out)]]
        if biases:
            pieces.append(forward + above)
        for shape in (s for piece in pieces for s in piece):
            counts[shape] = counts.get(shape, 0) + 1
    return counts


def strategy_flops(strategy: str, input: int, hidden: tuple[int, ...], output: int, batch: int, biases: bool) -> int:
    """Operations of ``strategy_products``."""
    return sum(
        count * 2 * m * k * n
        for (_, m, k, n), count in strategy_products(strategy, input, hidden, output, batch, biases).items()
    )


# How a product's operands are laid out, as the gradient graph has them:
#   forward      h[batch, in] @ W[in, out]             A[m, k] @ B[k, n]
#   weight_grad  h[batch, in].T @ delta[batch, out]    A[k, m].T @ B[k, n]
#   input_grad   delta[batch, out] @ W[in, out].T      A[m, k] @ B[n, k].T
PRODUCT_KINDS = {"forward": (False, False), "weight_grad": (True, False), "input_grad": (False, True)}


def products(input: int, hidden: tuple[int, ...], output: int, batch: int) -> list[tuple[str, int, int, int, int]]:
    """The distinct matrix products of one forward and backward pass: (kind, m, k, n, count).

    ``count`` is how many of the pass's products have that kind and shape
    (a deep network of one width repeats the same few). A product costs
    2 m k n operations; the pass's total is ``gradient_flops``.
    """
    counts: dict[tuple, int] = {}
    for i, (fan_in, fan_out) in enumerate(layer_shapes(input, hidden, output)):
        shapes = [("forward", batch, fan_in, fan_out), ("weight_grad", fan_in, batch, fan_out)]
        if i > 0:  # the first layer's input needs no gradient
            shapes.append(("input_grad", batch, fan_out, fan_in))
        for shape in shapes:
            counts[shape] = counts.get(shape, 0) + 1
    return [(*shape, count) for shape, count in counts.items()]


def operands(kind: str, m: int, k: int, n: int) -> tuple[tuple[int, int], tuple[int, int], bool, bool]:
    """Stored shapes of A and B and whether each is transposed in the product (see PRODUCT_KINDS)."""
    ta, tb = PRODUCT_KINDS[kind]
    return ((k, m) if ta else (m, k)), ((n, k) if tb else (k, n)), ta, tb


def largest_layer(input: int, hidden: tuple[int, ...], output: int) -> tuple[int, int]:
    """(in, out) of the layer with the most weights: where NumPy's limit is measured."""
    return max(layer_shapes(input, hidden, output), key=lambda s: s[0] * s[1])


def matmul_flops(batch: int, fan_in: int, fan_out: int) -> int:
    return 2 * batch * fan_in * fan_out
