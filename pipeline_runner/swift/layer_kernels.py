"""An element-wise program as the loops of a custom layer: the Swift CPU loop over
``MLMultiArray`` memory (buffer pointers, or ``dataPointer`` before iOS 15.4) and the Metal kernel."""

from __future__ import annotations

from typing import NamedTuple

from pipeline_runner.swift import elementwise as ew
from pipeline_runner.swift.render import render

# `MLMultiArray.withUnsafe(Mutable)BufferPointer(ofType:)`, which replaces the deprecated `dataPointer`.
BUFFER_POINTER_AVAILABILITY = "iOS 15.4, macOS 12.3, tvOS 15.4, watchOS 8.5, *"


class LoopNames(NamedTuple):
    """Swift names of the inputs' element values and of the arrays' typed memory."""

    input_idents: list[str]
    input_ptrs: list[str]
    output_ptrs: list[str]


def cpu_loop(program: ew.ElementwiseProgram, swift_body: ew.RenderedBody, names: LoopNames, element: str,
             needs_data_pointer: bool) -> str:
    """The CPU loop over ``element`` (``Float`` or ``Float16``) memory of the inputs and outputs."""
    input_idents, input_ptrs, output_ptrs = names
    vforce = single_vforce_op(program)

    def loop_body(element: str, pointers: str) -> str:
        """The element loop (or one vForce call) over pointers named in input_ptrs/output_ptrs."""
        if element == "Float" and vforce:
            source, destination = input_ptrs[0], output_ptrs[0]
            if pointers == "buffer":  # buffer pointers: their base addresses
                source, destination = f"{source}.baseAddress", f"{destination}.baseAddress"
                guard = [f"guard let source = {source}, let destination = {destination} else {{", "    return", "}"]
                source, destination = "source", "destination"
            else:
                guard = []
            return "\n".join([f"// One op that vForce implements directly: {vforce} over the whole buffer.", *guard,
                              "var elementCount = Int32(count)", f"{vforce}({destination}, {source}, &elementCount)"])
        convert_in = "{}" if element == "Float" else "Float({})"
        convert_out = "{}" if element == "Float" else "Float16({})"
        loads = [f"let {x} = {convert_in.format(f'{ptr}[index]')}" for x, ptr in zip(input_idents, input_ptrs)]
        stores = [f"{ptr}[index] = {convert_out.format(expr)}"
                  for ptr, expr in zip(output_ptrs, swift_body.output_expressions)]
        return render("custom_layer_cpu_loop.swift", loads="\n".join(loads),
                      statements="\n".join(swift_body.statements), stores="\n".join(stores))

    def with_buffers(element: str) -> str:
        """The loop inside one `withUnsafe(Mutable)BufferPointer(ofType:)` closure per array."""
        opens = [f"inputs[{i}].withUnsafeBufferPointer(ofType: {element}.self) "
                 f"{{ ({ptr}: UnsafeBufferPointer<{element}>) -> Void in" for i, ptr in enumerate(input_ptrs)]
        opens += [f"outputs[{i}].withUnsafeMutableBufferPointer(ofType: {element}.self) "
                  f"{{ ({ptr}: inout UnsafeMutableBufferPointer<{element}>, _: [Int]) -> Void in"
                  for i, ptr in enumerate(output_ptrs)]
        lines = [("    " * depth) + line for depth, line in enumerate(opens)]
        lines += [("    " * len(opens)) + line if line else "" for line in loop_body(element, "buffer").splitlines()]
        lines += [("    " * depth) + "}" for depth in reversed(range(len(opens)))]
        return "\n".join(lines)

    def with_data_pointers(element: str) -> str:
        """The loop over `dataPointer` memory (systems before iOS 15.4)."""
        bindings = [f"let {ptr} = inputs[{i}].dataPointer.bindMemory(to: {element}.self, capacity: count)"
                    for i, ptr in enumerate(input_ptrs)]
        bindings += [f"let {ptr} = outputs[{i}].dataPointer.bindMemory(to: {element}.self, capacity: count)"
                     for i, ptr in enumerate(output_ptrs)]
        return "\n".join([*bindings, loop_body(element, "data")])

    def cpu_loop_for(element: str) -> str:
        if element == "Float16" or not needs_data_pointer:  # Float16 runs on iOS 16+ only
            return with_buffers(element)
        inner = "\n".join("    " + line if line else "" for line in with_buffers(element).splitlines())
        older = "\n".join("    " + line if line else "" for line in with_data_pointers(element).splitlines())
        return "\n".join([f"if #available({BUFFER_POINTER_AVAILABILITY}) {{", inner, "} else {",
                          "    // `dataPointer` (deprecated in newer SDKs) is the only way before iOS 15.4.", older, "}"])

    return cpu_loop_for(element)


_VFORCE = {"Exp": "vvexpf", "Log": "vvlogf", "Sqrt": "vvsqrtf", "Tanh": "vvtanhf"}


def single_vforce_op(program: ew.ElementwiseProgram) -> str | None:
    """The vForce function when the body is one unary op on input 0 with one output."""
    applies = [n for n in program.nodes if isinstance(n, ew.Apply)]
    if len(program.input_names) != 1 or len(program.outputs) != 1 or len(applies) != 1:
        return None
    (node,) = applies
    output = program.nodes[program.outputs[0]]
    if output is not node or node.op not in _VFORCE or not isinstance(program.nodes[node.args[0]], ew.InputRef):
        return None
    return _VFORCE[node.op]


def metal_source(
    function_ref: str,
    program: ew.ElementwiseProgram,
    kernel_name: str,
    param_ident: dict[str, str],
    input_idents: list[str],
    input_textures: list[str],
    output_textures: list[str],
    body: ew.RenderedBody,
) -> str:
    arguments = [
        f"texture2d_array<half, access::read> {name} [[texture({i})]],"
        for i, name in enumerate(input_textures)
    ] + [
        f"texture2d_array<half, access::write> {name} [[texture({len(input_textures) + i})]],"
        for i, name in enumerate(output_textures)
    ]
    if program.params:
        arguments.append("constant float *parameters [[buffer(0)]],")
    parameter_locals = [
        f"const float {param_ident[key]} = parameters[{i}];" for i, key in enumerate(program.params)
    ]
    loads = [
        f"const float4 {x} = float4({tex}.read(gid.xy, gid.z));" for x, tex in zip(input_idents, input_textures)
    ]
    stores = [
        f"{tex}.write(half4({expr}), gid.xy, gid.z);" for tex, expr in zip(output_textures, body.output_expressions)
    ]
    source = render(
        "custom_layer_kernel.metal",
        function_ref=function_ref,
        kernel_name=kernel_name,
        arguments="\n".join(arguments),
        first_output=output_textures[0],
        parameter_locals="\n".join(parameter_locals),
        loads="\n".join(loads),
        statements="\n".join(body.statements),
        stores="\n".join(stores),
    )
    return source
