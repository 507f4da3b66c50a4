"""Element-wise expression compiler: ONNX function body → small IR → Swift / Metal / NumPy.

An ONNX ``FunctionProto`` whose body uses only element-wise ops (``SUPPORTED_OPS``)
and scalar constants compiles to an :class:`ElementwiseProgram`: a DAG in
topological order where every node is an input, a scalar constant, a function
attribute (layer parameter) or an op applied to earlier nodes. Identical nodes are
shared (``Mul(x, x)`` reads node ``x`` twice, not two copies).

The same IR is rendered to Swift statements (CPU loop body), Metal statements
(compute kernel body, on ``float4``), and evaluated with NumPy — the tests compare
the NumPy evaluation with ``onnx.reference`` to prove the generated math is the
ONNX body's math.

Only ``onnx`` protobuf types are used here; nothing heavy is imported.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from onnx import FunctionProto, NodeProto

#: op type → number of operands, for the default ONNX domain.
SUPPORTED_OPS: dict[str, int] = {
    "Add": 2,
    "Sub": 2,
    "Mul": 2,
    "Div": 2,
    "Pow": 2,
    "Neg": 1,
    "Abs": 1,
    "Exp": 1,
    "Log": 1,
    "Sqrt": 1,
    "Relu": 1,
    "Sigmoid": 1,
    "Tanh": 1,
    "Identity": 1,
}


class UnsupportedBody(ValueError):
    """The function body uses something the compiler cannot translate."""

    def __init__(self, ops: list[str], detail: str) -> None:
        self.ops = ops  # offending op types (may be empty for structural problems)
        super().__init__(detail)


# ---------------------------------------------------------------- IR


@dataclass(frozen=True)
class InputRef:
    index: int  # position in the function's inputs


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class ParamRef:
    name: str  # function attribute name == layer parameter name


@dataclass(frozen=True)
class Apply:
    op: str  # one of SUPPORTED_OPS
    args: tuple[int, ...]  # indices of earlier nodes


IRNode = InputRef | Const | ParamRef | Apply


@dataclass(frozen=True)
class ElementwiseProgram:
    """A compiled element-wise function body (nodes in topological order)."""

    name: str
    domain: str
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    nodes: tuple[IRNode, ...]
    outputs: tuple[int, ...]  # node index of each function output
    hints: tuple[str, ...]  # a readable name per node (the ONNX value name), "" if none
    attribute_defaults: dict[str, float] = field(default_factory=dict)

    @property
    def params(self) -> tuple[str, ...]:
        """Function attributes the body references, in first-use order."""
        return tuple(n.name for n in self.nodes if isinstance(n, ParamRef))

    @property
    def ops(self) -> tuple[str, ...]:
        return tuple(n.op for n in self.nodes if isinstance(n, Apply))


# ---------------------------------------------------------------- compile


def shortest_float32(value: float) -> float:
    """The shortest decimal that rounds to the same float32 (0.1, not 0.10000000149011612)."""
    if not math.isfinite(value):
        return value
    target = struct.unpack("<f", struct.pack("<f", value))[0]
    for digits in range(1, 18):
        candidate = float(f"{value:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", candidate))[0] == target:
            return candidate
    return value


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


# ---------------------------------------------------------------- NumPy


def evaluate_numpy(
    program: ElementwiseProgram, inputs: list[np.ndarray], params: dict[str, float] | None = None
) -> list[np.ndarray]:
    """Evaluate the IR with NumPy (float32, NumPy broadcasting): the reference the tests check."""
    import numpy as np

    params = {**program.attribute_defaults, **(params or {})}
    f32 = np.float32
    unary = {
        "Neg": np.negative,
        "Abs": np.abs,
        "Exp": np.exp,
        "Log": np.log,
        "Sqrt": np.sqrt,
        "Relu": lambda a: np.maximum(a, f32(0)),
        "Sigmoid": lambda a: f32(1) / (f32(1) + np.exp(-a)),
        "Tanh": np.tanh,
        "Identity": lambda a: a,
    }
    binary = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Pow": np.power}
    values: list[np.ndarray] = []
    with np.errstate(all="ignore"):
        for node in program.nodes:
            if isinstance(node, InputRef):
                values.append(np.asarray(inputs[node.index], dtype=f32))
            elif isinstance(node, Const):
                values.append(np.asarray(node.value, dtype=f32))
            elif isinstance(node, ParamRef):
                values.append(np.asarray(params[node.name], dtype=f32))
            elif node.op in unary:
                values.append(np.asarray(unary[node.op](values[node.args[0]]), dtype=f32))
            else:
                a, b = (values[i] for i in node.args)
                values.append(np.asarray(binary[node.op](a, b), dtype=f32))
    shape = np.broadcast_shapes(*(np.shape(x) for x in inputs))
    return [np.broadcast_to(values[i], shape).astype(f32) for i in program.outputs]


# ---------------------------------------------------------------- Swift / Metal

Language = Literal["swift", "metal"]

_RESERVED = frozenset(
    # Swift keywords and names the templates use
    """associatedtype class deinit enum extension fileprivate func import init inout internal let open
    operator private precedencegroup protocol public rethrows static struct subscript typealias var break
    case catch continue default defer do else fallthrough for guard if in repeat return throw switch where
    while Any as await false is nil self Self super throws true try async actor some any Type Protocol
    Float Float16 Double Int Int32 String Bool max min abs exp log sqrt tanh pow expf logf sqrtf tanhf powf
    index count elementCount params parameters inputs outputs commandBuffer encoder pipeline error output
    lock weights inputCount outputCount kernelName metalSource notImplementedMessage description
    debugDescription hash hashValue superclass isEqual copy parameterValues groupWidth groupHeight
    threadsPerGroup groups first dataType made library function device"""
    # Metal / C++ keywords and types
    """ kernel device constant thread threadgroup half half4 float float4 uint uint3 texture2d_array
    access read write using namespace metal gid const auto bool char short long signed unsigned void
    volatile static_cast sizeof struct union template typename this new delete operator friend virtual
    mutable explicit register extern inline goto sampler int double nullptr and or not xor bitand bitor compl
    protected typedef asm export static_assert alignas alignof decltype noexcept constexpr thread_local
    concept requires co_await size_t ptrdiff_t vertex fragment NAN INFINITY""".split()
)
# Metal scalar, vector and matrix type names (float4, half3x3, uint2, ...).
_METAL_TYPE = re.compile(r"^(float|half|int|uint|short|ushort|char|uchar|bool|long|ulong)[234]?(x[234])?$")

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Namer:
    """Hands out unique, valid Swift-and-Metal identifiers from readable hints."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def fork(self) -> Namer:
        """A namer that avoids every name taken so far (for a separate scope)."""
        copy = Namer()
        copy._used = set(self._used)
        return copy

    def fresh(self, hint: str, fallback: str = "v") -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", hint).strip("_") or fallback
        if base[0].isdigit():
            base = f"{fallback}{base}"
        candidate, k = base, 1
        while candidate in self._used or candidate in _RESERVED or _METAL_TYPE.match(candidate):
            candidate, k = f"{base}{k}", k + 1
        self._used.add(candidate)
        return candidate


def float_literal(value: float, lang: Language) -> str:
    """A finite float literal (``Float(2.0)`` in Swift, ``float4(2.0f)`` in Metal)."""
    if math.isnan(value):
        return "Float.nan" if lang == "swift" else "float4(NAN)"
    if math.isinf(value):
        if lang == "swift":
            return "Float.infinity" if value > 0 else "-Float.infinity"
        return "float4(INFINITY)" if value > 0 else "float4(-INFINITY)"
    text = repr(float(value))  # shortest round-trip repr, e.g. "2.0", "1e-05"
    if "e" in text and "." not in text.split("e")[0]:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return f"Float({text})" if lang == "swift" else f"float4({text}f)"


def _apply_expression(op: str, args: list[str], lang: Language) -> str:
    a = args[0]
    b = args[1] if len(args) > 1 else ""
    if lang == "swift":
        table = {
            "Add": f"{a} + {b}",
            "Sub": f"{a} - {b}",
            "Mul": f"{a} * {b}",
            "Div": f"{a} / {b}",
            "Pow": f"powf({a}, {b})",
            "Neg": f"-{a}",
            "Abs": f"abs({a})",
            "Exp": f"expf({a})",
            "Log": f"logf({a})",
            "Sqrt": f"sqrtf({a})",
            "Relu": f"max({a}, 0)",
            "Sigmoid": f"1 / (1 + expf(-{a}))",
            "Tanh": f"tanhf({a})",
            "Identity": a,
        }
    else:
        table = {
            "Add": f"{a} + {b}",
            "Sub": f"{a} - {b}",
            "Mul": f"{a} * {b}",
            "Div": f"{a} / {b}",
            "Pow": f"pow({a}, {b})",
            "Neg": f"-{a}",
            "Abs": f"abs({a})",
            "Exp": f"exp({a})",
            "Log": f"log({a})",
            "Sqrt": f"sqrt({a})",
            "Relu": f"max({a}, float4(0.0f))",
            "Sigmoid": f"1.0f / (1.0f + exp(-{a}))",
            "Tanh": f"tanh({a})",
            "Identity": a,
        }
    return table[op]


@dataclass(frozen=True)
class RenderedBody:
    """Statements computing every op node, plus the expression for each output."""

    statements: tuple[str, ...]
    output_expressions: tuple[str, ...]


def render_body(
    program: ElementwiseProgram,
    lang: Language,
    input_values: list[str],
    param_values: dict[str, str],
    namer: Namer,
) -> RenderedBody:
    """Render the op nodes as ``let``/``const`` statements, one per node.

    ``input_values`` are the identifiers holding each input element (Swift ``Float``
    or Metal ``float4``); ``param_values`` the identifiers holding each parameter
    (scalars: wrapped in ``float4(...)`` for Metal).
    """
    exprs: list[str] = []
    statements: list[str] = []
    for node, hint in zip(program.nodes, program.hints, strict=True):
        if isinstance(node, InputRef):
            exprs.append(input_values[node.index])
        elif isinstance(node, Const):
            exprs.append(float_literal(node.value, lang))
        elif isinstance(node, ParamRef):
            ident = param_values[node.name]
            exprs.append(ident if lang == "swift" else f"float4({ident})")
        else:
            operands = [exprs[i] if _is_atom(exprs[i]) else f"({exprs[i]})" for i in node.args]
            name = namer.fresh(hint)
            expression = _apply_expression(node.op, operands, lang)
            if lang == "swift":
                statements.append(f"let {name}: Float = {expression}")
            else:
                statements.append(f"const float4 {name} = {expression};")
            exprs.append(name)
    return RenderedBody(tuple(statements), tuple(exprs[i] for i in program.outputs))


def _is_atom(expression: str) -> bool:
    return bool(_IDENT.match(expression)) or bool(re.match(r"^(Float|float4)\([^()]*\)$", expression))
