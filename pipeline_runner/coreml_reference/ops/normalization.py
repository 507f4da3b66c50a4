"""batch_norm, instance_norm, layer_norm, l2_norm, local_response_norm."""

from __future__ import annotations

import numpy as np

from ._util import from_torch, norm_axes, to_torch, torch


def _channel(v, rank):
    return np.asarray(v, np.float32).reshape((1, -1) + (1,) * (rank - 2))


def _batch_norm(ctx):
    x = ctx["x"]
    eps = ctx.scalar("epsilon", 1e-5)
    y = (x - _channel(ctx["mean"], x.ndim)) / np.sqrt(_channel(ctx["variance"], x.ndim) + eps)
    if ctx.get("gamma") is not None:
        y = y * _channel(ctx["gamma"], x.ndim)
    if ctx.get("beta") is not None:
        y = y + _channel(ctx["beta"], x.ndim)
    return y


def _torch_layer_norm(ctx, x, n_axes):
    """Trailing-axes layer norm on torch's fused kernel (one pass instead of NumPy's five)."""
    t = torch()
    shape = x.shape[x.ndim - n_axes:]
    params = [None if ctx.get(k) is None else to_torch(np.asarray(ctx[k], np.float32).reshape(shape))
              for k in ("gamma", "beta")]
    with t.no_grad():
        return from_torch(t.nn.functional.layer_norm(to_torch(x), shape, *params, eps=float(ctx.scalar("epsilon", 1e-5))))


def _normalize(x, axes, eps):
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean(np.square(x - mean), axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def _instance_norm(ctx):
    x = ctx["x"]
    y = _normalize(x, tuple(range(2, x.ndim)), ctx.scalar("epsilon", 1e-5))
    if ctx.get("gamma") is not None:
        y = y * _channel(ctx["gamma"], x.ndim)
    if ctx.get("beta") is not None:
        y = y + _channel(ctx["beta"], x.ndim)
    return y


def _layer_norm(ctx):
    x = ctx["x"]
    axes = norm_axes(ctx["axes"], x.ndim) if ctx.get("axes") is not None else tuple(range(x.ndim))
    if axes and sorted(axes) == list(range(x.ndim - len(axes), x.ndim)):
        return _torch_layer_norm(ctx, x, len(axes))
    y = _normalize(x, axes, ctx.scalar("epsilon", 1e-5))
    # gamma/beta have the shape of the normalised axes: place them on those axes.
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    if ctx.get("gamma") is not None:
        y = y * np.asarray(ctx["gamma"], np.float32).reshape(shape)
    if ctx.get("beta") is not None:
        y = y + np.asarray(ctx["beta"], np.float32).reshape(shape)
    return y


def _l2_norm(ctx):
    # Normalises over the last three dims (whole tensor for rank 3), per leading batch index.
    x = ctx["x"]
    axes = tuple(range(max(x.ndim - 3, 0), x.ndim))
    return x / np.sqrt(np.sum(np.square(x), axis=axes, keepdims=True) + ctx.scalar("epsilon", 1e-6))


def _local_response_norm(ctx):
    # Across channels (axis 1): x / (k + alpha/size * sum_{window} x^2)^beta
    x = ctx["x"]
    size = int(ctx.scalar("size"))
    alpha, beta, k = ctx.scalar("alpha", 1e-4), ctx.scalar("beta", 0.75), ctx.scalar("k", 1.0)
    sq = np.square(x)
    pad = [(0, 0)] * x.ndim
    pad[1] = ((size - 1) // 2, size // 2)
    csum = np.cumsum(np.pad(sq, pad), axis=1)
    csum = np.concatenate([np.zeros_like(csum[:, :1]), csum], axis=1)
    window = csum[:, size:] - csum[:, :-size]
    return x / np.power(k + alpha / size * window, beta)


REGISTRY = {
    "batch_norm": _batch_norm,
    "instance_norm": _instance_norm,
    "layer_norm": _layer_norm,
    "l2_norm": _l2_norm,
    "local_response_norm": _local_response_norm,
}
