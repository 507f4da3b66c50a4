"""Activation quantization (iOS17): quantize / dequantize, per tensor or per channel along ``axis``."""

from __future__ import annotations

import numpy as np

_RANGES = {"int8": (-128, 127), "uint8": (0, 255)}


def _per_axis(ctx, key, rank, default=None):
    v = ctx.get(key)
    if v is None:
        return default
    v = np.asarray(v, np.float32)
    if v.size == 1:
        return v.reshape(())
    shape = [1] * rank
    shape[int(ctx.scalar("axis")) % rank] = -1
    return v.reshape(shape)


def _quantize(ctx):
    x = np.asarray(ctx["input"], np.float32)
    dtype = ctx.scalar("output_dtype")
    lo, hi = _RANGES[dtype]
    q = np.round(x / _per_axis(ctx, "scale", x.ndim)) + _per_axis(ctx, "zero_point", x.ndim, np.float32(0))
    return np.clip(q, lo, hi)


def _dequantize(ctx):
    q = np.asarray(ctx["input"], np.float32)
    return (q - _per_axis(ctx, "zero_point", q.ndim, np.float32(0))) * _per_axis(ctx, "scale", q.ndim)


REGISTRY = {"quantize": _quantize, "dequantize": _dequantize}
