"""Compressed-weight constants (constexpr_*): decompressed to dense arrays at run time."""

from __future__ import annotations

import numpy as np


def _affine_dequantize(ctx):
    q = np.asarray(ctx["quantized_data"], np.float32)
    axis = int(ctx.scalar("axis", 0))
    shape = [1] * q.ndim
    shape[axis] = -1

    def per_axis(v):
        v = np.asarray(v, np.float32)
        return v.reshape(shape) if v.size > 1 else v.reshape(())

    return (q - per_axis(ctx["zero_point"])) * per_axis(ctx["scale"])


def _blockwise_expand(v, shape):
    v = np.asarray(v, np.float32)
    for axis, (n, m) in enumerate(zip(shape, v.shape)):
        if m != n:
            v = np.repeat(v, n // m, axis=axis)
    return v


def _blockwise_shift_scale(ctx):
    data = np.asarray(ctx["data"], np.float32)
    out = data
    if ctx.get("offset") is not None:
        out = out - _blockwise_expand(ctx["offset"], data.shape)
    return out * _blockwise_expand(ctx["scale"], data.shape)


REGISTRY = {
    "constexpr_affine_dequantize": _affine_dequantize,
    "constexpr_blockwise_shift_scale": _blockwise_shift_scale,
    "constexpr_cast": lambda c: c["source_val"],
}
