"""Corrections to torch.onnx's TorchScript-exporter symbolics, registered only while a graph exports.

- ``aten::im2col`` (``F.unfold`` / ``nn.Unfold``: timm's TNT, VOLO): torch writes it as two
  Gathers whose result has rank 6, which Core ML cannot hold (tensors have rank ≤ 5). The
  same columns come from a grouped Conv with a one-hot kernel — output channel
  ``(c, i, j)`` copies input channel ``c`` at kernel offset ``(i, j)`` — reshaped to
  ``[N, C·kh·kw, L]``: rank 4 at most, and exact in fp16 (one non-zero term per output).
- ``aten::rms_norm`` (``nn.RMSNorm``; timm's Gemma ViT): ONNX has ``RMSNormalization`` only
  from opset 23 and torch writes nothing below it; ours is the formula in basic ops.
- ``aten::col2im`` (``F.fold``, opset 18): torch's symbolic reads the number of spatial axes
  from ``output_size``'s static type, which a traced ``(H, W)`` taken from ``x.shape`` lacks
  ("'NoneType' object is not subscriptable"); ours counts the kernel's axes. It also writes
  ``pads`` as ONNX orders them (all begins, then all ends; torch repeats each axis's pad,
  wrong when they differ). Core ML: ``convert/lowerings/col2im.py``.
"""

from __future__ import annotations

import contextlib

COL2IM_SINCE = 18
IM2COL_SINCE = 11
RMS_NORM_BELOW = 23  # ONNX has RMSNormalization from opset 23; torch writes nothing below it


def _im2col(g, input, kernel_size, dilation, padding, stride):
    import numpy as np
    import torch
    from torch.onnx._internal.torchscript_exporter import symbolic_helper, symbolic_opset11

    sizes = symbolic_helper._get_tensor_sizes(input)
    dtype = symbolic_helper._try_get_scalar_type(input)
    if not sizes or len(sizes) != 4 or not isinstance(sizes[1], int) or dtype is None \
            or dtype.scalar_name() != "Float":
        # channels unknown (or not fp32): torch's own (rank-6) form
        return symbolic_opset11.im2col.__wrapped__(g, input, kernel_size, dilation, padding, stride)
    channels, (kh, kw) = sizes[1], kernel_size
    weight = np.zeros((channels * kh * kw, 1, kh, kw), np.float32)
    for offset, (i, j) in enumerate(np.ndindex(kh, kw)):
        weight[np.arange(channels) * kh * kw + offset, 0, i, j] = 1.0
    cols = g.op("Conv", input, g.op("Constant", value_t=torch.from_numpy(weight)), group_i=channels,
                kernel_shape_i=[kh, kw], dilations_i=list(dilation), strides_i=list(stride),
                pads_i=[padding[0], padding[1], padding[0], padding[1]])
    shape = g.op("Constant", value_t=torch.tensor([0, channels * kh * kw, -1], dtype=torch.int64))
    return g.op("Reshape", cols, shape)


def _rms_norm(g, input, normalized_shape, weight, eps):
    """x / sqrt(mean(x², last axes) + eps) · weight, in opset-13+ ops (``nn.RMSNorm``, timm's Gemma ViT)."""
    import torch
    from torch.onnx._internal.torchscript_exporter import symbolic_helper

    axes = list(range(-len(normalized_shape), 0))
    eps = symbolic_helper._maybe_get_const(eps, "f")
    if eps is None or symbolic_helper._is_value(eps):
        eps = torch.finfo(torch.float32).eps  # torch's default for fp32
    square = g.op("Mul", input, input)
    if g.opset >= 18:
        mean = g.op("ReduceMean", square, g.op("Constant", value_t=torch.tensor(axes, dtype=torch.int64)),
                    keepdims_i=1)
    else:
        mean = g.op("ReduceMean", square, axes_i=axes, keepdims_i=1)
    denom = g.op("Sqrt", g.op("Add", mean, g.op("Constant", value_t=torch.tensor(float(eps), dtype=torch.float32))))
    out = g.op("Div", input, denom)
    if not symbolic_helper._is_none(weight):
        out = g.op("Mul", out, weight)
    return out


def _col2im(g, input, output_size, kernel_size, dilation, padding, stride):
    from torch.onnx._internal.torchscript_exporter import symbolic_helper

    kernel = symbolic_helper._maybe_get_const(kernel_size, "is")
    axes = len(kernel) if isinstance(kernel, (list, tuple)) else len(padding or dilation or stride)
    pads = list(padding or [0] * axes) * 2  # ONNX: all begins, then all ends (torch repeats each: wrong if unequal)
    size = output_size
    if symbolic_helper._is_packed_list(output_size):  # a traced (H, W): a 1-D int64 tensor
        parts = [g.op("Cast", symbolic_helper._unsqueeze_helper(g, v, [0]), to_i=7)  # 7: INT64
                 for v in symbolic_helper._unpack_list(output_size)]
        size = g.op("Concat", *parts, axis_i=0)
    return g.op("Col2Im", input, size, kernel_size, dilations_i=list(dilation or [1] * axes), pads_i=pads,
                strides_i=list(stride or [1] * axes))


@contextlib.contextmanager
def torchscript_symbolic_fixes(opset: int, dynamo: bool):
    """Our corrected symbolics registered for ``opset`` for the block (TorchScript exporter only)."""
    if dynamo:
        yield
        return
    import torch
    from torch.onnx._internal.torchscript_exporter import symbolic_helper

    fixes = {}
    if opset >= IM2COL_SINCE:
        fixes["aten::im2col"] = symbolic_helper.parse_args("v", "is", "is", "is", "is")(_im2col)
    if opset < RMS_NORM_BELOW:
        fixes["aten::rms_norm"] = symbolic_helper.parse_args("v", "is", "v", "v")(_rms_norm)
    if opset >= COL2IM_SINCE:
        fixes["aten::col2im"] = symbolic_helper.parse_args("v", "v", "v", "is", "is", "is")(_col2im)
    for name, fn in fixes.items():
        torch.onnx.register_custom_op_symbolic(name, fn, opset)
    try:
        yield
    finally:
        for name in fixes:
            torch.onnx.unregister_custom_op_symbolic(name, opset)
