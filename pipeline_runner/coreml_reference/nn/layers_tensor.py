"""NeuralNetwork ND layers: arithmetic, matmul, shape and indexing layers.

Each entry is ``fn(layer, params, inputs: list[np.ndarray]) -> list[np.ndarray]``
where ``params`` is the layer's oneof message.
"""

from __future__ import annotations

import numpy as np

from ..ops._util import linear, matmul, norm_axis
from .weights import weights


def _elementwise(fn):
    def run(layer, p, xs):
        if len(xs) == 1:  # single input: combined with the layer's scalar alpha
            return [fn(xs[0], np.float32(p.alpha))]
        out = xs[0]
        for x in xs[1:]:
            out = fn(out, x)
        return [out]

    return run


def _inner_product(layer, p, xs):
    w = weights(p.weights, (p.outputChannels, p.inputChannels))
    return [linear(xs[0], w, weights(p.bias) if p.hasBias else None)]


def _batched_matmul(layer, p, xs):
    if len(xs) == 2:
        a = np.swapaxes(xs[0], -1, -2) if p.transposeA else xs[0]
        b = np.swapaxes(xs[1], -1, -2) if p.transposeB else xs[1]
        return [matmul(a, b)]
    # One input times the layer's weights: transposeA/B only apply to the two-input form
    # (coremltools transposes the input with a separate layer and still sets the flag).
    rows, cols = p.weightMatrixFirstDimension, p.weightMatrixSecondDimension
    w = weights(p.weights, (cols, rows)).T  # stored transposed: (out, in)
    y = matmul(xs[0], w)
    return [y + weights(p.bias) if p.hasBias else y]


def _embedding_nd(layer, p, xs):
    table = weights(p.weights, (p.embeddingSize, p.vocabSize)).T
    ids = np.asarray(xs[0]).astype(np.int64)
    ids = ids[..., 0] if ids.shape and ids.shape[-1] == 1 else ids
    y = table[ids]
    return [y + weights(p.bias) if p.hasBias else y]


def _load_constant_nd(layer, p, xs):
    return [weights(p.data, tuple(p.shape))]


def _reshape_static(layer, p, xs):
    return [np.reshape(xs[0], tuple(p.targetShape))]


def _squeeze(layer, p, xs):
    x = xs[0]
    return [np.squeeze(x) if p.squeezeAll else np.squeeze(x, axis=tuple(a % x.ndim for a in p.axes))]


def _expand_dims(layer, p, xs):
    x = xs[0]
    out_rank = x.ndim + len(p.axes)
    return [np.expand_dims(x, tuple(sorted(a % out_rank for a in p.axes)))]


def _concat_nd(layer, p, xs):
    axis = norm_axis(p.axis, xs[0].ndim)
    if p.interleave:
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        return [np.stack(xs, axis=axis + 1).reshape(shape)]
    return [np.concatenate(xs, axis=axis)]


def _split_nd(layer, p, xs):
    x = xs[0]
    axis = norm_axis(p.axis, x.ndim)
    if len(p.splitSizes):
        return list(np.split(x, np.cumsum(list(p.splitSizes))[:-1], axis=axis))
    return list(np.split(x, p.numSplits or len(layer.output), axis=axis))


def _gather(layer, p, xs):
    x, idx = xs[0], np.asarray(xs[1]).astype(np.int64)
    axis = norm_axis(p.axis, x.ndim)
    return [np.take(x, np.where(idx < 0, idx + x.shape[axis], idx), axis=axis)]


def _slice_static(layer, p, xs):
    x = xs[0]
    idx = []
    for i in range(x.ndim):
        b = None if p.beginMasks[i] else p.beginIds[i]
        e = None if p.endMasks[i] else p.endIds[i]
        idx.append(b if len(p.squeezeMasks) and p.squeezeMasks[i] else slice(b, e, p.strides[i]))
    return [np.asarray(x[tuple(idx)])]


REGISTRY = {
    "add": _elementwise(np.add),
    "multiply": _elementwise(np.multiply),
    "addBroadcastable": _elementwise(np.add),
    "multiplyBroadcastable": _elementwise(np.multiply),
    "subtractBroadcastable": _elementwise(np.subtract),
    "divideBroadcastable": _elementwise(np.true_divide),
    "maxBroadcastable": _elementwise(np.maximum),
    "minBroadcastable": _elementwise(np.minimum),
    "innerProduct": _inner_product,
    "batchedMatmul": _batched_matmul,
    "embeddingND": _embedding_nd,
    "loadConstantND": _load_constant_nd,
    "reshapeStatic": _reshape_static,
    "flattenTo2D": lambda l, p, xs: [xs[0].reshape(int(np.prod(xs[0].shape[: p.axis % xs[0].ndim])), -1)],
    "squeeze": _squeeze,
    "expandDims": _expand_dims,
    "transpose": lambda l, p, xs: [np.transpose(xs[0], tuple(p.axes))],
    "concatND": _concat_nd,
    "splitND": _split_nd,
    "gather": _gather,
    "sliceStatic": _slice_static,
}
