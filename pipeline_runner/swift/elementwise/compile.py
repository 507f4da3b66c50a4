"""ONNX function body → element-wise IR (:mod:`.ir`).

A ``FunctionProto`` whose body uses only element-wise ops (``SUPPORTED_OPS``) and
scalar constants compiles; anything else raises :class:`UnsupportedBody`. Only
``onnx`` protobuf types are used here; nothing heavy is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline_runner.swift.elementwise.ir import (
    SUPPORTED_OPS,
    Apply,
    Const,
    ElementwiseProgram,
    InputRef,
    IRNode,
    ParamRef,
    UnsupportedBody,
    shortest_float32,
)

if TYPE_CHECKING:  # pragma: no cover
    from onnx import FunctionProto, NodeProto


def _scalar_from_attribute(node: NodeProto) -> float | str:
    """The value of a ``Constant`` node: a float, or the referenced attribute's name."""
    from onnx import numpy_helper

    if len(node.attribute) != 1:
        raise UnsupportedBody(["Constant"], "Constant must have exactly one value attribute")
    attr = node.attribute[0]
    if attr.ref_attr_name:
        if attr.name not in ("value_float", "value_int", "value"):
            raise UnsupportedBody(["Constant"], f"Constant <{attr.name} = @{attr.ref_attr_name}> is not a scalar")
        return attr.ref_attr_name
    if attr.name == "value_float":
        return shortest_float32(attr.f)
    if attr.name == "value_int":
        return float(attr.i)
    if attr.name in ("value_floats", "value_ints"):
        values = list(attr.floats) if attr.name == "value_floats" else list(attr.ints)
        if len(values) == 1:
            return shortest_float32(values[0]) if attr.name == "value_floats" else float(values[0])
    if attr.name == "value":
        array = numpy_helper.to_array(attr.t)
        if array.size == 1 and array.dtype.kind in "fiub":
            value = float(array.reshape(()))
            return shortest_float32(value) if array.dtype.kind == "f" else value
    raise UnsupportedBody(["Constant"], f"Constant <{attr.name}> is not a scalar number")


def _attribute_defaults(function: FunctionProto) -> dict[str, float]:
    defaults: dict[str, float] = {}
    for attr in function.attribute_proto:
        if attr.type == attr.FLOAT:
            defaults[attr.name] = shortest_float32(attr.f)
        elif attr.type == attr.INT:
            defaults[attr.name] = float(attr.i)
    return defaults


def compile_function(function: FunctionProto) -> ElementwiseProgram:
    """Compile an ONNX function body to an :class:`ElementwiseProgram`.

    Raises :class:`UnsupportedBody` (listing the offending op types) when the body
    uses an op outside ``SUPPORTED_OPS``, a non-scalar constant, another domain, or
    has no inputs.
    """
    unsupported = sorted(
        {
            (n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}")
            for n in function.node
            if n.domain not in ("", "ai.onnx") or (n.op_type not in SUPPORTED_OPS and n.op_type != "Constant")
        }
    )
    if unsupported:
        raise UnsupportedBody(unsupported, f"the ONNX body uses {', '.join(unsupported)}")
    if not function.input:
        raise UnsupportedBody([], "the function has no inputs, so the output shape is unknown")

    nodes: list[IRNode] = []
    hints: list[str] = []
    interned: dict[IRNode, int] = {}

    def intern(node: IRNode, hint: str) -> int:
        if node in interned:
            return interned[node]
        interned[node] = len(nodes)
        nodes.append(node)
        hints.append(hint)
        return interned[node]

    env: dict[str, int] = {}
    for i, name in enumerate(function.input):
        env[name] = intern(InputRef(i), name)

    attribute_names = set(function.attribute) | {a.name for a in function.attribute_proto}
    for node in function.node:
        if len(node.output) != 1:
            raise UnsupportedBody([node.op_type], f"{node.op_type} must have exactly one output")
        out = node.output[0]
        if node.op_type == "Constant":
            value = _scalar_from_attribute(node)
            if isinstance(value, str):
                if value not in attribute_names:
                    raise UnsupportedBody([], f"Constant references @{value}, which is not a function attribute")
                env[out] = intern(ParamRef(value), value)
            else:
                env[out] = intern(Const(value), out)
            continue
        arity = SUPPORTED_OPS[node.op_type]
        if len(node.input) != arity or any(name == "" for name in node.input):
            raise UnsupportedBody([node.op_type], f"{node.op_type} expects {arity} input(s), got {len(node.input)}")
        if node.attribute:
            names = ", ".join(a.name for a in node.attribute)
            raise UnsupportedBody([node.op_type], f"{node.op_type} has attributes ({names})")
        missing = [name for name in node.input if name not in env]
        if missing:
            raise UnsupportedBody([], f"{node.op_type} reads undefined value(s) {missing}")
        args = tuple(env[name] for name in node.input)
        env[out] = intern(Apply(node.op_type, args), out)

    missing_outputs = [name for name in function.output if name not in env]
    if missing_outputs:
        raise UnsupportedBody([], f"output(s) {missing_outputs} are never assigned")
    return ElementwiseProgram(
        name=function.name,
        domain=function.domain,
        input_names=tuple(function.input),
        output_names=tuple(function.output),
        nodes=tuple(nodes),
        outputs=tuple(env[name] for name in function.output),
        hints=tuple(hints),
        attribute_defaults=_attribute_defaults(function),
    )
