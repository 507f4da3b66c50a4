"""Custom ops declared in a recipe (``custom_ops``): export, ONNX functions, Core ML mappings.

The stages call only this interface; each job lives in its own module and heavy
libraries (torch, onnx, coremltools) are imported inside functions:

Each op is a :class:`pipeline_runner.recipe.CustomOp`, which holds the parsed ONNX
function (parsed once):

- ``exporting(custom_ops)``: context manager registering the ONNX symbolics
  around ``torch.onnx.export`` (:mod:`.torch_export`).
- ``attach_functions(model, custom_ops)``: add each op's FunctionProto and
  opset import (:mod:`.onnx_functions`).
- ``prepare_for_coreml(model, custom_ops)``: inline the ``inline`` ops and return
  ``(model, {op_key: lowering})`` for onnx2coreml's ``Converter.register``
  (:mod:`.coreml_lowering`).
- ``coreml_reference_layers(custom_ops)``: evaluators of the custom layers for the
  Core ML reference executor (the one function evaluator,
  :func:`pipeline_runner.coreml_reference.nn.custom.layer_from_onnx_function`).
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def exporting(custom_ops):
    if not custom_ops:
        yield
        return
    from pipeline_runner.customops.torch_export import exporting as _exporting

    with _exporting(custom_ops):
        yield


def attach_functions(model, custom_ops):
    if not custom_ops:
        return model
    from pipeline_runner.customops.onnx_functions import attach_functions as _attach

    return _attach(model, custom_ops)


def prepare_for_coreml(model, custom_ops):
    if not custom_ops:
        return model, {}
    from pipeline_runner.customops.coreml_lowering import prepare_for_coreml as _prepare

    return _prepare(model, custom_ops)


def coreml_reference_layers(custom_ops) -> dict:
    """{custom layer class name: callable(inputs, parameters) -> outputs} (NumPy), for ``custom_layer`` ops."""
    if not any(op.is_custom_layer for op in custom_ops):
        return {}
    from pipeline_runner.coreml_reference.nn.custom import layer_from_onnx_function

    return {op.class_name: layer_from_onnx_function(op.function) for op in custom_ops if op.is_custom_layer}
