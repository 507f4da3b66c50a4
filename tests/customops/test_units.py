"""The pieces on their own: reference evaluators, MIL op classes, symbolic attribute keys."""

from __future__ import annotations

import numpy as np
import pytest


def _op(op_type, function, mapping="custom_layer", class_name=None, **extra):
    from pipeline_runner.recipe import CustomOp

    return CustomOp.from_data(
        {"name": op_type.lower(), "torch": {"op": "x::y"},
         "onnx": {"domain": "t", "op_type": op_type, "version": 1, "function": function, "attributes": {}},
         "coreml": {"mapping": mapping, "class_name": class_name or f"{op_type}Layer", "parameters": {},
                    "description": "", **extra}}, 0, 17)


GATED = _op("Gated", "Gated (a, b) => (y) { s = Sigmoid(b) y = Mul(a, s) }")
SCALED = _op("ScaledTanh", "ScaledTanh <alpha> (x) => (y) { a = Constant <value_float: float = @alpha> () "
                           "t = Tanh(x) y = Mul(t, a) }")


def test_reference_layers_evaluate_the_function():
    from pipeline_runner.customops import coreml_reference_layers

    layers = coreml_reference_layers([GATED, SCALED, _op("Sq", "Sq (x) => (y) { y = Mul(x, x) }", "inline")])
    assert sorted(layers) == ["GatedLayer", "ScaledTanhLayer"]  # inline ops have no layer
    a, b = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4), np.ones((3, 4), np.float32)
    (y,) = layers["GatedLayer"]([a, b], {"unused": 1})
    np.testing.assert_allclose(y, a / (1 + np.exp(-1.0)), rtol=1e-6)
    (y,) = layers["ScaledTanhLayer"]([a], {"alpha": 0.25})
    np.testing.assert_allclose(y, np.tanh(a) * 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="takes 2"):
        layers["GatedLayer"]([a], {})


def test_no_custom_ops_means_no_work():
    from pipeline_runner import customops

    assert customops.coreml_reference_layers([]) == {}
    assert customops.prepare_for_coreml("model", []) == ("model", {})
    assert customops.attach_functions("model", []) == "model"


def test_mil_op_class_is_generated_once_per_definition():
    from pipeline_runner.customops.mil_ops import LayerSignature, custom_op_class

    sig = LayerSignature("CacheTestLayer", 2, 1, ("alpha",), "first")
    cls = custom_op_class(sig)
    assert custom_op_class(LayerSignature("CacheTestLayer", 2, 1, ("alpha",), "first")) is cls
    assert cls.bindings == {"class_name": "CacheTestLayer", "input_order": ["_in0", "_in1"],
                            "parameters": ["alpha"], "description": "first"}
    other = custom_op_class(LayerSignature("CacheTestLayer", 2, 1, ("alpha",), "second"))
    assert other is not cls and other.__name__ != cls.__name__


def test_reserved_parameter_name_is_refused():
    from pipeline_runner.customops.mil_ops import LayerSignature, custom_op_class

    with pytest.raises(ValueError, match="reserved"):
        custom_op_class(LayerSignature("ReservedLayer", 1, 1, ("name",), ""))


@pytest.mark.parametrize("value, key", [(0.5, "alpha_f"), (3, "alpha_i"), (True, "alpha_i"), ("s", "alpha_s"),
                                        ([1.0, 2.0], "alpha_fs"), ([1, 2], "alpha_is")])
def test_attribute_keys_carry_the_type(value, key):
    from pipeline_runner.customops.torch_export import _attribute_key

    assert _attribute_key(SCALED, "alpha", value) == key


def test_int_recipe_value_for_typed_float_attribute_is_converted():
    from pipeline_runner.customops.torch_export import attribute_value

    op = _op("Half", "Half <alpha: float = 1.0> (x) => (y) { a = Constant <value_float: float = @alpha> () "
                     "y = Mul(x, a) }", "inline")
    declared = op.declared_attributes
    assert attribute_value(2, declared["alpha"]) == 2.0 and isinstance(attribute_value(2, declared["alpha"]), float)
