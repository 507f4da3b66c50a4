"""ONNX ``CumSum(x, axis)`` with ``exclusive``/``reverse`` → MIL ``cumsum`` (same attributes)."""

from __future__ import annotations

import numpy as np


def lower(ctx, node):
    from coremltools.converters.mil import Builder as mb

    x = ctx.values_map[node.input[0]]
    axis = getattr(ctx.values_map[node.input[1]], "val", None)
    if axis is None:
        raise ValueError(f"CumSum node {node.name!r}: the axis must be a constant (Core ML's cumsum takes a fixed axis)")
    attrs = {a.name: a.i for a in node.attribute}
    return mb.cumsum(x=x, axis=int(np.asarray(axis).reshape(())), exclusive=bool(attrs.get("exclusive", 0)),
                     reverse=bool(attrs.get("reverse", 0)), name=node.output[0])
