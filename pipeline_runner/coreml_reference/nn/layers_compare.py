"""NeuralNetwork element-wise math, comparison, logical and selection layers (float outputs, as Core ML NN)."""

from __future__ import annotations

import numpy as np


def _unary(fn):
    def run(layer, p, xs):
        with np.errstate(all="ignore"):
            return [fn(xs[0])]

    return run


def _compare(fn):
    def run(layer, p, xs):
        y = xs[1] if len(xs) > 1 else np.float32(getattr(p, "alpha", 0.0))
        return [fn(xs[0], y).astype(np.float32)]

    return run


def _logical(fn):
    def run(layer, p, xs):
        out = xs[0] != 0
        for x in xs[1:]:
            out = fn(out, x != 0)
        return [out.astype(np.float32)]

    return run


def _broadcast(fn):
    def run(layer, p, xs):
        with np.errstate(all="ignore"):
            return [fn(xs[0], xs[1])]

    return run


def _variadic(fn):
    def run(layer, p, xs):
        out = xs[0]
        for x in xs[1:]:
            out = fn(out, x)
        return [out]

    return run


def _clamped_relu(layer, p, xs):
    x = xs[0]
    return [np.minimum(np.where(x >= 0, x, p.alpha * x), p.beta)]


REGISTRY = {
    **{name: _unary(fn) for name, fn in {
        "ceil": np.ceil, "floor": np.floor, "round": np.round, "sign": np.sign, "sin": np.sin, "cos": np.cos,
        "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
        "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "exp2": np.exp2, "copy": lambda x: x,
    }.items()},
    "equal": _compare(np.equal),
    "notEqual": _compare(np.not_equal),
    "greaterThan": _compare(np.greater),
    "greaterEqual": _compare(np.greater_equal),
    "lessThan": _compare(np.less),
    "lessEqual": _compare(np.less_equal),
    "logicalAnd": _logical(np.logical_and),
    "logicalOr": _logical(np.logical_or),
    "logicalXor": _logical(np.logical_xor),
    "logicalNot": lambda l, p, xs: [(xs[0] == 0).astype(np.float32)],
    "whereBroadcastable": lambda l, p, xs: [np.where(xs[0] != 0, xs[1], xs[2])],
    "powBroadcastable": _broadcast(np.power),
    "modBroadcastable": _broadcast(np.mod),
    "floorDivBroadcastable": _broadcast(np.floor_divide),
    "min": _variadic(np.minimum),
    "max": _variadic(np.maximum),
    "average": lambda l, p, xs: [sum(xs) / len(xs)],
    "clampedReLU": _clamped_relu,
}
