"""Flexible Core ML shapes (inputs[].coreml): recipe checks, the shape plan, conversion, validation at every shape."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline_runner.convert import shape_specs
from pipeline_runner.errors import RecipeError
from pipeline_runner.recipe import load_recipe
from tests.conftest import read_json

TRANSFORMER = """\
name: {name}
model:
  source: builtin
  architecture: custom_transformer
  params: {{vocab_size: 4000, max_seq_len: 16, dim: 32, depth: 1, heads: 2, activation: "pipeline_runner::custom_square"}}
inputs:
  - name: input_ids
    shape: [1, 16]
    dtype: int32
    range: [0, 4000]
    dynamic_axes: {{0: batch, 1: sequence}}
    coreml:
      axes: {{1: {{enumerated: [4, 8, 16]}}}}
outputs:
  - name: logits
    kind: logits
custom_ops:
  - name: custom_square
    torch: {{op: "pipeline_runner::custom_square"}}
    onnx:
      domain: pipeline_runner
      op_type: CustomSquare
      function: "CustomSquare (x) => (y) {{ y = Mul(x, x) }}"
    coreml: {{mapping: {mapping}}}
convert: {{format: {format}{precision}}}
ios: {{deployment_target: "{target}", wrapper: token_model, class_name: TinyLM}}
validate:
  samples: 2
"""
INLINE = TRANSFORMER.format(name="tiny_inline", mapping="inline", format="mlprogram", precision=", precision: fp32",
                            target="18")
LAYER = TRANSFORMER.format(name="tiny_layer", mapping="custom_layer, class_name: CustomSquareLayer",
                           format="neuralnetwork", precision="", target="13")

MLP = """\
name: tiny_mlp
model:
  source: python
  architecture: tests.fixtures.tiny_models:tiny_mlp
inputs:
  - name: x
    shape: [2, 8]
    dynamic_axes: {0: batch}
    coreml:
      axes: {0: %s}
outputs:
  - name: y
convert: {format: neuralnetwork}
ios: {deployment_target: "13"}
validate:
  samples: 2
"""


def problems_of(path):
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return info.value.problems


# ------------------------------------------------------------------ the plan


def _graph(coreml: dict, shape=(1, 16), dynamic=None, image=False) -> dict:
    spec = {"name": "ids", "shape": list(shape), "dynamic_axes": dynamic or {"0": "batch", "1": "sequence"},
            "coreml": coreml}
    if image:
        spec["image"] = {}
    return {"inputs": [spec]}


def test_plan_enumerations_multiply_and_default_comes_first():
    plan = shape_specs.plan(_graph({"axes": {"0": {"enumerated": [1, 4]}, "1": {"enumerated": [8, 16]}}}))
    assert [v.name for v in plan.variants] == ["ids_1x16", "ids_1x8", "ids_4x8", "ids_4x16"]
    assert plan.default.shapes == {"ids": (1, 16)} and plan.flexible and not plan.notes


def test_plan_shape_sets_and_ranges_and_their_validation_shapes():
    plan = shape_specs.plan(_graph({"shapes": [[1, 16], [4, 8]]}))
    assert [v.shapes["ids"] for v in plan.variants] == [(1, 16), (4, 8)]
    graph = _graph({"axes": {"1": {"range": [2, 32], "default": 16}}})
    assert len(shape_specs.plan(graph).variants) == 1
    shapes = [s["ids"] for _, s in shape_specs.validation_shapes(graph)]
    assert shapes == [(1, 16), (1, 2), (1, 17), (1, 32)]  # the default, then the low end, middle and high end


def test_notes_say_what_is_fixed_and_that_image_batches_belong_to_the_wrapper():
    notes = shape_specs.plan(_graph({}, dynamic={"1": "sequence"})).notes
    assert notes == ["input 'ids' axis 1 (sequence) is fixed to 16 in Core ML "
                     "(declare inputs[].coreml.axes.1 to keep it flexible)"]
    [note] = shape_specs.plan(_graph({}, shape=(1, 3, 8, 8), dynamic={"0": "batch"}, image=True)).notes
    assert "stays dynamic in ONNX" in note and "predictions(fromBatch:)" in note


# ------------------------------------------------------------------ recipe checks


def test_recipe_errors_name_the_field(write_recipe):
    text = (INLINE.replace("[4, 8, 16]", "[4, 8]")  # the dummy length 16 is missing
            .replace('deployment_target: "18"', 'deployment_target: "17"')
            .replace("      axes: {1:", "      axes: {2: fixed, 1:"))
    problems = problems_of(write_recipe(text))
    paths = {p.yaml_path: p for p in problems}
    assert "not one of the input's dynamic_axes" in paths["inputs[0].coreml.axes.2"].message
    assert "dummy size 16 is not among the sizes" in paths["inputs[0].coreml.axes.1.enumerated"].message
    assert "needs iOS 18" in paths["ios.deployment_target"].message


def test_range_on_an_ml_program_is_refused_with_the_way_out(write_recipe):
    [p] = problems_of(write_recipe(INLINE.replace("{enumerated: [4, 8, 16]}", "{range: [1, 16]}")))
    assert p.yaml_path == "inputs[0].coreml.axes.1.range"
    assert "onnx2coreml" in p.message and "enumerated" in p.hint


def test_image_inputs_take_sizes_not_axes(write_recipe):
    from tests.conftest import TINY_VIT

    text = TINY_VIT.replace("    dynamic_axes: {0: batch}", "    dynamic_axes: {0: batch}\n    coreml: {axes: {0: {enumerated: [1, 4]}}}")
    [p] = problems_of(write_recipe(text))
    assert p.yaml_path == "inputs[0].coreml.axes"
    assert "no batch axis" in p.message and "predictions(fromBatch:)" in p.hint


# ------------------------------------------------------------------ end to end


def test_inline_transformer_is_one_function_per_length_and_validated_at_each(write_recipe, run_cli, tmp_path):
    import coremltools as ct

    code, out, err = run_cli(write_recipe(INLINE))
    assert code == 0, out + err
    root = tmp_path / "build" / "tiny_inline"
    spec = ct.utils.load_spec(str(root / "coreml" / "tiny_inline.mlpackage"))
    functions = {f.name: list(f.input[0].type.multiArrayType.shape) for f in spec.description.functions}
    assert functions == {"input_ids_1x16": [1, 16], "input_ids_1x4": [1, 4], "input_ids_1x8": [1, 8]}
    assert spec.description.defaultFunctionName == "input_ids_1x16"

    convert_info = read_json(root / "manifest.json")["stages"]["convert[tiny_inline]"]["info"]
    # folding runs after pinning for each shape: one record per function, the default's first
    assert len(convert_info["folding_per_shape"]) == 3
    assert convert_info["folding"] == convert_info["folding_per_shape"][0]
    assert all(f["nodes_after"] <= f["nodes_before"] for f in convert_info["folding_per_shape"])
    info = convert_info["coreml_shapes"]
    assert info["kind"] == "multifunction"
    assert info["growth"] < 0.10, info  # weights stored once
    assert info["package_bytes"] > info["fixed_shape_package_bytes"]

    report = read_json(root / "validation" / "tiny_inline.json")
    assert report["passed"], report["failures"]
    shapes = report["checks"]["coreml_shapes"]
    assert sorted(shapes["shapes"]) == ["input_ids_1x4", "input_ids_1x8"]
    for label, entry in shapes["shapes"].items():
        numerics = entry["coreml_numerics"]
        assert numerics["where"] == "linux-reference" and numerics["function"] == label
        assert numerics["outputs"]["logits"]["max_abs_error"] < 1e-3
        assert entry["onnx_vs_pytorch"]["outputs"]["logits"]["max_abs_error"] < 1e-4
    assert report["checks"]["onnx_dynamic_axes"]["shapes"] == {"input_ids": [2, 16]}  # only the batch doubled

    html = (root / "report.html").read_text()
    assert "Core ML (reference executor) vs PyTorch at input_ids_1x4" in html  # every shape in the report

    swift = (root / "swift" / "TinyLM.swift").read_text()
    assert "public static let sequenceLengths: [Int] = [4, 8, 16]" in swift
    assert '["input_ids_1x4", "input_ids_1x8", "input_ids_1x16"]' in swift


def test_reference_executor_runs_each_named_function(write_recipe, run_cli, tmp_path):
    from pipeline_runner.coreml_reference import InputError, load_model

    code, out, err = run_cli(write_recipe(INLINE))
    assert code == 0, out + err
    path = tmp_path / "build" / "tiny_inline" / "coreml" / "tiny_inline.mlpackage"
    ids = np.arange(16, dtype=np.int32)[None] % 4000
    full = load_model(path).predict({"input_ids": ids})["logits"]
    short = load_model(path, function="input_ids_1x4").predict({"input_ids": ids[:, :4]})["logits"]
    assert full.shape == (1, 16, 4000) and short.shape == (1, 4, 4000)
    np.testing.assert_allclose(short, full[:, :4], atol=1e-4)  # causal: a prefix computes the same
    with pytest.raises(InputError, match="input_ids_1x8"):
        load_model(path, function="input_ids_1x5")


def test_neuralnetwork_refuses_lengths_its_layers_cannot_take(write_recipe, run_cli):
    code, out, err = run_cli(write_recipe(LAYER))
    assert code == 1
    assert "shape-polymorphic" in out + err and "layer '" in out + err
    assert "Traceback" not in out + err  # a stage error in recipe terms


@pytest.mark.parametrize("choice, shapes", [
    ("{enumerated: [1, 2, 4]}", {"enumerated": [(1, 8), (2, 8), (4, 8)]}),
    ("{range: [1, 6]}", {"ranges": [(1, 6), (8, 8)]}),
])
def test_neuralnetwork_flexible_inputs_when_the_layers_allow(write_recipe, run_cli, tmp_path, choice, shapes):
    import coremltools as ct

    from pipeline_runner.coreml_reference import InputError, load_model
    from pipeline_runner.coreml_reference.model import flexible_shapes

    code, out, err = run_cli(write_recipe(MLP % choice))
    assert code == 0, out + err
    root = tmp_path / "build" / "tiny_mlp"
    spec = ct.utils.load_spec(str(root / "coreml" / "tiny_mlp.mlmodel"))
    assert flexible_shapes(spec.description.input[0].type.multiArrayType) == shapes
    report = read_json(root / "validation" / "tiny_mlp.json")
    assert report["passed"], report["failures"]
    checked = {tuple(e["shapes"]["x"]) for e in report["checks"]["coreml_shapes"]["shapes"].values()}
    assert checked == ({(1, 8), (4, 8)} if "enumerated" in shapes else {(1, 8), (3, 8), (6, 8)})
    with pytest.raises(InputError, match="the model takes"):
        load_model(root / "coreml" / "tiny_mlp.mlmodel").predict({"x": np.zeros((7, 8), np.float32)})


CNN = """\
name: tiny_cnn
model:
  source: python
  architecture: tests.fixtures.tiny_models:tiny_cnn
inputs:
  - name: image
    shape: [1, 3, 32, 32]
    dynamic_axes: {0: batch, 2: height, 3: width}
    image: {mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25]}
    coreml:
      sizes: [[32, 32], [48, 64]]
outputs:
  - name: logits
    kind: logits
convert: {format: mlprogram, precision: fp32}
ios: {deployment_target: "18", wrapper: image_classifier, class_name: TinyCNN}
validate:
  samples: 2
"""


def test_enumerated_image_sizes_are_functions_and_the_batch_is_a_note(write_recipe, run_cli, tmp_path):
    import coremltools as ct

    code, out, err = run_cli(write_recipe(CNN))
    assert code == 0, out + err
    root = tmp_path / "build" / "tiny_cnn"
    spec = ct.utils.load_spec(str(root / "coreml" / "tiny_cnn.mlpackage"))
    sizes = {f.name: (f.input[0].type.imageType.height, f.input[0].type.imageType.width)
             for f in spec.description.functions}
    assert sizes == {"image_1x3x32x32": (32, 32), "image_1x3x48x64": (48, 64)}
    report = read_json(root / "validation" / "tiny_cnn.json")
    assert report["passed"], report["failures"]
    entry = report["checks"]["coreml_shapes"]["shapes"]["image_1x3x48x64"]
    assert entry["coreml_numerics"]["function"] == "image_1x3x48x64"
    assert entry["coreml_numerics"]["outputs"]["logits"]["max_abs_error"] < 1e-3
    notes = read_json(root / "manifest.json")["stages"]["convert[tiny_cnn]"]["notes"]
    assert len(notes) == 1 and "predictions(fromBatch:)" in notes[0]
    swift = (root / "swift" / "TinyCNN.swift").read_text()
    assert "public func classify(_ images: [CGImage], topK: Int = 5) async throws -> [[Prediction]]" in swift


@pytest.mark.slow
def test_shipped_inline_transformer_takes_four_lengths_in_a_small_package(tmp_path_factory):
    import os

    import coremltools as ct

    from pipeline_runner.cli import main
    from tests.conftest import REPO

    build = os.environ.get("PIPELINE_TEST_BUILD") or str(tmp_path_factory.mktemp("build"))
    assert main([str(REPO / "pipelines" / "custom_transformer_inline.yaml"), "--build-dir", build]) == 0
    root = REPO / build / "custom_transformer_inline"
    spec = ct.utils.load_spec(str(root / "coreml" / "custom_transformer_inline.mlpackage"))
    lengths = sorted(f.input[0].type.multiArrayType.shape[1] for f in spec.description.functions)
    assert lengths == [16, 32, 64, 128]
    info = read_json(root / "manifest.json")["stages"]["convert[custom_transformer_inline]"]["info"]["coreml_shapes"]
    assert info["growth"] < 0.10, info
    checks = read_json(root / "validation" / "custom_transformer_inline.json")["checks"]
    assert checks["coreml_numerics"]["function"] == "input_ids_1x128"
    assert sorted(checks["coreml_shapes"]["shapes"]) == ["input_ids_1x16", "input_ids_1x32", "input_ids_1x64"]
    assert all(s["coreml_numerics"]["passed"] and s["coreml_numerics"]["where"] == "linux-reference"
               for s in checks["coreml_shapes"]["shapes"].values())
