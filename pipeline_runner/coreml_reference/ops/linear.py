"""matmul, linear, einsum."""

from __future__ import annotations

import numpy as np


def _matmul(ctx):
    x, y = ctx["x"], ctx["y"]
    if ctx.scalar("transpose_x", False) and x.ndim >= 2:
        x = np.swapaxes(x, -1, -2)
    if ctx.scalar("transpose_y", False) and y.ndim >= 2:
        y = np.swapaxes(y, -1, -2)
    # NumPy only hands batched (rank > 2) products to BLAS when operands are contiguous;
    # transposed views otherwise take a loop that is ~50x slower.
    return np.matmul(np.ascontiguousarray(x), np.ascontiguousarray(y))


def _linear(ctx):
    x, w = ctx["x"], ctx["weight"]
    out = np.matmul(x, w.T)
    b = ctx.get("bias")
    return out + b if b is not None else out


def _einsum(ctx):
    return np.einsum(ctx.scalar("equation"), *ctx.list("values"), optimize=True)


REGISTRY = {"matmul": _matmul, "linear": _linear, "einsum": _einsum}
