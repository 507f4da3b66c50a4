"""NumPy evaluators of the custom layers, for the Core ML reference executor.

A custom layer computes its op's ONNX function, so the reference evaluates the
function body with ``onnx.reference.ReferenceEvaluator``; the layer's parameters
that are function attributes are passed as attribute values.
"""

from __future__ import annotations

from pipeline_runner.customops.spec import declared_attributes, parse_function


class FunctionLayer:
    """``layer(inputs, parameters) -> outputs`` for one custom-layer class."""

    def __init__(self, function):
        from onnx.reference import ReferenceEvaluator

        self.function = function
        self.input_names = list(function.input)
        self.attributes = set(declared_attributes(function))
        self._evaluator = ReferenceEvaluator(function)

    def __call__(self, inputs: list, parameters: dict) -> list:
        import numpy as np

        if len(inputs) != len(self.input_names):
            raise ValueError(f"custom layer {self.function.name}: got {len(inputs)} inputs, "
                             f"the function takes {len(self.input_names)} ({', '.join(self.input_names)})")
        feeds = {name: np.asarray(x) for name, x in zip(self.input_names, inputs)}
        attributes = {k: v for k, v in (parameters or {}).items() if k in self.attributes}
        outputs = self._evaluator.run(None, feeds, attributes=attributes)
        return [np.asarray(o) for o in outputs]


def coreml_reference_layers(custom_ops: list[dict], opset: int) -> dict:
    """{class name: FunctionLayer} for every ``custom_layer`` op of the recipe."""
    return {op["coreml"]["class_name"]: FunctionLayer(parse_function(op, opset))
            for op in custom_ops if op["coreml"]["mapping"] == "custom_layer"}
