"""ONNX ``Col2Im`` (opset 18; PyTorch's ``F.fold``, e.g. timm's VOLO) → MIL ``conv_transpose``.

MIL has no col2im. Summing every column back into its block of the image is a grouped
transposed convolution whose kernel is one-hot: column row ``(c, i, j)`` adds its values
at kernel offset ``(i, j)`` of output channel ``c``. Strides, dilations and pads carry
over unchanged; ``output_shape`` pins the image size when the blocks do not cover it
exactly. One-hot weights are exact in fp16.
"""

from __future__ import annotations

import numpy as np


def lower(ctx, node):
    from coremltools.converters.mil import Builder as mb

    x = ctx.values_map[node.input[0]]
    image, block = (getattr(ctx.values_map[name], "val", None) for name in node.input[1:3])
    if image is None or block is None or x.shape is None or not all(isinstance(d, int) for d in x.shape):
        raise ValueError(f"Col2Im node {node.name!r}: image_shape, block_shape and the input's shape must be known "
                         "when converting (Core ML's conv_transpose takes fixed sizes)")
    image, block = [int(v) for v in np.asarray(image).ravel()], [int(v) for v in np.asarray(block).ravel()]
    nd = len(block)
    attrs = {a.name: list(a.ints) for a in node.attribute}
    dilations = attrs.get("dilations") or [1] * nd
    strides = attrs.get("strides") or [1] * nd
    pads = attrs.get("pads") or [0] * (2 * nd)
    n, rows, length = x.shape
    per_block = int(np.prod(block))
    channels = rows // per_block
    grid = [(size + pads[i] + pads[i + nd] - dilations[i] * (block[i] - 1) - 1) // strides[i] + 1
            for i, size in enumerate(image)]
    if int(np.prod(grid)) != length:
        raise ValueError(f"Col2Im node {node.name!r}: {length} columns do not tile an image of {image} "
                         f"with blocks {block}, strides {strides}, pads {pads}")
    weight = np.zeros((rows, 1, *block), np.float32)  # [C*prod(block), C_out/groups = 1, *block]
    for offset, index in enumerate(np.ndindex(*block)):
        weight[(np.arange(channels) * per_block + offset, 0, *index)] = 1.0
    name = node.output[0]
    blocks = mb.reshape(x=x, shape=[n, rows, *grid], name=f"{name}__blocks")
    mil_pad = [p for i in range(nd) for p in (pads[i], pads[i + nd])]  # MIL: [begin0, end0, begin1, end1, ...]
    return mb.conv_transpose(x=blocks, weight=mb.const(val=weight.astype(_np_dtype(x)), name=f"{name}__onehot"),
                             pad_type="custom", pad=mil_pad, output_shape=[n, channels, *image],
                             strides=strides, dilations=dilations, groups=channels, name=name)


def _np_dtype(var):
    from coremltools.converters.mil.mil import types

    return types.nptype_from_builtin(var.dtype)
