"""ONNX ``Range(start, limit, delta)`` → MIL ``range_1d`` (a constant when all three are known).

onnx2coreml 1.1 has no Range lowering at all. After folding (:mod:`..fold`) a Range
whose bounds come from pinned shapes is already a constant; what is left here has a
bound computed at run time (e.g. from an input's values).
"""

from __future__ import annotations

import numpy as np


def lower(ctx, node):
    from coremltools.converters.mil import Builder as mb

    start, limit, delta = (ctx.values_map[name] for name in node.input)
    values = [getattr(v, "val", None) for v in (start, limit, delta)]
    if all(v is not None for v in values):
        first, end, step = (np.asarray(v).reshape(()) for v in values)
        return mb.const(val=np.arange(first, end, step).astype(first.dtype), name=node.output[0])
    start, limit, delta = (_scalar(mb, v, node.output[0], i) for i, v in enumerate((start, limit, delta)))
    return mb.range_1d(start=start, end=limit, step=delta, name=node.output[0])


def _scalar(mb, var, name: str, i: int):
    """range_1d takes rank-0 operands; a [1]-shaped bound (allowed by some exporters) is squeezed."""
    if var.rank == 0:
        return var
    return mb.squeeze(x=var, name=f"{name}__bound{i}")
