"""One recipe ``custom_ops`` entry as a value: its identity, its ONNX function (parsed once), its Core ML mapping.

Every user of a custom op takes this value: the recipe checks, the exporter's
symbolics, the ONNX function attachment, the Core ML lowering, the reference
executor's custom layers and the Swift custom-layer generator. The function text
is parsed with ``onnx.parser`` at most once per text in a process (onnx is imported
only when a function is first needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any


class FunctionParseError(ValueError):
    """The recipe's ONNX function text does not parse."""


@dataclass(frozen=True)
class CustomOp:
    name: str
    index: int  # position in the recipe's custom_ops list (for messages naming the field)
    torch_op: str  # torch.library qualified name, namespace::name
    domain: str
    op_type: str
    version: int  # the custom domain's opset version
    function_source: str  # as written in the recipe
    attributes: dict[str, Any]  # node attribute values the exporter sets
    mapping: str  # custom_layer or inline
    class_name: str | None  # the Core ML custom layer's class (custom_layer)
    parameters: dict[str, Any]  # extra custom-layer parameters
    description: str
    opset: int  # default-domain opset of the function when its header is left out (export.opset)

    @classmethod
    def from_data(cls, op: dict, index: int, opset: int) -> "CustomOp":
        """From one schema-valid ``custom_ops`` entry (defaults applied)."""
        onnx, coreml = op["onnx"], op["coreml"]
        return cls(
            name=op["name"], index=index, torch_op=op["torch"]["op"],
            domain=onnx["domain"], op_type=onnx["op_type"], version=onnx.get("version", 1),
            function_source=onnx["function"], attributes=dict(onnx.get("attributes", {})),
            mapping=coreml["mapping"], class_name=coreml.get("class_name"),
            parameters=dict(coreml.get("parameters", {})), description=coreml.get("description", ""),
            opset=opset,
        )

    @property
    def key(self) -> str:
        """``domain::OpType``: onnx2coreml's registry key for the op's nodes."""
        return f"{self.domain}::{self.op_type}"

    @property
    def is_custom_layer(self) -> bool:
        return self.mapping == "custom_layer"

    def field(self, *path: str) -> str:
        """The recipe path of a part of this entry, e.g. ``custom_ops[0].onnx.function``."""
        return ".".join([f"custom_ops[{self.index}]", *path])

    @property
    def text(self) -> str:
        """The function's text with its header: the recipe may leave out ``<domain: ...>``."""
        return function_text(self.function_source, self.domain, self.opset)

    @property
    def function(self):
        """The parsed ``onnx.FunctionProto`` (a fresh copy; parsed once). Raises FunctionParseError."""
        import onnx

        return onnx.FunctionProto.FromString(_parse(self.text))

    @property
    def declared_attributes(self) -> dict[str, object]:
        """{attribute name: typed default AttributeProto, or None when untyped} the function declares."""
        function = self.function
        declared: dict[str, object] = {name: None for name in function.attribute}
        for proto in function.attribute_proto:
            declared[proto.name] = proto
        return declared


def function_text(source: str, domain: str, opset: int) -> str:
    text = source.strip()
    if text.startswith("<"):
        return text
    return f'<domain: "{domain}", opset_import: ["": {opset}]>\n{text}'


@lru_cache(maxsize=64)
def _parse(text: str) -> bytes:
    import onnx.parser

    try:
        return onnx.parser.parse_function(text).SerializeToString()
    except Exception as exc:  # onnx's parser raises its own bare ParseError type
        raise FunctionParseError(str(exc).strip()) from exc
