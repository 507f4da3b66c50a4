"""Convert: custom_layer → NeuralNetwork ``custom`` layers; inline → no custom op left."""

from __future__ import annotations

import dataclasses

import pytest


def _spec(built, name):
    import coremltools as ct

    recipe, build_dir, report = built(name)
    assert report.ok, report.error
    ext = "mlmodel" if recipe.convert.format == "neuralnetwork" else "mlpackage"
    return ct.utils.load_spec(str(build_dir / "coreml" / f"{name}.{ext}"))


def _custom_layers(spec):
    return [layer for layer in spec.neuralNetwork.layers if layer.WhichOneof("layer") == "custom"]


def _params(layer):
    return {k: getattr(v, v.WhichOneof("value")) for k, v in layer.custom.parameters.items()}


def test_square_becomes_custom_layers(built):
    spec = _spec(built, "square_layer")
    assert spec.WhichOneof("Type") == "neuralNetwork"
    assert spec.specificationVersion == 4  # iOS 13
    layers = _custom_layers(spec)
    assert [layer.custom.className for layer in layers] == ["CustomSquareLayer"] * 2
    assert all(len(layer.input) == 1 and len(layer.output) == 1 for layer in layers)
    assert all(_params(layer) == {} for layer in layers)


def test_two_input_op_layer_has_inputs_and_parameters(built):
    layers = _custom_layers(_spec(built, "gated_layer"))
    assert [layer.custom.className for layer in layers] == ["GatedLayer"] * 2
    for layer in layers:
        assert len(layer.input) == 2
        assert _params(layer) == {"fast": True, "variant": "v1", "tile": 4}
        assert layer.custom.description == "a * sigmoid(b)"


def test_attribute_becomes_layer_parameter(built):
    (layer,) = _custom_layers(_spec(built, "scaled_tanh_layer"))
    assert layer.custom.className == "ScaledTanhLayer"
    assert _params(layer) == {"alpha": pytest.approx(0.75)}


@pytest.mark.parametrize("name", ["square_inline", "half_tanh_inline"])
def test_inline_leaves_no_custom_op(built, name):
    from pipeline_runner.validate.custom_layers import program_op_types

    spec = _spec(built, name)
    assert spec.WhichOneof("Type") == "mlProgram"
    ops = program_op_types(spec)
    assert not [t for t in ops if t.startswith("pipeline_runner_custom_")]
    assert ops["mul"] >= 1  # the function body (Mul) is there
    input_type = spec.description.input[0].type.multiArrayType
    assert input_type.dataType == input_type.INT32


def test_validation_report_has_custom_ops(built):
    import json

    for name, expected in (("square_layer", {"CustomSquareLayer": 2}), ("square_inline", {})):
        _, build_dir, _ = built(name)
        report = json.loads((build_dir / "validation" / f"{name}.json").read_text())
        section = report["checks"]["custom_ops"]
        assert section["passed"] and section["custom_layers"] == expected
        assert report["checks"]["onnx_vs_pytorch"]["outputs"]["logits"]["max_abs_error"] < 1e-4


def test_check_custom_ops_reports_wrong_class_and_parameters(built):
    from pipeline_runner.validate.custom_layers import check_custom_ops

    recipe, _, _ = built("gated_layer")
    spec = _spec(built, "gated_layer")
    op = recipe.custom_ops[0]
    wrong = dataclasses.replace(op, class_name="OtherLayer", parameters={"tile": 5})
    info, failures = check_custom_ops(spec, [wrong], "neuralnetwork")
    assert not info["passed"]
    assert any("no custom layer with class name 'OtherLayer'" in f for f in failures)
    assert any("['GatedLayer'] are not declared" in f for f in failures)

    params = dataclasses.replace(op, parameters={"tile": 5, "extra": 1.0})
    _, failures = check_custom_ops(spec, [params], "neuralnetwork")
    assert any("tile=4, recipe says 5" in f for f in failures)
    assert any("lacks parameter 'extra'" in f for f in failures)


def test_check_custom_ops_reports_layer_left_for_inline_op(built):
    from pipeline_runner.validate.custom_layers import check_custom_ops

    recipe, _, _ = built("square_layer")
    inline = dataclasses.replace(recipe.custom_ops[0], mapping="inline")
    _, failures = check_custom_ops(_spec(built, "square_layer"), [inline], "neuralnetwork")
    assert any("mapping is inline but the model has 2 custom layer(s) 'CustomSquareLayer'" in f for f in failures)

