"""reduce_* ops: axes=None reduces everything; keep_dims defaults to False (MIL)."""

from __future__ import annotations

import numpy as np

from ._util import big_fp32, from_torch, norm_axes, norm_axis, to_torch, torch


def _reduce(fn):
    def run(ctx):
        x = ctx["x"]
        axes = ctx.get("axes")
        axes = tuple(range(x.ndim)) if axes is None else norm_axes(axes, x.ndim)
        keep = bool(ctx.scalar("keep_dims", False))
        if fn in _TORCH and axes and big_fp32(x):  # ~2x NumPy on channels-last global pooling
            t = torch()
            with t.no_grad():
                return from_torch(_TORCH[fn](to_torch(x), axes, keep))
        with np.errstate(all="ignore"):
            return fn(x, axes, keep)

    return run


def _arg(fn):
    def run(ctx):
        x = ctx["x"]
        axis = norm_axis(ctx.scalar("axis", -1), x.ndim)
        out = fn(x, axis=axis)
        if ctx.scalar("keep_dims", False):
            out = np.expand_dims(out, axis)
        return out.astype(np.int32)

    return run


def _log_sum_exp(x, axes, k):
    m = np.max(x, axis=axes, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return out if k else np.squeeze(out, axis=axes)


# One formula per reduction, shared with the NeuralNetwork reduce layers (nn/layers_shape.py):
# fn(x, axes, keepdims).
REDUCTIONS = {
    "sum": lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    "mean": lambda x, a, k: np.mean(x, axis=a, keepdims=k),
    "max": lambda x, a, k: np.max(x, axis=a, keepdims=k),
    "min": lambda x, a, k: np.min(x, axis=a, keepdims=k),
    "prod": lambda x, a, k: np.prod(x, axis=a, keepdims=k),
    "l1_norm": lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k),
    "l2_norm": lambda x, a, k: np.sqrt(np.sum(np.square(x), axis=a, keepdims=k)),
    "sum_square": lambda x, a, k: np.sum(np.square(x), axis=a, keepdims=k),
    "log_sum": lambda x, a, k: np.log(np.sum(x, axis=a, keepdims=k)),
    "log_sum_exp": _log_sum_exp,
}

_TORCH = {  # the same reductions on torch's kernels (fp32 accumulation, as NumPy's)
    REDUCTIONS["sum"]: lambda t, a, k: t.sum(a, keepdim=k),
    REDUCTIONS["mean"]: lambda t, a, k: t.mean(a, keepdim=k),
}

REGISTRY = {
    **{f"reduce_{kind}": _reduce(fn) for kind, fn in REDUCTIONS.items()},
    "reduce_argmax": _arg(np.argmax),
    "reduce_argmin": _arg(np.argmin),
}
