"""NeuralNetwork shape, fill, ordering and legacy [C, H, W] layout layers."""

from __future__ import annotations

import numpy as np

from ..ops._util import norm_axis
from ..ops.reduction import REDUCTIONS
from ..ops.resize import bilinear
from .weights import weights


def _reduce(fn):
    def run(layer, p, xs):
        x = xs[0]
        axes = tuple(range(x.ndim)) if p.reduceAll else tuple(a % x.ndim for a in p.axes)
        with np.errstate(all="ignore"):
            return [fn(x, axes, p.keepDims)]

    return run


def _arg(fn):
    def run(layer, p, xs):
        x = xs[0]
        axis = norm_axis(p.axis, x.ndim)
        out = fn(x, axis=axis)
        return [(out if p.removeDim else np.expand_dims(out, axis)).astype(np.float32)]

    return run


def _cumsum(layer, p, xs):
    x = xs[0]
    axis = norm_axis(p.axis, x.ndim)
    y = np.flip(x, axis) if p.reverse else x
    out = np.cumsum(y, axis=axis)
    if p.excludeFinalSum:
        out = out - y
    return [np.flip(out, axis) if p.reverse else out]


def _one_hot(layer, p, xs):
    idx = np.asarray(xs[0]).astype(np.int64)
    axis = norm_axis(p.axis, idx.ndim + 1)
    shape = [-1 if i == axis else 1 for i in range(idx.ndim + 1)]
    hot = np.expand_dims(idx, axis) == np.arange(p.oneHotVectorSize).reshape(shape)
    return [np.where(hot, p.onValue, p.offValue).astype(np.float32)]


def _band(x, lower, upper):
    m = np.arange(x.shape[-2])[:, None]
    n = np.arange(x.shape[-1])[None, :]
    keep = ((lower < 0) | (m - n <= lower)) & ((upper < 0) | (n - m <= upper))
    return np.where(keep, x, 0)


def _topk(layer, p, xs):
    x = xs[0]
    axis = norm_axis(p.axis, x.ndim)
    order = np.argsort(x if p.useBottomK else -x, axis=axis, kind="stable")
    idx = np.take(order, np.arange(p.K), axis=axis)
    return [np.take_along_axis(x, idx, axis=axis), idx.astype(np.float32)]


def _upsample(layer, p, xs):
    x = xs[0]
    fh, fw = (p.fractionalScalingFactor or p.scalingFactor or (1, 1))
    out_h, out_w = int(np.floor(x.shape[-2] * fh)), int(np.floor(x.shape[-1] * fw))
    if p.mode == 0:  # NN
        ih = np.minimum((np.arange(out_h) * (x.shape[-2] / out_h)).astype(np.int64), x.shape[-2] - 1)
        iw = np.minimum((np.arange(out_w) * (x.shape[-1] / out_w)).astype(np.int64), x.shape[-1] - 1)
        return [np.take(np.take(x, ih, axis=-2), iw, axis=-1)]
    mode = "STRICT_ALIGN_CORNERS" if p.linearUpsampleMode == 1 else "UNALIGN_CORNERS"
    return [bilinear(x, out_h, out_w, mode)]


_RESIZE_MODES = {0: "STRICT_ALIGN_CORNERS", 1: "ALIGN_CORNERS", 2: "DEFAULT", 3: "OFFSET_CORNERS"}


def _padding(layer, p, xs):
    x = xs[0]
    edges = p.paddingAmounts.borderAmounts
    (t, b), (l, r) = [(e.startEdgeSize, e.endEdgeSize) for e in edges] if edges else [(0, 0), (0, 0)]
    widths = [(0, 0)] * (x.ndim - 2) + [(t, b), (l, r)]
    kind = p.WhichOneof("PaddingType")
    if kind == "constant":
        return [np.pad(x, widths, constant_values=p.constant.value)]
    return [np.pad(x, widths, mode="reflect" if kind == "reflection" else "edge")]


def _constant_pad(layer, p, xs):
    x = xs[0]
    amounts = list(p.padAmounts)
    n = len(amounts) // 2
    widths = [(0, 0)] * (x.ndim - n) + [(amounts[2 * i], amounts[2 * i + 1]) for i in range(n)]
    return [np.pad(x, widths, constant_values=p.value)]


def _flatten(layer, p, xs):
    x = xs[0]
    chw = x if p.mode == 0 else np.moveaxis(x, -3, -1)  # CHANNEL_LAST flattens in H, W, C order
    return [chw.reshape(x.shape[:-3] + (-1, 1, 1))]


def _reshape_legacy(layer, p, xs):
    x = xs[0]
    target = tuple(p.targetShape)
    if p.mode == 1:  # CHANNEL_LAST: reorder to HWC, reshape, back to CHW
        hwc = np.moveaxis(x, -3, -1).reshape(x.shape[:-3] + target[-3:][1:] + target[-3:][:1])
        return [np.moveaxis(hwc, -1, -3)]
    return [x.reshape(x.shape[: x.ndim - 3] + target[-3:]) if len(target) == 3 else x.reshape(target)]


def _rank_preserving_reshape(layer, p, xs):
    x = xs[0]
    return [x.reshape([x.shape[i] if s == 0 else s for i, s in enumerate(p.targetShape)])]


def _embedding(layer, p, xs):
    x = xs[0]
    table = weights(p.weights, (p.outputChannels, p.inputDim)).T
    y = table[np.asarray(x).reshape(x.shape[:-3]).astype(np.int64)]
    if p.hasBias:
        y = y + weights(p.bias)
    return [y.reshape(y.shape + (1, 1))]


def _reorganize(layer, p, xs):
    from ..ops.shape import _depth_to_space, _pixel_shuffle, _space_to_depth

    fn = {0: _space_to_depth, 1: _depth_to_space, 2: _pixel_shuffle}[p.mode]
    x = xs[0]
    lead = x.shape[:-3]
    y = fn(x.reshape((-1,) + x.shape[-3:]), p.blockSize)
    return [y.reshape(lead + y.shape[1:])]


def _gather_nd(layer, p, xs):
    x, idx = xs[0], np.asarray(xs[1]).astype(np.int64)
    return [x[tuple(idx[..., j] for j in range(idx.shape[-1]))]]


def _slice_by_size(layer, p, xs):
    x = xs[0]
    axis = norm_axis(p.axis, x.ndim)
    begin = int(np.asarray(xs[1]).reshape(-1)[0])
    return [np.take(x, np.arange(begin, begin + p.size), axis=axis)]


def _slice_legacy(layer, p, xs):
    """Legacy slice on the C, H or W axis (the last three dims), NumPy [start:end:stride] semantics."""
    x = xs[0]
    idx = [slice(None)] * x.ndim
    idx[x.ndim - 3 + p.axis] = slice(p.startIndex, p.endIndex, p.stride or 1)
    return [x[tuple(idx)]]


def _chw(v, shape):
    shape = tuple(shape)
    return v.reshape(shape + (1, 1) if len(shape) == 1 and shape[0] != 1 else shape)


# NeuralNetwork reduce layer type suffix -> the shared reduction formula.
_REDUCE_LAYERS = {"Mean": "mean", "Sum": "sum", "Max": "max", "Min": "min", "Prod": "prod", "L1": "l1_norm",
                  "L2": "l2_norm", "LogSum": "log_sum", "LogSumExp": "log_sum_exp", "SumSquare": "sum_square"}

REGISTRY = {
    **{f"reduce{layer}": _reduce(REDUCTIONS[kind]) for layer, kind in _REDUCE_LAYERS.items()},
    "argMax": _arg(np.argmax),
    "argMin": _arg(np.argmin),
    "cumSum": _cumsum,
    "oneHot": _one_hot,
    "lowerTriangular": lambda l, p, xs: [np.tril(xs[0], p.k)],
    "upperTriangular": lambda l, p, xs: [np.triu(xs[0], p.k)],
    "matrixBandPart": lambda l, p, xs: [_band(xs[0], p.numLower, p.numUpper)],
    "fillStatic": lambda l, p, xs: [np.full(tuple(p.targetShape), p.value, np.float32)],
    "fillLike": lambda l, p, xs: [np.full(np.shape(xs[0]), p.value, np.float32)],
    "rangeStatic": lambda l, p, xs: [np.arange(p.startValue, p.endValue, p.stepSizeValue, dtype=np.float32)],
    "getShape": lambda l, p, xs: [np.asarray(np.shape(xs[0]), np.float32)],
    "broadcastToStatic": lambda l, p, xs: [np.broadcast_to(xs[0], tuple(p.targetShape)).copy()],
    "broadcastToLike": lambda l, p, xs: [np.broadcast_to(xs[0], np.shape(xs[1])).copy()],
    "tile": lambda l, p, xs: [np.tile(xs[0], tuple(p.reps))],
    "stack": lambda l, p, xs: [np.stack(xs, axis=p.axis)],
    "reverse": lambda l, p, xs: [np.flip(xs[0], axis=tuple(i for i, r in enumerate(p.reverseDim) if r))],
    "topK": _topk,
    "argSort": lambda l, p, xs: [np.argsort(-xs[0] if p.descending else xs[0], axis=p.axis, kind="stable")
                                 .astype(np.float32)],
    "l2normalize": lambda l, p, xs: [xs[0] / np.sqrt(np.sum(xs[0] ** 2, axis=(-3, -2, -1), keepdims=True) + p.epsilon)],
    "upsample": _upsample,
    "resizeBilinear": lambda l, p, xs: [bilinear(xs[0], p.targetSize[0], p.targetSize[1],
                                                 _RESIZE_MODES[p.mode.samplingMethod])],
    "padding": _padding,
    "constantPad": _constant_pad,
    "permute": lambda l, p, xs: [np.transpose(xs[0], tuple(p.axis))],
    "concat": lambda l, p, xs: [np.concatenate(xs, axis=-3)],
    "flatten": _flatten,
    "reshape": _reshape_legacy,
    "rankPreservingReshape": _rank_preserving_reshape,
    "reshapeDynamic": lambda l, p, xs: [np.reshape(xs[0], tuple(int(v) for v in np.asarray(xs[1]).reshape(-1)))],
    "bias": lambda l, p, xs: [xs[0] + _chw(weights(p.bias), p.shape)],
    "loadConstant": lambda l, p, xs: [weights(p.data, tuple(p.shape))],
    "embedding": _embedding,
    "reorganizeData": _reorganize,
    "gatherAlongAxis": lambda l, p, xs: [np.take_along_axis(xs[0], np.asarray(xs[1]).astype(np.int64), axis=p.axis)],
    "gatherND": _gather_nd,
    "sliceBySize": _slice_by_size,
    "slice": _slice_legacy,
}
