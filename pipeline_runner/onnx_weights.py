"""Run ONNX graph tools without dragging the weights through them.

``onnx.shape_inference.infer_shapes`` and onnxscript's optimizer serialise or copy the
whole model: for a ViT-B/16 that is 176 MB each time, ~0.9 s per
shape inference. None of them reads a large float weight's values (shape inference reads
only types and shapes, and the folding in ``convert.fold`` skips inputs above its size
limit), so the weights are set aside first: each float initializer above
``MIN_ELEMENTS`` keeps its name, type and dims but its bytes are taken out and it is
marked as external data (ONNX's own "the bytes are elsewhere" form, which these tools
leave unread), and the bytes are put back afterwards (ViT-B/16: shape inference 0.9 s →
0.003 s). ONNX has no such mode of its own; this is the smallest way to get one.

Integer tensors are never set aside: shape arithmetic (Reshape targets, Gather indices)
may be read by data propagation.
"""

from __future__ import annotations

import contextlib

MIN_ELEMENTS = 1 << 16  # smaller tensors stay: setting them aside would save little
_MARK = "pipeline_runner:weights-set-aside"  # the external-data location of a stub


def _is_big_float(tensor, min_elements: int) -> bool:
    from onnx import TensorProto

    if tensor.data_type not in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE):
        return False
    if not tensor.HasField("raw_data") or tensor.data_location == TensorProto.EXTERNAL:
        return False
    count = 1
    for d in tensor.dims:
        count *= d
    return count >= min_elements


@contextlib.contextmanager
def weights_aside(model, min_elements: int = MIN_ELEMENTS):
    """Within the block, ``model``'s float initializers of at least ``min_elements`` are stubs; yields
    {name: bytes} (what :func:`put_back` needs for a copy made inside the block). Restored on exit."""
    from onnx import TensorProto

    saved = {}
    for tensor in model.graph.initializer:
        if _is_big_float(tensor, min_elements):
            saved[tensor.name] = tensor.raw_data
            tensor.ClearField("raw_data")
            tensor.data_location = TensorProto.EXTERNAL
            entry = tensor.external_data.add()
            entry.key, entry.value = "location", _MARK
    try:
        yield saved
    finally:
        put_back(model, saved)


def put_back(model, saved: dict) -> None:
    """Give ``model``'s stubs (from :func:`weights_aside`) their bytes back. A stub left without bytes
    means a tool made a new tensor from a stub: a RuntimeError, since the result would be wrong."""
    from onnx import TensorProto

    for tensor in model.graph.initializer:
        if tensor.data_location == TensorProto.EXTERNAL and any(e.value == _MARK for e in tensor.external_data):
            if tensor.name not in saved:
                raise RuntimeError(f"initializer {tensor.name!r} was derived from a weight set aside")
            del tensor.external_data[:]
            tensor.ClearField("data_location")
            tensor.raw_data = saved[tensor.name]


def infer_shapes(model, **kwargs):
    """``onnx.shape_inference.infer_shapes(model, **kwargs)`` with the weights set aside: a new model
    (with its weights); ``model`` is left as it was."""
    import onnx

    with weights_aside(model) as saved:
        inferred = onnx.shape_inference.infer_shapes(model, **kwargs)
    put_back(inferred, saved)
    return inferred

