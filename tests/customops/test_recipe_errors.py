"""Recipe and export errors about custom ops name the field to change."""

from __future__ import annotations

import pytest

from pipeline_runner.errors import RecipeError
from tests.customops.conftest import recipe_text


def _problems(write_recipe, text) -> list:
    from pipeline_runner.recipe import load_recipe

    with pytest.raises(RecipeError) as info:
        load_recipe(write_recipe(text))
    return info.value.problems


def test_custom_layer_with_mlprogram_names_the_mapping(write_recipe):
    text = recipe_text("square_layer").replace("format: neuralnetwork", "format: mlprogram").replace('"13"', '"17"')
    (problem,) = _problems(write_recipe, text)
    assert problem.yaml_path == "custom_ops[0].coreml.mapping"
    assert "NeuralNetwork" in problem.message and "inline" in problem.hint


def test_dynamo_exporter_names_export_exporter(write_recipe):
    text = recipe_text("square_inline") + "export: {exporter: dynamo}\n"
    (problem,) = _problems(write_recipe, text)
    assert problem.yaml_path == "export.exporter"
    assert "torchscript" in problem.message and "custom_square" in problem.message


def test_undeclared_attribute_names_it(write_recipe):
    text = recipe_text("square_inline").replace("      op_type: CustomSquare\n",
                                                "      op_type: CustomSquare\n      attributes: {beta: 2}\n")
    (problem,) = _problems(write_recipe, text)
    assert problem.yaml_path == "custom_ops[0].onnx.attributes.beta"
    assert "declares no attribute 'beta'" in problem.message


def test_layer_parameter_may_not_shadow_an_attribute(write_recipe):
    text = recipe_text("scaled_tanh_layer").replace(
        "class_name: ScaledTanhLayer}", "class_name: ScaledTanhLayer, parameters: {alpha: 2.0}}")
    (problem,) = _problems(write_recipe, text)
    assert problem.yaml_path == "custom_ops[0].coreml.parameters.alpha"


def test_list_attribute_cannot_be_a_layer_parameter(write_recipe):
    text = recipe_text("scaled_tanh_layer").replace("      op_type: ScaledTanh\n",
                                                    "      op_type: ScaledTanh\n      attributes: {alpha: [1.0, 2.0]}\n")
    (problem,) = _problems(write_recipe, text)
    assert problem.yaml_path == "custom_ops[0].onnx.attributes.alpha"
    assert "custom layer parameter" in problem.message


def test_module_form_is_not_supported(write_recipe):
    text = recipe_text("square_inline").replace('torch: {op: "pipeline_runner::custom_square"}',
                                                'torch: {module: "my.pkg:Square"}')
    problems = _problems(write_recipe, text)
    assert {p.yaml_path for p in problems} >= {"custom_ops[0].torch.module"}
    assert any("unknown key 'module'" in p.message for p in problems)


def test_unregistered_torch_op_fails_export_naming_the_field(write_recipe, tmp_path):
    from pipeline_runner.engine.runner import run_recipe
    from pipeline_runner.recipe import load_recipe

    text = recipe_text("square_inline").replace('op: "pipeline_runner::custom_square"', 'op: "nowhere::missing"')
    report = run_recipe(load_recipe(write_recipe(text)), tmp_path / "build", log=lambda msg: None)
    assert not report.ok
    assert "custom_ops[0].torch.op: 'nowhere::missing' is not a registered torch op" in str(report.error)
    statuses = {o.name: o.status for o in report.outcomes}
    assert statuses["export[square_inline]"] == "failed"


def test_function_opset_header_mismatch_fails_export(write_recipe, tmp_path):
    from pipeline_runner.engine.runner import run_recipe
    from pipeline_runner.recipe import load_recipe

    text = recipe_text("square_inline").replace(
        'function: "CustomSquare (x) => (y) { y = Mul(x, x) }"',
        'function: \'<domain: "pipeline_runner", opset_import: ["": 15]> CustomSquare (x) => (y) { y = Mul(x, x) }\'')
    report = run_recipe(load_recipe(write_recipe(text)), tmp_path / "build", log=lambda msg: None)
    assert not report.ok
    assert "custom_ops[0].onnx.function" in str(report.error) and "export.opset 17" in str(report.error)
