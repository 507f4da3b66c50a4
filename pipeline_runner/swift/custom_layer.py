"""Swift ``MLCustomLayer`` classes generated from a custom op's ONNX function body.

``generate_custom_layer`` takes a custom op's parsed ONNX function, compiles the body
with :mod:`pipeline_runner.swift.elementwise` and renders one Swift file holding:

* a typed error enum ``<ClassName>Error``;
* ``@objc(<ClassName>) final class <ClassName>: NSObject, MLCustomLayer`` whose CPU
  ``evaluate`` loops over Float32/Float16 memory and whose GPU ``encode`` dispatches a
  Metal kernel generated from the same IR.

Bodies outside the element-wise subset produce a stub whose ``evaluate``/``encode``
throw, with ``needs_hand_written=True``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pipeline_runner.swift import elementwise as ew
from pipeline_runner.swift import layer_kernels as kernels
from pipeline_runner.swift.render import doc_comment, render, swift_string_literal

# Swift types of layer parameters, in the order their readers appear in the generated class.
_PARAMETER_TYPES = ("Float", "Int", "Bool", "String")


@dataclass(frozen=True)
class GeneratedCustomLayer:
    filename: str  # "<ClassName>.swift"
    source: str
    needs_hand_written: bool
    reason: str | None  # why the layer must be written by hand (None when generated)
    metal_filename: str | None = None  # "<ClassName>Kernel.metal", for Xcode to compile (None for a stub)
    metal_source: str | None = None


@dataclass(frozen=True)
class _Parameter:
    key: str  # name in the Core ML layer's parameter dictionary
    ident: str  # Swift identifier
    swift_type: str  # Float, Int, Bool or String
    default: object  # Python default, or None when required
    used_by_body: bool


_SWIFT_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def generate_custom_layer(
    function, class_name: str, parameters: dict, description: str, deployment_target: str = "13"
) -> GeneratedCustomLayer:
    """Generate ``<class_name>.swift`` for a Core ML custom layer from an ONNX ``FunctionProto``
    (``CustomOp.function``: the recipe's function, parsed once).

    ``parameters`` maps layer parameter names to typed defaults (float, int, bool or
    str). Function attributes the body references (``Constant <value_float: float =
    @alpha>``) become ``Float`` parameters; their default comes from ``parameters``,
    else from the function's attribute default, else the parameter is required.

    ``deployment_target`` (the recipe's ``ios.deployment_target``) decides whether the CPU loop
    may use ``withUnsafeBufferPointer(ofType:)`` alone (iOS 15.4+) or also needs the
    ``dataPointer`` path for older systems, behind ``#available``. The Metal kernel is also
    returned as a ``.metal`` file, which Xcode compiles into the app's default library.

    Raises ``ValueError`` for an invalid class name or a
    parameter default of an unsupported type.
    """
    from onnx import printer

    if not _SWIFT_IDENT.match(class_name):
        raise ValueError(f"class_name {class_name!r} is not a Swift identifier")

    context = _Context(
        class_name=class_name,
        function_ref=f"{function.domain}::{function.name}" if function.domain else function.name,
        description=description,
        body_text=printer.to_text(function),
        input_count=len(function.input),
        output_count=len(function.output),
    )
    try:
        program = ew.compile_function(function)
    except ew.UnsupportedBody as exc:
        what = f"uses {', '.join(exc.ops)}" if exc.ops else f"is not element-wise ({exc})"
        reason = (
            f"{class_name}: the ONNX body {what}, which the generator cannot translate; "
            "write evaluate(inputs:outputs:) by hand"
        )
        params = _parameters(parameters, body_params=(), function=function)
        source = _render_stub(context, params, reason)
        return GeneratedCustomLayer(f"{class_name}.swift", source, True, reason)

    params = _parameters(parameters, program.params, function)
    source, kernel = _render_generated(context, program, params, _needs_data_pointer(deployment_target))
    return GeneratedCustomLayer(f"{class_name}.swift", source, False, None, f"{class_name}Kernel.metal", kernel)


def _needs_data_pointer(deployment_target: str) -> bool:
    """True below iOS 15.4, where ``withUnsafeBufferPointer(ofType:)`` does not exist yet."""
    parts = [int(p) for p in str(deployment_target).split(".")[:2]] + [0]
    return (parts[0], parts[1]) < (15, 4)


# ---------------------------------------------------------------- parameters


def _swift_type(value: object) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int"
    if isinstance(value, float):
        return "Float"
    if isinstance(value, str):
        return "String"
    raise ValueError(f"layer parameter default {value!r} must be a float, int, bool or string")


def _function_attributes(function) -> dict[str, tuple[str | None, object]]:
    """{attribute: (Swift type or None when untyped, default or None)} the function declares."""
    from onnx import AttributeProto, helper

    typed = {AttributeProto.FLOAT: "Float", AttributeProto.INT: "Int", AttributeProto.STRING: "String"}
    result: dict[str, tuple[str | None, object]] = {name: (None, None) for name in function.attribute}
    for proto in function.attribute_proto:
        swift_type = typed.get(proto.type)
        value = helper.get_attribute_value(proto) if swift_type else None
        if isinstance(value, bytes):
            value = value.decode()
        elif swift_type == "Float":
            value = ew.shortest_float32(value)
        result[proto.name] = (swift_type, value)
    return result


def _parameters(declared: dict, body_params: tuple[str, ...], function) -> list[_Parameter]:
    """Layer parameters: the recipe's, then function attributes (Core ML passes both by name).

    Attributes the body reads are ``Float``s; other typed attributes keep their type;
    untyped attributes the body does not read are left out.
    """
    attributes = _function_attributes(function)
    namer = ew.Namer()
    result: list[_Parameter] = []
    for key, default in declared.items():
        used = key in body_params
        if used and (isinstance(default, bool) or not isinstance(default, (int, float))):
            raise ValueError(f"parameter {key!r} feeds the ONNX body, so its default must be a number")
        swift_type = "Float" if used else _swift_type(default)
        result.append(_Parameter(str(key), namer.fresh(str(key), "parameter"), swift_type, default, used))
    for key, (swift_type, default) in attributes.items():
        if key in declared:
            continue
        used = key in body_params
        if used:
            swift_type = "Float"
            default = float(default) if isinstance(default, (int, float)) else None
        elif swift_type is None:
            continue
        result.append(_Parameter(key, namer.fresh(key, "parameter"), swift_type, default, used))
    return result


def _swift_literal(value: object, swift_type: str) -> str:
    if swift_type == "String":
        return swift_string_literal(str(value))
    if swift_type == "Bool":
        return "true" if value else "false"
    if swift_type == "Int":
        return str(int(value))  # type: ignore[arg-type]
    return ew.float_literal(float(value), "swift")  # type: ignore[arg-type]


def _parameter_properties(params: list[_Parameter]) -> str:
    lines = []
    for p in params:
        default = "required" if p.default is None else f"default {json.dumps(p.default)}"
        role = "used by the ONNX body" if p.used_by_body else "declared by the recipe or the function"
        lines.append(f"/// Layer parameter `{p.key}` ({role}; {default}).")
        lines.append(f"let {p.ident}: {p.swift_type}")
    return "\n".join(lines)


def _parameter_reads(params: list[_Parameter], class_name: str) -> str:
    lines = []
    for p in params:
        # The class name, not `Self`: this runs before `super.init`.
        reader = f"{class_name}.{p.swift_type.lower()}Parameter(parameters, {swift_string_literal(p.key)})"
        if p.default is None:
            lines += [
                f"guard let {p.ident} = {reader} else {{",
                f"    throw {class_name}Error.missingParameter({swift_string_literal(p.key)})",
                "}",
                f"self.{p.ident} = {p.ident}",
            ]
        else:
            lines.append(f"self.{p.ident} = {reader} ?? {_swift_literal(p.default, p.swift_type)}")
    return "\n".join(lines)


def _parameter_readers(params: list[_Parameter]) -> str:
    types = {p.swift_type for p in params}
    if not types:
        return ""
    return "\n// MARK: - Layer parameters\n\n" + render("custom_layer_parameters.swift", parameter_types=types).rstrip("\n")


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _Context:
    class_name: str
    function_ref: str
    description: str
    body_text: str
    input_count: int
    output_count: int


def _class_doc(context: _Context, params: list[_Parameter], notes: list[str]) -> str:
    parts = [context.description.strip() or f"Core ML custom layer for `{context.function_ref}`.", ""]
    parts += [f"Core ML custom layer for the ONNX function `{context.function_ref}`:", "", "```"]
    parts += context.body_text.strip().splitlines()
    parts += ["```", ""]
    parts += notes
    if params:
        parts += ["", "Layer parameters: " + ", ".join(f"`{p.key}`" for p in params) + "."]
    return doc_comment("\n".join(parts))


def _common_values(context: _Context, params: list[_Parameter]) -> dict[str, str]:
    return {
        "class_name": context.class_name,
        "input_count": str(context.input_count),
        "output_count": str(context.output_count),
        "parameter_properties": _parameter_properties(params),
        "parameter_reads": _parameter_reads(params, context.class_name),
        "parameter_readers": _parameter_readers(params),
    }


def _header(context: _Context) -> str:
    return render(
        "custom_layer_header.swift",
        filename=f"{context.class_name}.swift",
        function_ref=context.function_ref,
        class_name=context.class_name,
    )


def _render_stub(context: _Context, params: list[_Parameter], reason: str) -> str:
    notes = [
        "- Warning: not generated: " + reason.split(": ", 1)[1] + ".",
        "- `outputShapes`, `evaluate` and `encode` throw until they are written by hand.",
    ]
    body = render(
        "custom_layer_stub.swift",
        class_doc=_class_doc(context, params, notes),
        message_literal=swift_string_literal(reason),
        **_common_values(context, params),
    )
    return _header(context) + "\n" + body


def _render_generated(
    context: _Context, program: ew.ElementwiseProgram, params: list[_Parameter], needs_data_pointer: bool
) -> tuple[str, str]:
    """(Swift source of the layer, source of its Metal kernel)."""
    namer = ew.Namer()
    for p in params:  # parameters keep their property names inside the loop and kernel
        namer.fresh(p.ident)
    param_ident = {p.key: p.ident for p in params}
    input_idents = [namer.fresh(name, "input") for name in program.input_names]
    input_ptrs = [namer.fresh(f"{name}Data", "inputData") for name in input_idents]
    output_ptrs = [namer.fresh(f"{name}Data", "outputData") for name in program.output_names]
    input_textures = [namer.fresh(f"{name}Texture", "inputTexture") for name in input_idents]
    output_textures = [namer.fresh(f"{name}Texture", "outputTexture") for name in program.output_names]
    # Statement names are shared by the Swift and Metal renderings (separate scopes).
    swift_body = ew.render_body(program, "swift", input_idents, param_ident, namer.fork())
    metal_body = ew.render_body(program, "metal", input_idents, param_ident, namer.fork())

    names = kernels.LoopNames(input_idents, input_ptrs, output_ptrs)

    def cpu_loop(element: str) -> str:
        return kernels.cpu_loop(program, swift_body, names, element, needs_data_pointer)

    kernel_name = f"{context.class_name}Kernel"
    metal_source = kernels.metal_source(
        context.function_ref, program, kernel_name, param_ident, input_idents, input_textures, output_textures, metal_body
    )
    used_params = [p for p in params if p.key in program.params]
    if program.params:  # same order as `parameters[i]` in the kernel
        values = ", ".join(param_ident[key] for key in program.params)
        set_bytes = "\n".join(
            [
                f"var parameterValues: [Float] = [{values}]",
                "encoder.setBytes(&parameterValues, length: MemoryLayout<Float>.stride * parameterValues.count, index: 0)",
            ]
        )
    else:
        set_bytes = "// The ONNX body reads no parameters: no parameter buffer."
    notes = [
        "- CPU: `evaluate(inputs:outputs:)` runs a typed loop over Float32 (or, on arm64, Float16) memory.",
        "- GPU: `encode(commandBuffer:inputs:outputs:)` runs a Metal kernel generated from the same expression.",
        "- All inputs must have the same shape; every output has that shape (no broadcasting).",
    ]
    body = render(
        "custom_layer.swift",
        class_doc=_class_doc(context, params, notes),
        kernel_name=kernel_name,
        metal_source="\n".join(f"    {line}" if line.strip() else "" for line in metal_source.splitlines()),
        parameter_locals="\n".join(f"let {p.ident} = self.{p.ident}" for p in used_params),
        float32_body=cpu_loop("Float"),
        float16_body=cpu_loop("Float16"),
        set_parameter_bytes=set_bytes,
        shape_checks=render("custom_layer_shapes.swift", class_name=context.class_name),
        **_common_values(context, params),
    )
    return _header(context) + "\n" + body, metal_source
