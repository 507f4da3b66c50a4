"""reduce_* ops: axes=None reduces everything; keep_dims defaults to False (MIL)."""

from __future__ import annotations

import numpy as np

from ._util import norm_axes, norm_axis


def _reduce(fn):
    def run(ctx):
        x = ctx["x"]
        axes = ctx.get("axes")
        axes = tuple(range(x.ndim)) if axes is None else norm_axes(axes, x.ndim)
        with np.errstate(all="ignore"):
            return fn(x, axes, bool(ctx.scalar("keep_dims", False)))

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


REGISTRY = {
    "reduce_sum": _reduce(lambda x, a, k: np.sum(x, axis=a, keepdims=k)),
    "reduce_mean": _reduce(lambda x, a, k: np.mean(x, axis=a, keepdims=k)),
    "reduce_max": _reduce(lambda x, a, k: np.max(x, axis=a, keepdims=k)),
    "reduce_min": _reduce(lambda x, a, k: np.min(x, axis=a, keepdims=k)),
    "reduce_prod": _reduce(lambda x, a, k: np.prod(x, axis=a, keepdims=k)),
    "reduce_l1_norm": _reduce(lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k)),
    "reduce_l2_norm": _reduce(lambda x, a, k: np.sqrt(np.sum(np.square(x), axis=a, keepdims=k))),
    "reduce_sum_square": _reduce(lambda x, a, k: np.sum(np.square(x), axis=a, keepdims=k)),
    "reduce_log_sum": _reduce(lambda x, a, k: np.log(np.sum(x, axis=a, keepdims=k))),
    "reduce_log_sum_exp": _reduce(_log_sum_exp),
    "reduce_argmax": _arg(np.argmax),
    "reduce_argmin": _arg(np.argmin),
}
