"""matmul, linear, einsum."""

from __future__ import annotations

import numpy as np

from ._util import from_torch, linear, matmul, to_torch, torch


def _matmul(ctx):
    x, y = ctx["x"], ctx["y"]
    if ctx.scalar("transpose_x", False) and x.ndim >= 2:
        x = np.swapaxes(x, -1, -2)
    if ctx.scalar("transpose_y", False) and y.ndim >= 2:
        y = np.swapaxes(y, -1, -2)
    return matmul(x, y)


def _linear(ctx):
    return linear(ctx["x"], ctx["weight"], ctx.get("bias"))


def _einsum(ctx):
    with torch().no_grad():
        return from_torch(torch().einsum(ctx.scalar("equation"), *[to_torch(v) for v in ctx.list("values")]))


REGISTRY = {"matmul": _matmul, "linear": _linear, "einsum": _einsum}
