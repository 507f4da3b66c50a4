"""Core ML conversion needs fixed input shapes: pin dynamic axes to the dummy-input shape."""

from __future__ import annotations


def pin_input_shapes(model, graph) -> tuple[object, list[str]]:
    """Set every graph input's dims to the recipe's dummy shape; return notes on what was pinned."""
    import onnx

    shapes = {i.name: i.shape for i in graph.inputs}
    notes = []
    for vi in model.graph.input:
        if vi.name not in shapes:
            continue
        dims = vi.type.tensor_type.shape.dim
        for axis, (dim, size) in enumerate(zip(dims, shapes[vi.name], strict=True)):
            if not dim.HasField("dim_value"):
                notes.append(f"input {vi.name!r} axis {axis} ({dim.dim_param or '?'}) is fixed to {size} in Core ML")
                dim.Clear()
                dim.dim_value = size
    if notes:
        # Re-infer so intermediate shapes are concrete too (the lowerings read them).
        for vi in list(model.graph.value_info):
            model.graph.value_info.remove(vi)
        for out in model.graph.output:
            out.type.tensor_type.ClearField("shape")
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    return model, notes
