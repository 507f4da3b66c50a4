"""Run ONNX graph tools without dragging the weights through them.

``onnx.shape_inference.infer_shapes``, ``onnx.checker`` and onnxscript's optimizer serialise or
copy the whole model: a ViT-B/16 is 176 MB each time (~0.9 s per shape inference), a VGG
500 MB. None of them reads a large float weight's values (shape inference and the checker
read only types and shapes, and the folding in ``convert.fold`` skips inputs above its size
limit). ONNX has no "leave the weights out" mode of its own; these are the two smallest ways
to get one (and :func:`copy_model`, the cheap way to copy a model):

- :func:`infer_shapes` (with ``check``, also the checker) and :func:`check_model` work on a light copy in which each
  large float initializer is a graph input of the same type and shape (the weights are never
  copied), and writes what inference found back into the model (ViT-B/16: 0.9 s → 0.01 s;
  VGG's rank rewrite: 16 s → 0.7 s). The checker then does not see those initializers' bytes:
  it checks the graph, not whether an exporter wrote a weight's bytes consistently.
- :func:`weights_aside` is for a tool that must see the model whole (the optimizer): each
  large float initializer keeps its name, type and dims but its bytes are taken out and it is
  marked as external data (ONNX's own "the bytes are elsewhere" form, which these tools leave
  unread); :func:`put_back` returns the bytes to the tool's result (folding: 2.8 → 0.8 s).

Integer tensors are never left out: shape arithmetic (Reshape targets, Gather indices) may be
read by data propagation.
"""

from __future__ import annotations

import contextlib
from math import prod

MIN_ELEMENTS = 4096  # smaller tensors stay: leaving them out would save little
_MARK = "pipeline_runner:weights-set-aside"  # the external-data location of a stub


def _is_big_float(tensor, min_elements: int) -> bool:
    from onnx import TensorProto

    return (tensor.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE)
            and len(tensor.dims) > 0 and prod(tensor.dims) >= min_elements)


def _light(model):
    """A copy of ``model`` whose large float initializers are graph inputs (their bytes not copied)."""
    import onnx
    from onnx import helper

    graph = model.graph
    light = onnx.ModelProto()
    light.ir_version = model.ir_version
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    light.graph.name = graph.name
    for field in ("node", "input", "output", "value_info"):
        getattr(light.graph, field).extend(getattr(graph, field))
    inputs = {i.name for i in graph.input}
    for init in graph.initializer:
        if init.name not in inputs and _is_big_float(init, MIN_ELEMENTS):
            light.graph.input.append(helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
        else:
            light.graph.initializer.append(init)
    return light


def copy_model(model):
    """A deep copy of ``model``: a memory copy (``FromString(SerializeToString())`` also encodes and
    parses every weight, 4x slower)."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return copy


def check_model(model) -> None:
    """``onnx.checker.check_model(model)`` without serialising its weights."""
    import onnx

    onnx.checker.check_model(_light(model))


def infer_shapes(model, check: bool = False, **kwargs):
    """``onnx.shape_inference.infer_shapes(model, **kwargs)`` written into ``model`` itself (its
    ``value_info`` and output types), without copying its weights; returns ``model``. With ``check``,
    ``onnx.checker`` checks the inferred graph too (what its ``full_check`` does)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(_light(model), **kwargs)
    if check:
        onnx.checker.check_model(inferred)
    graph = model.graph
    graph.ClearField("value_info")
    graph.value_info.extend(inferred.graph.value_info)
    graph.ClearField("output")
    graph.output.extend(inferred.graph.output)
    return model


@contextlib.contextmanager
def weights_aside(model, min_elements: int = MIN_ELEMENTS):
    """Within the block, ``model``'s float initializers of at least ``min_elements`` are stubs; yields
    {name: bytes} (what :func:`put_back` needs for a tool's result made inside the block). Restored on exit."""
    from onnx import TensorProto

    saved = {}
    for tensor in model.graph.initializer:
        if (_is_big_float(tensor, min_elements) and tensor.HasField("raw_data")
                and tensor.data_location != TensorProto.EXTERNAL):
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
