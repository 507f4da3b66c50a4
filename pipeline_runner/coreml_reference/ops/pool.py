"""avg_pool, max_pool, l2_pool (1-D/2-D/3-D) with torch CPU kernels."""

from __future__ import annotations

import numpy as np

from ._util import from_torch, to_torch, torch
from .conv import same_padding


def _window_sum(xt, kernel, strides, ceil_mode):
    """Sum over each window (zero outside the input); 1-D runs as 2-D with a unit dim."""
    F = torch().nn.functional
    if len(kernel) == 1:
        out = F.avg_pool2d(xt.unsqueeze(-2), (1, kernel[0]), (1, strides[0]), 0, ceil_mode, True, 1)
        return out.squeeze(-2)
    fn = F.avg_pool2d if len(kernel) == 2 else F.avg_pool3d
    return fn(xt, kernel, strides, 0, ceil_mode, True, 1)


def _pool(kind):
    def run(ctx):
        x = ctx["x"]
        nd = x.ndim - 2
        kernel = ctx.ints("kernel_sizes")
        strides = ctx.ints("strides", [1] * nd)
        pad_type = ctx.scalar("pad_type", "valid")
        ceil_mode = bool(ctx.scalar("ceil_mode", False))
        if pad_type == "valid":
            pad = [0] * (2 * nd)
        elif pad_type == "custom":
            pad = ctx.ints("pad", [0] * (2 * nd))
        elif pad_type in ("same", "same_lower"):
            pad = same_padding(x.shape[2:], kernel, strides, [1] * nd, pad_type == "same_lower")
        else:
            raise ctx.fail(f"unknown pad_type {pad_type!r}")
        t = torch()
        F = t.nn.functional
        flat = []
        for i in reversed(range(nd)):
            flat += [pad[2 * i], pad[2 * i + 1]]
        with t.no_grad():
            xt = to_torch(x)
            if kind == "max":
                xt = F.pad(xt, flat, value=-np.inf) if any(flat) else xt
                fn = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1]
                return from_torch(fn(xt, kernel, strides, 0, 1, ceil_mode))
            if kind == "l2":
                sq = F.pad(xt * xt, flat) if any(flat) else xt * xt
                return from_torch(t.sqrt(_window_sum(sq, kernel, strides, ceil_mode)))
            sums = _window_sum(F.pad(xt, flat) if any(flat) else xt, kernel, strides, ceil_mode)
            if ctx.scalar("exclude_padding_from_average", False):
                ones = F.pad(t.ones((1, 1) + tuple(x.shape[2:])), flat)
            else:
                ones = t.ones((1, 1) + tuple(F.pad(xt[:1, :1], flat).shape[2:]))
            counts = _window_sum(ones, kernel, strides, ceil_mode)
            return from_torch(sums / counts)

    return run


REGISTRY = {"avg_pool": _pool("avg"), "max_pool": _pool("max"), "l2_pool": _pool("l2")}
