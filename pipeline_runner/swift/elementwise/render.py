"""Element-wise IR (:mod:`.ir`) → Swift statements (CPU loop body) and Metal statements (kernel body, ``float4``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from pipeline_runner.swift.elementwise.ir import Const, ElementwiseProgram, InputRef, ParamRef

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
