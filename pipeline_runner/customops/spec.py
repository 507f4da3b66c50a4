"""One recipe ``custom_ops`` entry, read: its ONNX function, op key and attribute values.

Everything here is derived from the recipe alone; errors name the recipe field
(``custom_ops[i].onnx.attributes.alpha``) so a user knows what to change.
"""

from __future__ import annotations

from functools import lru_cache


def field(ops: list[dict], op: dict, *path: str) -> str:
    """``custom_ops[i].a.b`` for ``op`` (the i-th entry of ``ops``)."""
    return ".".join([f"custom_ops[{ops.index(op)}]", *path])


def op_key(op: dict) -> str:
    """onnx2coreml's registry key for the op's nodes: ``domain::OpType``."""
    return f"{op['onnx']['domain']}::{op['onnx']['op_type']}"


def parse_function(op: dict, opset: int):
    """The op's FunctionProto (domain header added when the recipe leaves it out)."""
    import onnx

    return onnx.FunctionProto.FromString(_parse_cached(_text(op, opset)))


@lru_cache(maxsize=64)
def _parse_cached(text: str) -> bytes:
    import onnx.parser

    return onnx.parser.parse_function(text).SerializeToString()


def _text(op: dict, opset: int) -> str:
    from pipeline_runner.recipe.checks import function_text

    return function_text(op["onnx"], opset)


def declared_attributes(function) -> dict[str, object]:
    """{attribute name: typed default AttributeProto or None} the function declares."""
    declared: dict[str, object] = {name: None for name in function.attribute}
    for proto in function.attribute_proto:
        declared[proto.name] = proto
    return declared


def attribute_value(value, declared_default):
    """``value`` converted to the type the function declares for it (an int for a float attribute)."""
    import onnx

    if declared_default is None:
        return value
    if declared_default.type == onnx.AttributeProto.FLOAT and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if declared_default.type == onnx.AttributeProto.FLOATS and isinstance(value, list):
        return [float(v) for v in value]
    return value
