"""ONNX ``Resize`` with ``mode: cubic`` (PyTorch's bicubic ``F.interpolate``, e.g. timm's CrossViT)
→ two MIL ``matmul``s with constant interpolation matrices.

Core ML has no bicubic resize (onnx2coreml lowers nearest and linear only). With static
shapes a separable resize is linear in its input, one matrix per resized axis:
``y = A_h · x · A_wᵀ``. Each matrix is computed by the ONNX reference implementation
(``onnx.reference``) resizing an identity, so every attribute (coordinate transformation,
``cubic_coeff_a``, ``exclude_outside``, scales or sizes) means exactly what ONNX says.
Other modes go to onnx2coreml's own lowering.
"""

from __future__ import annotations

import numpy as np


def lower(ctx, node):
    from coremltools.converters.mil import Builder as mb
    from onnx2coreml._lowering import resolve

    attrs = {a.name: a for a in node.attribute}
    mode = attrs["mode"].s.decode() if "mode" in attrs else "nearest"
    x = ctx.values_map[node.input[0]]
    if mode != "cubic" or x.rank != 4:
        return resolve("Resize")(ctx, node)
    scales, sizes = (_const(ctx, node, i) for i in (2, 3))
    shape = [int(d) for d in x.shape]
    out = [int(v) for v in sizes] if sizes is not None else (
        [int(np.floor(d * s)) for d, s in zip(shape, scales)] if scales is not None else None)
    if out is None or "axes" in attrs or out[:2] != shape[:2]:
        raise ValueError(f"Resize node {node.name!r}: cubic resize is lowered for the last two axes of a "
                         "rank-4 input with constant scales or sizes")
    name, y = node.output[0], x
    dtype = np.float16 if "16" in str(x.dtype) else np.float32
    for axis in (2, 3):
        if out[axis] == shape[axis] and (scales is None or scales[axis] == 1):
            continue
        matrix = _interpolation_matrix(node, shape[axis], out[axis],
                                       None if scales is None else float(scales[axis]))  # [out, in]
        if axis == 2:
            y = mb.matmul(x=mb.const(val=matrix.astype(dtype), name=f"{name}__rows"), y=y, name=f"{name}__h")
        else:
            y = mb.matmul(x=y, y=mb.const(val=matrix.T.astype(dtype), name=f"{name}__cols"), name=f"{name}__w")
    return mb.identity(x=y, name=name)


def _const(ctx, node, index: int):
    if len(node.input) <= index or not node.input[index]:
        return None
    value = getattr(ctx.values_map.get(node.input[index]), "val", None)
    if value is None:
        return None
    value = np.asarray(value).ravel()
    return value if value.size else None


def _interpolation_matrix(node, size_in: int, size_out: int, scale: float | None) -> np.ndarray:
    """[size_out, size_in]: the node's resize (its own attributes) of an identity along one axis."""
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    kept = [a for a in node.attribute if a.name in ("mode", "coordinate_transformation_mode", "cubic_coeff_a",
                                                    "exclude_outside", "antialias")]
    inputs = ["x", "", "scales"] if scale is not None else ["x", "", "", "sizes"]
    one = helper.make_node("Resize", inputs, ["y"])
    one.attribute.extend(kept)
    inits = ([helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, scale, 1])] if scale is not None else
             [helper.make_tensor("sizes", TensorProto.INT64, [4], [1, 1, size_out, size_in])])
    graph = helper.make_graph([one], "axis", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    eye = np.eye(size_in, dtype=np.float32)[None, None]
    return np.asarray(ReferenceEvaluator(model).run(None, {"x": eye})[0][0, 0], np.float32)
