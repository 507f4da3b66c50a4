"""ONNX ``Where`` whose condition is larger than both branches (e.g. a [1, 1, T, T] mask choosing between two scalars).

coremltools' MIL ``select`` infers its output type from ``a`` and ``b`` only, so
``select(cond[1,1,T,T], 0.0, -inf)`` is declared a scalar although it computes the
broadcast [1, 1, T, T] (Transformers' attention masks are built this way). The
branch ``a`` is widened to the broadcast shape first (a constant: broadcast in
NumPy; computed: plus a zero tensor of that shape), then onnx2coreml's own lowering
runs. Other ``Where`` nodes go straight to onnx2coreml.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np


def lower(ctx, node):
    from coremltools.converters.mil import Builder as mb
    from onnx2coreml._lowering import resolve

    builtin = resolve("Where")
    cond, a, b = (ctx.values_map[name] for name in node.input)
    shapes = [tuple(v.shape) for v in (cond, a, b)]
    if any(not all(isinstance(d, int) for d in s) for s in shapes):
        return builtin(ctx, node)
    full = np.broadcast_shapes(*shapes)
    if np.broadcast_shapes(shapes[1], shapes[2]) == full:
        return builtin(ctx, node)
    if a.val is not None:
        wide = mb.const(val=np.broadcast_to(np.asarray(a.val), full).copy(), name=f"{node.output[0]}__a")
    else:
        zeros = mb.fill(shape=np.asarray(full, np.int32), value=0.0, name=f"{node.output[0]}__zeros")
        zeros = mb.cast(x=zeros, dtype=_dtype_name(a), name=f"{node.output[0]}__zeros_cast")
        wide = mb.add(x=a, y=zeros, name=f"{node.output[0]}__a")
    return builtin(replace(ctx, values_map={**ctx.values_map, node.input[1]: wide}), node)


def _dtype_name(var) -> str:
    from coremltools.converters.mil.mil import types

    return types.builtin_to_string(var.dtype)
