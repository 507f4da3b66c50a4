"""NeuralNetwork activation, normalisation, convolution and pooling layers.

Legacy (rank-5 era) layers act on the last three dims, [C, H, W], of their input.
"""

from __future__ import annotations

import numpy as np

from ..errors import CoreMLReferenceError
from ..ops._util import from_torch, norm_axis, to_torch, torch
from ..ops.activation import softmax
from ..ops.elementwise import erf
from .weights import weights


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _activation(layer, p, xs):
    x = xs[0]
    kind = p.WhichOneof("NonlinearityType")
    a = getattr(p, kind)
    with np.errstate(all="ignore"):
        if kind == "ReLU":
            return [np.maximum(x, 0)]
        if kind == "leakyReLU":
            return [np.where(x >= 0, x, a.alpha * x)]
        if kind == "tanh":
            return [np.tanh(x)]
        if kind == "scaledTanh":
            return [a.alpha * np.tanh(a.beta * x)]
        if kind == "sigmoid":
            return [_sigmoid(x)]
        if kind == "sigmoidHard":
            return [np.clip(a.alpha * x + a.beta, 0, 1)]
        if kind == "linear":
            return [a.alpha * x + a.beta]
        if kind == "ELU":
            return [np.where(x > 0, x, a.alpha * np.expm1(x))]
        if kind == "softsign":
            return [x / (1 + np.abs(x))]
        if kind == "softplus":
            return [np.logaddexp(0, x)]
        if kind == "thresholdedReLU":
            return [np.where(x >= a.alpha, x, 0)]
        if kind == "PReLU":
            alpha = weights(a.alpha).reshape(-1, 1, 1)
            return [np.where(x >= 0, x, alpha * x)]
        if kind == "parametricSoftplus":  # per-channel alpha * log(1 + exp(beta * x))
            alpha, beta = weights(a.alpha).reshape(-1, 1, 1), weights(a.beta).reshape(-1, 1, 1)
            return [alpha * np.logaddexp(0, beta * x)]
    raise CoreMLReferenceError(f"activation layer {layer.name!r}: non-linearity {kind!r} is not supported")


def _gelu(layer, p, xs):
    x = xs[0]
    if p.mode == 0:  # EXACT
        return [0.5 * x * (1 + erf(x / np.sqrt(2.0)))]
    if p.mode == 1:  # TANH_APPROXIMATION
        return [0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))]
    return [x * _sigmoid(1.702 * x)]


def _mvn(layer, p, xs):
    x = xs[0]
    axes = (-3, -2, -1) if p.acrossChannels else (-2, -1)
    y = x - np.mean(x, axis=axes, keepdims=True)
    if p.normalizeVariance:
        y = y / np.sqrt(np.mean(y * y, axis=axes, keepdims=True) + p.epsilon)
    return [y]


def _chw(v, shape):
    """A scale/bias of shape [1], [C], [C,1,1] or [C,H,W] aligned to the last three dims."""
    shape = tuple(shape)
    return v.reshape(shape + (1, 1) if len(shape) == 1 and shape[0] != 1 else shape)


def _scale(layer, p, xs):
    y = xs[0] * _chw(weights(p.scale), p.shapeScale)
    if p.hasBias:
        y = y + _chw(weights(p.bias), p.shapeBias)
    return [y]


def _layer_norm(layer, p, xs):
    x = xs[0]
    axes = tuple(range(-len(p.normalizedShape), 0))
    y = x - np.mean(x, axis=axes, keepdims=True)
    y = y / np.sqrt(np.mean(y * y, axis=axes, keepdims=True) + p.eps)
    return [y * weights(p.gamma, tuple(p.normalizedShape)) + weights(p.beta, tuple(p.normalizedShape))]


def _batchnorm(layer, p, xs):
    x = xs[0]
    c = (-1, 1, 1)
    if p.computeMeanVar:
        axes = (-2, -1) if p.instanceNormalization else tuple(i for i in range(x.ndim) if i != x.ndim - 3)
        mean, var = np.mean(x, axis=axes, keepdims=True), np.var(x, axis=axes, keepdims=True)
    else:
        mean, var = weights(p.mean).reshape(c), weights(p.variance).reshape(c)
    return [(x - mean) / np.sqrt(var + p.epsilon) * weights(p.gamma).reshape(c) + weights(p.beta).reshape(c)]


def _unary(layer, p, xs):
    x = xs[0] * (p.scale if p.scale != 0 else 1.0) + p.shift
    t = p.type  # SQRT, RSQRT, INVERSE, POWER, EXP, LOG, ABS, THRESHOLD
    with np.errstate(all="ignore"):
        fns = [np.sqrt, lambda v: 1 / np.sqrt(v + p.epsilon), lambda v: 1 / (v + p.epsilon),
               lambda v: np.power(v, p.alpha), np.exp, lambda v: np.log(v + p.epsilon), np.abs,
               lambda v: np.maximum(v, p.alpha)]
        return [fns[t](x)]


def _conv_pads(p, in_hw, kernel, strides, dilations):
    if p.WhichOneof("ConvolutionPaddingType") == "same":
        from ..ops.conv import same_padding

        return same_padding(in_hw, kernel, strides, dilations, p.same.asymmetryMode == 1)
    edges = p.valid.paddingAmounts.borderAmounts
    return [v for e in edges for v in (e.startEdgeSize, e.endEdgeSize)] or [0, 0, 0, 0]


def _conv(layer, p, xs):
    x = xs[0]
    lead = x.shape[:-3]
    xt = to_torch(x.reshape((-1,) + x.shape[-3:]))
    kh, kw = p.kernelSize or (3, 3)
    sh, sw = p.stride or (1, 1)
    dh, dw = p.dilationFactor or (1, 1)
    groups = p.nGroups or 1
    F = torch().nn.functional
    b = to_torch(weights(p.bias)) if p.hasBias else None
    with torch().no_grad():
        if p.isDeconvolution:
            y = from_torch(F.conv_transpose2d(xt, to_torch(weights(p.weights, (p.kernelChannels, -1, kh, kw))), b,
                                              (sh, sw), 0, 0, groups, (dh, dw)))
            y = _deconv_crop(p, y, b)
        else:
            pads = _conv_pads(p, x.shape[-2:], (kh, kw), (sh, sw), (dh, dw))
            xt = F.pad(xt, [pads[2], pads[3], pads[0], pads[1]])
            w = to_torch(weights(p.weights, (p.outputChannels, p.kernelChannels, kh, kw)))
            y = from_torch(F.conv2d(xt, w, b, (sh, sw), 0, (dh, dw), groups))
    return [y.reshape(lead + y.shape[1:])]


def _deconv_crop(p, full, bias):
    """Crops the full transposed-conv result by the padding; positions past it (outputShape
    larger than the full result) hold only the bias, as in ONNX/PyTorch output_padding."""
    edges = p.valid.paddingAmounts.borderAmounts if p.WhichOneof("ConvolutionPaddingType") == "valid" else []
    pads = [v for e in edges for v in (e.startEdgeSize, e.endEdgeSize)] or [0, 0, 0, 0]
    h, w = full.shape[-2:]
    th, tw = tuple(p.outputShape) if len(p.outputShape) else (h - pads[0] - pads[1], w - pads[2] - pads[3])
    out = np.zeros(full.shape[:2] + (th, tw), np.float32)
    if bias is not None:
        out += from_torch(bias).reshape(1, -1, 1, 1)
    hh, ww = min(th, h - pads[0]), min(tw, w - pads[2])
    out[:, :, :hh, :ww] = full[:, :, pads[0] : pads[0] + hh, pads[2] : pads[2] + ww]
    return out


def _pooling(layer, p, xs):
    x = xs[0]
    lead = x.shape[:-3]
    xt = to_torch(x.reshape((-1,) + x.shape[-3:]))
    F = torch().nn.functional
    kind = p.type  # MAX=0, AVERAGE=1, L2=2
    with torch().no_grad():
        if p.globalPooling:
            y = xt.amax((-2, -1), keepdim=True) if kind == 0 else xt.mean((-2, -1), keepdim=True)
        else:
            k, s = tuple(p.kernelSize), tuple(p.stride)
            padding = p.WhichOneof("PoolingPaddingType")
            ceil = padding == "includeLastPixel"  # symmetric padding, ceil-mode output size
            if padding == "same":
                from ..ops.conv import same_padding

                pads = same_padding(x.shape[-2:], k, s, (1, 1), p.same.asymmetryMode == 1)
            elif ceil:
                ph, pw = tuple(p.includeLastPixel.paddingAmounts) or (0, 0)
                pads = [ph, ph, pw, pw]
            else:
                edges = p.valid.paddingAmounts.borderAmounts
                pads = [v for e in edges for v in (e.startEdgeSize, e.endEdgeSize)] or [0, 0, 0, 0]
            flat = [pads[2], pads[3], pads[0], pads[1]]
            if kind == 0:
                y = F.max_pool2d(F.pad(xt, flat, value=-np.inf), k, s, ceil_mode=ceil)
            else:
                sums = F.avg_pool2d(F.pad(xt, flat), k, s, ceil_mode=ceil, divisor_override=1)
                ones = torch().ones((1, 1) + tuple(x.shape[-2:]))
                count = (F.avg_pool2d(F.pad(ones, flat), k, s, ceil_mode=ceil, divisor_override=1)
                         if p.avgPoolExcludePadding else float(np.prod(k)))
                y = sums / count
    y = from_torch(y)
    return [y.reshape(lead + y.shape[1:])]


REGISTRY = {
    "activation": _activation,
    "gelu": _gelu,
    "softmaxND": lambda l, p, xs: [softmax(xs[0], norm_axis(p.axis, xs[0].ndim))],
    "softmax": lambda l, p, xs: [softmax(xs[0], xs[0].ndim - 3)],
    "mvn": _mvn,
    "scale": _scale,
    "layerNormalization": _layer_norm,
    "batchnorm": _batchnorm,
    "unary": _unary,
    "clip": lambda l, p, xs: [np.clip(xs[0], p.minVal, p.maxVal)],
    "erf": lambda l, p, xs: [erf(xs[0])],
    "convolution": _conv,
    "pooling": _pooling,
}
