"""ONNX ``Pad`` with negative pads (a crop; timm's NASNet pads then crops by one pixel) → MIL
``slice_by_index`` for the negative part, then onnx2coreml's own ``Pad`` lowering for the rest.

onnx2coreml (like MIL's ``pad``) refuses negative pads, which ONNX defines as removing that
many elements. Pads without a negative value go straight to onnx2coreml.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np


def lower(ctx, node):
    from coremltools.converters.mil import Builder as mb
    from onnx2coreml._lowering import resolve

    builtin = resolve("Pad")
    x = ctx.values_map[node.input[0]]
    pads = getattr(ctx.values_map.get(node.input[1]) if len(node.input) > 1 else None, "val", None)
    has_axes = len(node.input) > 3 and node.input[3]
    if pads is None or has_axes or not (np.asarray(pads) < 0).any() or x.shape is None:
        return builtin(ctx, node)
    pads = [int(p) for p in np.asarray(pads).ravel()]
    rank = len(pads) // 2
    begins, ends = pads[:rank], pads[rank:]
    shape = [int(d) for d in x.shape]
    name = node.output[0]
    cropped = mb.slice_by_index(x=x, begin=[max(-b, 0) for b in begins],
                                end=[d - max(-e, 0) for d, e in zip(shape, ends)], name=f"{name}__crop")
    rest = [max(p, 0) for p in pads]
    if not any(rest):
        return mb.identity(x=cropped, name=name)
    rest_var = mb.const(val=np.asarray(rest, np.int64), name=f"{name}__pads")
    return builtin(replace(ctx, values_map={**ctx.values_map, node.input[0]: cropped, node.input[1]: rest_var}), node)
