"""Custom NeuralNetwork layers evaluated from an ONNX FunctionProto body.

This is the project's one evaluator of a custom op's ONNX function: the validate
stage's reference executor gets its custom layers from here
(``customops.coreml_reference_layers``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def _param_value(v):
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


def custom_layer_parameters(layer) -> dict:
    """The ``parameters`` map of a custom layer as plain Python values."""
    return {k: _param_value(v) for k, v in layer.custom.parameters.items()}


def layer_from_onnx_function(function, *, extra_functions=()) -> Callable:
    """A custom-layer callable that evaluates an ONNX ``FunctionProto`` with ``onnx.reference``.

    The layer's inputs map to the function's inputs in order; the layer's parameters that
    the function declares as attributes are passed as attribute values (others are ignored).
    ``extra_functions``: FunctionProtos the body calls.
    """
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(function, functions=list(extra_functions) or None)
    names = list(function.input)
    declared = set(function.attribute) | {a.name for a in function.attribute_proto}

    def run(inputs: list[np.ndarray], parameters: dict) -> list[np.ndarray]:
        if len(inputs) != len(names):
            raise ValueError(f"custom layer {function.name}: got {len(inputs)} inputs, "
                             f"the function takes {len(names)} ({', '.join(names)})")
        attrs = {k: v for k, v in (parameters or {}).items() if k in declared}
        feeds = {name: np.asarray(x) for name, x in zip(names, inputs)}
        outs = evaluator.run(None, feeds, attributes=attrs)
        return [np.asarray(o) for o in outs]

    return run
