"""Data-movement ops on bool tensors: through int32, with onnx2coreml's own lowering in the middle.

MIL's ``gather``/``gather_nd``/``gather_elements`` take no bool data (their type domain
is numeric), yet exporters gather masks: Transformers builds padding masks with
``mask[:, idx]`` (ONNX ``Gather`` on bool). The node's bool input becomes int32, the
built-in lowering runs unchanged on it, and the result is cast back to bool. Non-bool
nodes go straight to the built-in lowering.
"""

from __future__ import annotations

from dataclasses import replace


def _through_int32(op_type: str):
    def lower(ctx, node):
        from coremltools.converters.mil import Builder as mb
        from coremltools.converters.mil.mil import types
        from onnx import NodeProto
        from onnx2coreml._lowering import resolve

        builtin = resolve(op_type)
        data = ctx.values_map[node.input[0]]
        if data.dtype != types.bool:
            return builtin(ctx, node)
        as_int = mb.cast(x=data, dtype="int32", name=f"{node.output[0]}__data_int32")
        inner = NodeProto()
        inner.CopyFrom(node)
        inner.output[0] = f"{node.output[0]}__int32"
        result = builtin(replace(ctx, values_map={**ctx.values_map, node.input[0]: as_int}), inner)
        return mb.cast(x=result, dtype="bool", name=node.output[0])

    lower.__name__ = f"lower_{op_type.lower()}"
    return lower


gather = _through_int32("Gather")
gather_elements = _through_int32("GatherElements")
gather_nd = _through_int32("GatherND")
