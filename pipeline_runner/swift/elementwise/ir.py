"""The element-wise IR: a DAG of inputs, scalar constants, layer parameters and op applications.

An :class:`ElementwiseProgram` lists its nodes in topological order; identical
nodes are shared (``Mul(x, x)`` reads node ``x`` twice, not two copies).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

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
