"""The element-wise IR evaluated with NumPy: the tests' oracle for the IR compiler (compared with onnx.reference)."""

from __future__ import annotations

import numpy as np

from pipeline_runner.swift.elementwise import Const, ElementwiseProgram, InputRef, ParamRef


def evaluate_numpy(
    program: ElementwiseProgram, inputs: list[np.ndarray], params: dict[str, float] | None = None
) -> list[np.ndarray]:
    """Evaluate the IR with NumPy (float32, NumPy broadcasting)."""
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
