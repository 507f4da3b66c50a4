"""Element-wise binary, unary, comparison and logical ops (NumPy broadcasting, as MIL)."""

from __future__ import annotations

import numpy as np

from ._util import big_fp32, from_torch, to_torch, torch


def erf(x: np.ndarray) -> np.ndarray:
    return from_torch(torch().erf(to_torch(x)))


def _binary(fn):
    def run(ctx):
        with np.errstate(all="ignore"):
            return fn(ctx["x"], ctx["y"])

    return run


def _binary_fp32(np_fn, torch_name: str):
    """An IEEE-exact fp32 binary op (add, mul, ...): torch's kernel on big fp32 operands (same
    correctly rounded result, faster on channels-last broadcasting), NumPy otherwise."""
    def run(ctx):
        x, y = ctx["x"], ctx["y"]
        if big_fp32(x, y) or big_fp32(y, x):
            t = torch()
            with t.no_grad():
                return from_torch(getattr(t, torch_name)(to_torch(x), to_torch(y)))
        with np.errstate(all="ignore"):
            return np_fn(x, y)

    return run


def _unary(fn):
    def run(ctx):
        with np.errstate(all="ignore"):
            return fn(ctx["x"])

    return run


def _with_eps(fn, default_eps):
    def run(ctx):
        eps = ctx.scalar("epsilon", default_eps)
        with np.errstate(all="ignore"):
            return fn(ctx["x"], eps)

    return run


def _clip(ctx):
    return np.minimum(np.maximum(ctx["x"], ctx.scalar("alpha")), ctx.scalar("beta"))


def _threshold(ctx):
    return np.maximum(ctx["x"], ctx.scalar("alpha"))


REGISTRY = {
    "add": _binary_fp32(np.add, "add"),
    "sub": _binary_fp32(np.subtract, "sub"),
    "mul": _binary_fp32(np.multiply, "mul"),
    "real_div": _binary_fp32(np.true_divide, "div"),  # the declared output dtype decides int results
    "floor_div": _binary(np.floor_divide),
    "mod": _binary(np.mod),
    "pow": _binary(np.power),
    "maximum": _binary_fp32(np.maximum, "maximum"),
    "minimum": _binary_fp32(np.minimum, "minimum"),
    "equal": _binary(np.equal),
    "not_equal": _binary(np.not_equal),
    "greater": _binary(np.greater),
    "greater_equal": _binary(np.greater_equal),
    "less": _binary(np.less),
    "less_equal": _binary(np.less_equal),
    "logical_and": _binary(np.logical_and),
    "logical_or": _binary(np.logical_or),
    "logical_xor": _binary(np.logical_xor),
    "logical_not": _unary(np.logical_not),
    "abs": _unary(np.abs),
    "acos": _unary(np.arccos),
    "asin": _unary(np.arcsin),
    "atan": _unary(np.arctan),
    "atanh": _unary(np.arctanh),
    "ceil": _unary(np.ceil),
    "cos": _unary(np.cos),
    "cosh": _unary(np.cosh),
    "erf": _unary(erf),
    "exp": _unary(np.exp),
    "exp2": _unary(np.exp2),
    "floor": _unary(np.floor),
    "round": _unary(np.round),  # half to even: MIL rounds 0.5 to 0
    "sign": _unary(np.sign),
    "sin": _unary(np.sin),
    "sinh": _unary(np.sinh),
    "sqrt": _unary(np.sqrt),
    "square": _unary(np.square),
    "tan": _unary(np.tan),
    "inverse": _with_eps(lambda x, e: 1.0 / (x + e), 1e-4),
    "log": _with_eps(lambda x, e: np.log(x + e), 1e-45),
    "rsqrt": _with_eps(lambda x, e: 1.0 / np.sqrt(x + e), 1e-12),
    "clip": _clip,
    "threshold": _threshold,
}
