"""Element-wise expression compiler: ONNX function body → small IR → Swift / Metal.

One module per job: the IR (:mod:`.ir`), the ONNX → IR compiler (:mod:`.compile`)
and the Swift/Metal renderer (:mod:`.render`). The tests evaluate the IR with NumPy
and compare it with ``onnx.reference`` to prove the generated math is the ONNX
body's math (``tests/swift/ir_numpy.py``).
"""

from pipeline_runner.swift.elementwise.compile import compile_function
from pipeline_runner.swift.elementwise.ir import (
    SUPPORTED_OPS,
    Apply,
    Const,
    ElementwiseProgram,
    InputRef,
    ParamRef,
    UnsupportedBody,
    shortest_float32,
)
from pipeline_runner.swift.elementwise.render import Language, Namer, RenderedBody, float_literal, render_body

__all__ = ["SUPPORTED_OPS", "Apply", "Const", "ElementwiseProgram", "InputRef", "ParamRef", "UnsupportedBody",
           "shortest_float32", "compile_function", "Language", "Namer", "RenderedBody", "float_literal", "render_body"]
