"""Custom ops declared in a recipe: ONNX export hooks and Core ML mappings.

Interface used by the export and convert stages (filled in by the custom-op work):
- ``exporting(custom_ops, opset)``: context manager that registers the ONNX symbolics.
- ``attach_functions(model, custom_ops, opset)``: add each op's FunctionProto and opset import.
- ``prepare_for_coreml(model, custom_ops)``: (model, {op_key: lowering}) for onnx2coreml.
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def exporting(custom_ops: list[dict], opset: int):
    if custom_ops:
        raise NotImplementedError("custom ops are not wired yet")
    yield


def attach_functions(model, custom_ops: list[dict], opset: int):
    return model


def prepare_for_coreml(model, custom_ops: list[dict]):
    return model, {}


def coreml_reference_layers(custom_ops: list[dict], opset: int) -> dict:
    """{custom layer class name: NumPy evaluator} for the Core ML reference executor."""
    return {}
