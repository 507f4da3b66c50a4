"""ONNX side: attach each recipe op's FunctionProto and its domain's opset import.

With the model-local function attached, ``onnx.checker`` (full check), strict shape
inference and ONNX Runtime all understand the custom nodes: ONNX Runtime runs a
custom-domain node by expanding its function.
"""

from __future__ import annotations


def attach_functions(model, custom_ops):
    """``model`` with every recipe op's function and opset import (in place; returned)."""
    present = {(f.domain, f.name) for f in model.functions}
    for op in custom_ops:
        function = op.function
        if function.domain != op.domain:
            raise ValueError(f"{op.field('onnx', 'function')}: the function's domain "
                             f"{function.domain!r} differs from onnx.domain {op.domain!r}")
        _check_function_opsets(op, function)
        if (function.domain, function.name) not in present:
            model.functions.append(function)
            present.add((function.domain, function.name))
        _set_opset_import(model, op.domain, op.version)
    _check_nodes_have_functions(model, custom_ops)
    return model


def _set_opset_import(model, domain: str, version: int) -> None:
    for entry in model.opset_import:
        if entry.domain == domain:
            entry.version = version
            return
    entry = model.opset_import.add()
    entry.domain, entry.version = domain, version


def _check_function_opsets(op, function) -> None:
    for entry in function.opset_import:
        if entry.domain in ("", "ai.onnx") and entry.version != op.opset:
            raise ValueError(f"{op.field('onnx', 'function')}: the function imports the default "
                             f"domain at opset {entry.version}, the model at export.opset {op.opset}; "
                             "drop the `<...>` header to use the model's opset")


def _check_nodes_have_functions(model, custom_ops) -> None:
    declared = {(op.domain, op.op_type) for op in custom_ops}
    default = {"", "ai.onnx", "ai.onnx.ml"}
    stray = sorted({f"{n.domain}::{n.op_type}" for n in model.graph.node
                    if n.domain not in default and (n.domain, n.op_type) not in declared})
    if stray:
        raise ValueError(f"custom_ops: the exported graph has custom nodes {stray} that no custom_ops entry declares")
