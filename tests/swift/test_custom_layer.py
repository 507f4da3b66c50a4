"""Core ML custom layers generated from ONNX function bodies: Swift parses, IR math == ONNX math."""

from __future__ import annotations

import re

import numpy as np
import onnx
import pytest
from onnx import helper, parser
from onnx.reference import ReferenceEvaluator

from pipeline_runner.swift import elementwise as ew
from pipeline_runner.swift.custom_layer import generate_custom_layer
from pipeline_runner.swift.syntax import swift_syntax_errors
from tests.swift.ir_numpy import evaluate_numpy

HEADER = '<domain: "com.example.ops", opset_import: ["": 17]>\n'

SQUARE = HEADER + "CustomSquare (x) => (y) { y = Mul(x, x) }"
TWO_INPUT = HEADER + """MulAdd (x, y) => (z) {
    p = Mul(x, y)
    z = Add(p, x)
}"""
SCALED_TANH = HEADER + """ScaledTanh <alpha>(x) => (y) {
    a = Constant <value_float: float = @alpha>()
    t = Tanh(x)
    y = Mul(a, t)
}"""
POW = HEADER + """PowShift (x) => (y) {
    two = Constant <value = float {2.0}>()
    half = Constant <value_float = 0.1>()
    s = Sigmoid(x)
    p = Pow(s, two)
    y = Sub(p, half)
}"""
EVERYTHING = HEADER + """Kitchen <beta: float = 0.25>(a, b, c) => (out, other) {
    beta = Constant <value_float: float = @beta>()
    one = Constant <value = float {1.0}>()
    ab = Abs(a)
    nb = Neg(b)
    e = Exp(nb)
    ab1 = Add(ab, one)
    l = Log(ab1)
    ca = Sub(c, a)
    r = Relu(ca)
    bb = Mul(b, b)
    bb1 = Add(bb, one)
    q = Sqrt(bb1)
    lr = Add(l, r)
    d = Div(lr, q)
    be = Mul(beta, e)
    t = Tanh(be)
    out = Add(d, t)
    rr = Mul(r, r)
    other = Identity(rr)
}"""
UNSUPPORTED = HEADER + """MatMulSum (a, b) => (y) {
    m = MatMul(a, b)
    y = ReduceSum(m)
}"""

SUPPORTED = {
    "CustomSquare": (SQUARE, {}),
    "MulAdd": (TWO_INPUT, {}),
    "ScaledTanh": (SCALED_TANH, {"alpha": 1.7}),
    "PowShift": (POW, {}),
    "Kitchen": (EVERYTHING, {"beta": 0.6}),
}


def _layer(text: str, params: dict, class_name: str = "TestLayer", deployment_target: str = "13"):
    return generate_custom_layer(parser.parse_function(text), class_name, params, "A test layer.", deployment_target)


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_generated_layers_parse(name: str) -> None:
    text, params = SUPPORTED[name]
    layer = _layer(text, params, f"{name}Layer")
    assert layer.filename == f"{name}Layer.swift"
    assert not layer.needs_hand_written and layer.reason is None
    assert swift_syntax_errors(layer.source) == []
    assert re.search(rf"^final class {name}Layer: NSObject, MLCustomLayer \{{", layer.source, re.M)
    assert f"@objc({name}Layer)" in layer.source
    for member in (
        "required init(parameters: [String: Any]) throws",
        "func setWeightData(_ weights: [Data]) throws",
        "func outputShapes(forInputShapes inputShapes: [[NSNumber]]) throws -> [[NSNumber]]",
        "func evaluate(inputs: [MLMultiArray], outputs: [MLMultiArray]) throws",
        "func encode(commandBuffer: MTLCommandBuffer, inputs: [MTLTexture], outputs: [MTLTexture]) throws",
        "device.makeLibrary(source: metalSource, options: nil)",
        "texture2d_array<half, access::read>",
        "texture2d_array<half, access::write>",
        "#if arch(arm64)",
        "bindMemory(to: Float.self",  # iOS 13 (the default target): before iOS 15.4 only
        "withUnsafeBufferPointer(ofType: Float.self)",
        "withUnsafeBufferPointer(ofType: Float16.self)",
    ):
        assert member in layer.source, member
    for imported in ("CoreML", "Accelerate", "Metal"):
        assert f"import {imported}\n" in layer.source
    assert "NSNumber(" not in layer.source  # never boxes elements
    _assert_no_force_unwrap(layer.source)


def test_custom_square_computes_x_times_x_on_cpu_and_gpu() -> None:
    source = _layer(SQUARE, {}, "CustomSquareLayer").source
    cpu_loop = source[source.index("for index in 0..<count {") :]
    cpu_loop = cpu_loop[: cpu_loop.index("\n        }")]
    assert "let x = xData[index]" in cpu_loop
    assert "let y: Float = x * x" in cpu_loop
    assert "yData[index] = y" in cpu_loop
    metal = source[source.index('static let metalSource = """') : source.index('    """\n')]
    assert "const float4 x = float4(xTexture.read(gid.xy, gid.z));" in metal
    assert "const float4 y = x * x;" in metal
    assert "yTexture.write(half4(y), gid.xy, gid.z);" in metal


def test_attribute_becomes_typed_parameter() -> None:
    source = _layer(SCALED_TANH, {"alpha": 2.5, "label": "scaled", "steps": 3, "fast": True}).source
    assert 'self.alpha = TestLayer.floatParameter(parameters, "alpha") ?? Float(2.5)' in source
    assert 'self.label = TestLayer.stringParameter(parameters, "label") ?? "scaled"' in source
    assert 'self.steps = TestLayer.intParameter(parameters, "steps") ?? 3' in source
    assert 'self.fast = TestLayer.boolParameter(parameters, "fast") ?? true' in source
    assert "let y: Float = alpha * t" in source
    assert "const float alpha = parameters[0];" in source
    assert "var parameterValues: [Float] = [alpha]" in source
    assert swift_syntax_errors(source) == []


def test_attribute_without_default_is_required() -> None:
    source = _layer(SCALED_TANH, {}).source
    assert 'guard let alpha = TestLayer.floatParameter(parameters, "alpha") else {' in source
    assert 'throw TestLayerError.missingParameter("alpha")' in source
    assert swift_syntax_errors(source) == []


def test_only_the_parameter_readers_a_layer_uses_are_generated() -> None:
    readers = re.compile(r"private static func (\w+)Parameter\(")
    assert readers.findall(_layer(SCALED_TANH, {}).source) == ["float"]
    assert readers.findall(_layer(SQUARE, {}, "CustomSquareLayer").source) == []
    assert "MARK: - Layer parameters" not in _layer(SQUARE, {}, "CustomSquareLayer").source


def test_function_attribute_default_is_used() -> None:
    source = _layer(EVERYTHING, {}).source
    assert 'self.beta = TestLayer.floatParameter(parameters, "beta") ?? Float(0.25)' in source


def test_float_constants_are_shortest_float32_literals() -> None:
    source = _layer(POW, {}).source
    assert "let y: Float = p - Float(0.1)" in source
    assert "const float4 y = p - float4(0.1f);" in source


def test_single_vforce_op_uses_accelerate() -> None:
    source = _layer(HEADER + "E (x) => (y) { y = Exp(x) }", {}).source
    assert "vvexpf(yData, xData, &elementCount)" in source
    assert "let y: Float = expf(x)" in source  # Float16 loop and nothing else
    assert swift_syntax_errors(source) == []


def test_unsupported_body_gives_stub() -> None:
    layer = _layer(UNSUPPORTED, {"axis": 1}, "MatMulSumLayer")
    assert layer.needs_hand_written
    assert layer.reason == (
        "MatMulSumLayer: the ONNX body uses MatMul, ReduceSum, which the generator cannot translate; "
        "write evaluate(inputs:outputs:) by hand"
    )
    assert swift_syntax_errors(layer.source) == []
    assert "throw MatMulSumLayerError.notImplemented(Self.notImplementedMessage)" in layer.source
    assert 'self.axis = MatMulSumLayer.intParameter(parameters, "axis") ?? 1' in layer.source
    assert "makeLibrary" not in layer.source
    _assert_no_force_unwrap(layer.source)


def test_stub_exposes_typed_function_attributes() -> None:
    text = HEADER + """Fancy <mode: string = "fast", axis: int = 1, eps: float = 0.001>(x) => (y) {
    y = MatMul(x, x)
}"""
    layer = _layer(text, {"scale": 2.0})
    assert layer.needs_hand_written
    for line in (
        'self.scale = TestLayer.floatParameter(parameters, "scale") ?? Float(2.0)',
        'self.mode = TestLayer.stringParameter(parameters, "mode") ?? "fast"',
        'self.axis = TestLayer.intParameter(parameters, "axis") ?? 1',
        'self.eps = TestLayer.floatParameter(parameters, "eps") ?? Float(0.001)',
    ):
        assert line in layer.source, line
    assert swift_syntax_errors(layer.source) == []


@pytest.mark.parametrize(
    "body",
    [
        "Negate (c) => (y) { y = Not(c) }",
        "Shape2 (x) => (y) { y = Reshape(x, x) }",
        "BigConst (x) => (y) { c = Constant <value = float[2] {1.0, 2.0}>()\n y = Add(x, c) }",
    ],
)
def test_other_unsupported_bodies_give_stubs(body: str) -> None:
    layer = _layer(HEADER + body, {})
    assert layer.needs_hand_written and layer.reason
    assert swift_syntax_errors(layer.source) == []


def test_text_without_header_is_accepted() -> None:
    layer = _layer("CustomSquare (x) => (y) { y = Mul(x, x) }", {})
    assert not layer.needs_hand_written
    assert "let y: Float = x * x" in layer.source
    assert swift_syntax_errors(layer.source) == []


def test_awkward_value_names_become_safe_identifiers() -> None:
    text = HEADER + """Awkward (in, int, float4) => (self) {
    count = Add(in, int)
    half = Mul(count, float4)
    self = Relu(half)
}"""
    source = _layer(text, {}, deployment_target="17").source  # one CPU loop
    assert swift_syntax_errors(source) == []
    loop = source[source.index("for index in 0..<count {") :]
    loop = loop[: loop.index("return\n")]
    declared = re.findall(r"let (\w+)(?::| =)", loop) + re.findall(r"const float4 (\w+) =", source)
    assert len(declared) == 12 and len(set(declared)) == 6  # same names on CPU and GPU
    for bad in ("in", "int", "float4", "self", "count", "half"):
        assert bad not in declared, bad
    assert "const float4 in1 = float4(in1Texture.read(gid.xy, gid.z));" in source


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="Swift identifier"):
        _layer(SQUARE, {}, "not a name")


# ------------------------------------------------------------- numerics


def _reference_outputs(function: onnx.FunctionProto, inputs: list[np.ndarray], attributes: dict) -> list:
    """Run the function through onnx.reference by calling it from a one-node model."""
    node = helper.make_node(
        function.name,
        [f"in{i}" for i in range(len(inputs))],
        [f"out{i}" for i in range(len(function.output))],
        domain=function.domain,
        **attributes,
    )
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(f"in{i}", onnx.TensorProto.FLOAT, x.shape) for i, x in enumerate(inputs)],
        [helper.make_tensor_value_info(f"out{i}", onnx.TensorProto.FLOAT, None) for i in range(len(function.output))],
    )
    model = helper.make_model(
        graph,
        functions=[function],
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(function.domain, 1)],
    )
    return ReferenceEvaluator(model).run(None, {f"in{i}": x for i, x in enumerate(inputs)})


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_ir_matches_onnx_reference(name: str) -> None:
    text, params = SUPPORTED[name]
    function = parser.parse_function(text)
    program = ew.compile_function(function)
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(2, 3, 4, 5)).astype(np.float32) for _ in function.input]
    expected = _reference_outputs(function, inputs, params)
    actual = evaluate_numpy(program, inputs, params)
    assert len(actual) == len(expected) == len(function.output)
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_ir_is_a_shared_dag() -> None:
    program = ew.compile_function(parser.parse_function(SQUARE))
    assert program.nodes == (ew.InputRef(0), ew.Apply("Mul", (0, 0)))
    assert program.outputs == (1,)
    kitchen = ew.compile_function(parser.parse_function(EVERYTHING))
    assert kitchen.params == ("beta",)
    assert kitchen.nodes.count(ew.Const(1.0)) == 1


def test_unsupported_ops_are_listed() -> None:
    with pytest.raises(ew.UnsupportedBody) as info:
        ew.compile_function(parser.parse_function(UNSUPPORTED))
    assert info.value.ops == ["MatMul", "ReduceSum"]


# ------------------------------------------------------------- helpers

_FORCE_UNWRAP = re.compile(r"(try!|as!|[\w)\]]!(?!=))")


def _assert_no_force_unwrap(source: str) -> None:
    code = "\n".join(line.split("//")[0] for line in source.splitlines())
    code = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', code)  # drop string literals
    code = code.replace("!=", "")
    assert not _FORCE_UNWRAP.search(code), _FORCE_UNWRAP.search(code)


# ------------------------------------------------------------- review findings 4 and 5


def test_metal_kernel_is_built_once_per_process_and_errors_surface_at_load() -> None:
    layer = _layer(SQUARE, {}, "CustomSquareLayer")
    source = layer.source
    assert "try?" not in source
    assert "private static let sharedPipeline = SharedPipeline(device: MTLCreateSystemDefaultDevice())" in source
    init = source[source.index("required init(parameters: [String: Any]) throws {"):]
    init = init[: init.index("\n    }\n")]
    assert "_ = try result.get()" in init and "makePipeline" not in init  # no per-instance compile
    assert source.count("device.makeLibrary(source: metalSource") == 1
    assert "device.makeDefaultLibrary()?.makeFunction(name: kernelName)" in source
    # The kernel also ships as a .metal file for Xcode to compile, identical to the embedded source.
    assert layer.metal_filename == "CustomSquareLayerKernel.metal"
    assert "kernel void CustomSquareLayerKernel(" in layer.metal_source
    embedded = source[source.index('static let metalSource = """\n') + 29 : source.index('\n    """\n')]
    assert "\n".join(line[4:] for line in embedded.splitlines()) == layer.metal_source.rstrip("\n")


@pytest.mark.parametrize("target", ["15.4", "17"])
def test_no_deprecated_data_pointer_where_the_target_allows(target: str) -> None:
    for name, (text, params) in SUPPORTED.items():
        source = _layer(text, params, f"{name}Layer", target).source
        assert "dataPointer" not in source and "#available(iOS 15.4" not in source, name
        assert "withUnsafeMutableBufferPointer(ofType: Float.self)" in source, name
        assert swift_syntax_errors(source) == [], name


def test_data_pointer_only_behind_availability_for_older_targets() -> None:
    source = _layer(SQUARE, {}, "CustomSquareLayer", "13").source
    new = source.index("if #available(iOS 15.4, macOS 12.3, tvOS 15.4, watchOS 8.5, *) {")
    fallback = source.index("} else {", new)
    assert new < source.index("withUnsafeMutableBufferPointer(ofType: Float.self)") < fallback
    assert fallback < source.index(".dataPointer") and source.count(".dataPointer") == 2
