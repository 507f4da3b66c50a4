"""Custom NeuralNetwork layers evaluated from an ONNX FunctionProto body."""

from __future__ import annotations

from typing import Callable

import numpy as np


def _param_value(v):
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


def custom_layer_parameters(layer) -> dict:
    """The ``parameters`` map of a custom layer as plain Python values."""
    return {k: _param_value(v) for k, v in layer.custom.parameters.items()}


def layer_from_onnx_function(function, *, opset: int = 17, extra_functions=()) -> Callable:
    """A custom-layer callable that evaluates an ONNX ``FunctionProto`` with ``onnx.reference``.

    The custom layer's parameters are passed as the function's attributes (only those the
    function declares); the layer's inputs map to the function's inputs in order.
    """
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    node_inputs = list(function.input)
    node_outputs = list(function.output)
    functions = [function, *extra_functions]
    evaluators: dict = {}

    def run(inputs: list[np.ndarray], parameters: dict) -> list[np.ndarray]:
        attrs = {k: v for k, v in parameters.items() if k in set(function.attribute)}
        key = tuple(sorted((k, repr(v)) for k, v in attrs.items()))
        if key not in evaluators:
            node = helper.make_node(function.name, node_inputs, node_outputs, domain=function.domain, **attrs)
            graph = helper.make_graph(
                [node], "custom_layer",
                [helper.make_tensor_value_info(n, 0, None) for n in node_inputs],
                [helper.make_tensor_value_info(n, 0, None) for n in node_outputs],
            )
            domains = {"": opset, function.domain: 1}
            for f in extra_functions:
                domains.setdefault(f.domain, 1)
            imports = [helper.make_opsetid(d, v) for d, v in domains.items()]
            model = helper.make_model(graph, opset_imports=imports, functions=functions)
            evaluators[key] = ReferenceEvaluator(model)
        return list(evaluators[key].run(None, dict(zip(node_inputs, inputs))))

    return run
