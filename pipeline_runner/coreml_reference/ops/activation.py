"""Activations (MIL activation.py): relu family, sigmoid family, gelu modes, softmax, softplus..."""

from __future__ import annotations

import numpy as np

from ._util import from_torch, norm_axis, to_torch, torch


def _on_torch(fn):
    """fp32 through a torch CPU kernel: vectorised, and 2-4x NumPy's exp/erf on big activations
    (they dominate EfficientNet's and ConvNeXt's time after the convolutions)."""
    def run(x):
        with torch().no_grad():
            return from_torch(fn(to_torch(np.asarray(x))))

    return run


_t_sigmoid = _on_torch(lambda t: torch().sigmoid(t))
_t_silu = _on_torch(lambda t: torch().nn.functional.silu(t))
_t_gelu = _on_torch(lambda t: torch().nn.functional.gelu(t))
_t_gelu_tanh = _on_torch(lambda t: torch().nn.functional.gelu(t, approximate="tanh"))


def _act(fn):
    def run(ctx):
        with np.errstate(all="ignore"):
            return fn(ctx)

    return run


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _gelu(ctx):
    x, mode = ctx["x"], ctx.scalar("mode", "EXACT")
    if mode == "EXACT":
        return _t_gelu(x)  # 0.5 x (1 + erf(x / sqrt 2))
    if mode == "TANH_APPROXIMATION":
        return _t_gelu_tanh(x)  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    if mode == "SIGMOID_APPROXIMATION":
        return x * _t_sigmoid(1.702 * x)
    raise ctx.fail(f"unknown gelu mode {mode!r}")


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    z = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _softmax(ctx):
    x = ctx["x"]
    return softmax(x, norm_axis(ctx.scalar("axis", -1), x.ndim))


def _channel_param(ctx, key, x):
    """Per-channel (axis 1) parameter of prelu / softplus_parametric, broadcast over the rest."""
    a = np.asarray(ctx[key], dtype=np.float32).reshape(-1)
    shape = [1] * x.ndim
    if x.ndim >= 2:
        shape[1] = a.size if a.size > 1 else 1
    return a.reshape(shape) if a.size > 1 else a.reshape(())


def _softplus(x):
    return np.logaddexp(0.0, x)


def _prelu(ctx):
    x = ctx["x"]
    a = _channel_param(ctx, "alpha", x)
    return np.where(x >= 0, x, a * x)


def _softplus_parametric(ctx):
    x = ctx["x"]
    a, b = _channel_param(ctx, "alpha", x), _channel_param(ctx, "beta", x)
    return a * _softplus(b * x)


def _clamped_relu(ctx):
    x, a, b = ctx["x"], ctx.scalar("alpha"), ctx.scalar("beta")
    return np.minimum(np.where(x >= 0, x, a * x), b)


REGISTRY = {
    "relu": _act(lambda c: np.maximum(c["x"], 0)),
    "relu6": _act(lambda c: np.clip(c["x"], 0, 6)),
    "sigmoid": _act(lambda c: _t_sigmoid(c["x"])),
    "tanh": _act(lambda c: np.tanh(c["x"])),
    "silu": _act(lambda c: _t_silu(c["x"])),
    "sigmoid_hard": _act(lambda c: np.clip(c.scalar("alpha", 0.2) * c["x"] + c.scalar("beta", 0.5), 0, 1)),
    "leaky_relu": _act(lambda c: np.where(c["x"] >= 0, c["x"], c.scalar("alpha", 0.01) * c["x"])),
    "elu": _act(lambda c: np.where(c["x"] > 0, c["x"], c.scalar("alpha", 1.0) * np.expm1(c["x"]))),
    "softplus": _act(lambda c: _softplus(c["x"])),
    "softsign": _act(lambda c: c["x"] / (1.0 + np.abs(c["x"]))),
    "thresholded_relu": _act(lambda c: np.where(c["x"] >= c.scalar("alpha", 1.0), c["x"], 0)),
    "linear_activation": _act(lambda c: c.scalar("alpha") * c["x"] + c.scalar("beta", 0.0)),
    "scaled_tanh": _act(lambda c: c.scalar("alpha", 1.0) * np.tanh(c.scalar("beta", 1.0) * c["x"])),
    "clamped_relu": _act(_clamped_relu),
    "prelu": _act(_prelu),
    "softplus_parametric": _act(_softplus_parametric),
    "gelu": _act(_gelu),
    "softmax": _act(_softmax),
}
