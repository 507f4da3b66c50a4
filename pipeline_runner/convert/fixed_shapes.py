"""onnx2coreml lowers static shapes only: pin every graph input to one concrete shape before lowering."""

from __future__ import annotations


def pin_input_shapes(model, shapes: dict[str, tuple[int, ...]]):
    """A copy of ONNX ``model`` whose inputs have exactly ``shapes`` (name → dims), intermediates re-inferred.

    A dim the ONNX graph fixes to another size cannot be re-pinned: that is a ValueError naming the
    input and axis (declare the axis in ``dynamic_axes`` so the export keeps it symbolic).
    """
    from pipeline_runner.onnx_weights import copy_model, infer_shapes

    model = copy_model(model)
    changed = False
    for vi in model.graph.input:
        if vi.name not in shapes:
            continue
        dims = vi.type.tensor_type.shape.dim
        for axis, (dim, size) in enumerate(zip(dims, shapes[vi.name], strict=True)):
            if dim.HasField("dim_value"):
                if dim.dim_value != size:
                    raise ValueError(f"input {vi.name!r} axis {axis} is {dim.dim_value} in the ONNX graph, so Core ML "
                                     f"cannot take {size} there; add the axis to inputs[].dynamic_axes")
                continue
            dim.Clear()
            dim.dim_value = size
            changed = True
    if changed:
        # Re-infer so intermediate shapes are concrete too (the lowerings read them).
        for vi in list(model.graph.value_info):
            model.graph.value_info.remove(vi)
        for out in model.graph.output:
            out.type.tensor_type.ClearField("shape")
        infer_shapes(model, data_prop=True)
    return model
