"""conv and conv_transpose (1-D/2-D/3-D), computed with torch CPU kernels in fp32."""

from __future__ import annotations

import numpy as np

from . import conv_packed
from ._util import from_torch, to_torch, torch


def same_padding(in_sizes, kernel, strides, dilations, lower: bool) -> list[int]:
    """MIL "same"/"same_lower": output = ceil(in / stride); odd padding goes after ("same") or before."""
    pads = []
    for n, k, s, d in zip(in_sizes, kernel, strides, dilations):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        small, big = total // 2, total - total // 2
        pads += [big, small] if lower else [small, big]
    return pads


def _params(ctx, x, kernel):
    nd = x.ndim - 2
    strides = ctx.ints("strides", [1] * nd)
    dilations = ctx.ints("dilations", [1] * nd)
    pad_type = ctx.scalar("pad_type", "valid")
    if pad_type == "valid":
        pad = [0] * (2 * nd)
    elif pad_type == "custom":
        pad = ctx.ints("pad", [0] * (2 * nd))
    elif pad_type in ("same", "same_lower"):
        pad = same_padding(x.shape[2:], kernel, strides, dilations, pad_type == "same_lower")
    else:
        raise ctx.fail(f"unknown pad_type {pad_type!r}")
    return nd, strides, dilations, pad_type, pad


def _torch_pad(x, pad):
    """Pads [b0, e0, b1, e1, ...] (MIL order, first spatial dim first) with zeros."""
    flat = []
    for i in reversed(range(len(pad) // 2)):
        flat += [pad[2 * i], pad[2 * i + 1]]
    return torch().nn.functional.pad(x, flat) if any(flat) else x


def _layout(xt, groups: int):
    """The input in the memory layout its convolution runs fastest in on torch's CPU kernels.

    Depthwise convolutions are 2-3x faster channels-last (NHWC); once an activation is
    channels-last it stays so (the kernels keep the layout, NumPy element-wise ops too), which also
    makes ConvNeXt's NCHW<->NHWC transposes free views. Dense convolutions on NCHW inputs stay
    NCHW on this path: there oneDNN's channels-last path is slower with unpacked weights."""
    t = torch()
    if xt.ndim == 4 and (groups > 1 and groups == xt.shape[1] or _channels_last(xt)):
        return xt.contiguous(memory_format=t.channels_last)
    return xt


def _channels_last(xt) -> bool:
    t = torch()
    return xt.is_contiguous(memory_format=t.channels_last) and not xt.is_contiguous()


_STATIC = ("strides", "dilations", "pad_type", "pad", "groups")


def _static_params(ctx, x, kernel):
    """(nd, strides, dilations, pad, groups); parsed once per input shape when they are constants
    (they nearly always are: ~10 us of Python per conv saved on every later run)."""
    key = ("conv_params", x.shape, kernel)
    cacheable = all(ctx.is_const(k) for k in _STATIC if ctx.has(k))
    if cacheable and key in ctx.cache:
        return ctx.cache[key]
    nd, strides, dilations, _, pad = _params(ctx, x, kernel)
    params = (nd, strides, dilations, pad, int(ctx.scalar("groups", 1)))
    if cacheable:
        ctx.cache[key] = params
    return params


def _conv(ctx):
    x, w = ctx["x"], ctx["weight"]
    nd, strides, dilations, pad, groups = _static_params(ctx, x, w.shape[2:])
    F = torch().nn.functional
    fn = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    b = ctx.get("bias")
    symmetric = pad[0::2] == pad[1::2]
    with torch().no_grad():  # symmetric padding inside the kernel: no padded copy of the input
        xt = to_torch(x)
        xt = xt if symmetric else _torch_pad(xt, pad)
        padding = tuple(pad[0::2]) if symmetric else (0,) * nd
        if nd == 2 and xt.shape[2] * xt.shape[3] > 1 and ctx.is_const("weight") and conv_packed.available():
            return from_torch(conv_packed.conv2d(ctx, xt, w, b, strides, padding, dilations, groups, ctx.then))
        out = fn(_layout(xt, groups), to_torch(w), None if b is None else to_torch(b), tuple(strides),
                 padding, tuple(dilations), groups)
        if ctx.then is not None:  # an activation the executor fused into this conv
            out = _ACTIVATIONS[ctx.then](out, inplace=True)
    return from_torch(out)


_ACTIVATIONS = {"silu": lambda t, inplace: torch().nn.functional.silu(t, inplace=inplace),
                "relu": lambda t, inplace: torch().nn.functional.relu(t, inplace=inplace)}


def _conv_transpose(ctx):
    x, w = ctx["x"], ctx["weight"]
    nd = x.ndim - 2
    strides = ctx.ints("strides", [1] * nd)
    dilations = ctx.ints("dilations", [1] * nd)
    groups = int(ctx.scalar("groups", 1))
    F = torch().nn.functional
    fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
    b = ctx.get("bias")
    with torch().no_grad():
        full = from_torch(fn(to_torch(x), to_torch(w), None if b is None else to_torch(b), tuple(strides), 0, 0,
                             groups, tuple(dilations)))
    full_sizes = full.shape[2:]
    pad_type = ctx.scalar("pad_type", "valid")
    out_shape = ctx.ints("output_shape")
    if out_shape is not None:
        targets = out_shape[2:]
        begins = [(f - t) // 2 if pad_type in ("same", "same_lower") else 0 for f, t in zip(full_sizes, targets)]
        if pad_type == "custom":
            begins = ctx.ints("pad", [0] * (2 * nd))[0::2]
    elif pad_type == "valid":
        return full
    elif pad_type == "custom":
        pad = ctx.ints("pad", [0] * (2 * nd))
        begins = pad[0::2]
        targets = [f - pad[2 * i] - pad[2 * i + 1] for i, f in enumerate(full_sizes)]
    elif pad_type in ("same", "same_lower"):
        targets = [n * s for n, s in zip(x.shape[2:], strides)]
        totals = [f - t for f, t in zip(full_sizes, targets)]
        begins = [t - t // 2 if pad_type == "same_lower" else t // 2 for t in totals]
    else:
        raise ctx.fail(f"unknown pad_type {pad_type!r}")
    # Output positions beyond the full result (output_shape larger than computed) are bias only.
    out = np.zeros(full.shape[:2] + tuple(targets), dtype=np.float32)
    if b is not None:
        out += np.asarray(b, np.float32).reshape((1, -1) + (1,) * nd)
    src, dst = [slice(None)] * 2, [slice(None)] * 2
    for bgn, t, f in zip(begins, targets, full_sizes):
        lo, hi = max(bgn, 0), min(bgn + t, f)
        src.append(slice(lo, hi))
        dst.append(slice(lo - bgn, hi - bgn))
    out[tuple(dst)] = full[tuple(src)]
    return out


REGISTRY = {"conv": _conv, "conv_transpose": _conv_transpose}
