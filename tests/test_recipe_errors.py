"""Invalid recipes: every problem reported at once, located (file:line:column, YAML path), exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline_runner.errors import RecipeError
from pipeline_runner.recipe import load_recipe
from tests.conftest import REPO, TINY_VIT


def problems_of(path):
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return info.value.problems


def test_misspelled_key_names_line_column_and_suggestion(write_recipe):
    path = write_recipe(TINY_VIT.replace("  precision: fp32", "  precsion: fp32"))
    [p] = problems_of(path)
    assert p.yaml_path == "convert.precsion"
    assert (p.line, p.column) == (TINY_VIT.splitlines().index("  precision: fp32") + 1, 3)
    assert "unknown key 'precsion'" in p.message
    assert p.hint == "did you mean 'precision'?"
    assert str(p).startswith(f"{path}:{p.line}:3: convert.precsion:")


def test_all_problems_at_once_in_file_order(write_recipe):
    text = (TINY_VIT.replace("opset: 17", "opset: seventeen")
            .replace("precision: fp32", "precision: fp8")
            .replace("samples: 2", "samples: 2\n  colour: red"))
    problems = problems_of(write_recipe(text))
    assert [p.yaml_path for p in problems] == ["export.opset", "convert.precision", "validate.colour"]
    opset, precision, colour = problems
    assert "expected integer, got string 'seventeen'" in opset.message
    assert "'fp8' is not allowed; expected one of 'fp16', 'fp32'" in precision.message
    assert "allowed keys" in colour.hint
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_wrong_type_in_list_item_is_located(write_recipe):
    [p] = problems_of(write_recipe(TINY_VIT.replace("shape: [1, 3, 32, 32]", "shape: [1, 3, 32, x]")))
    assert p.yaml_path == "inputs[0].shape[3]"
    assert p.line == TINY_VIT.splitlines().index("    shape: [1, 3, 32, 32]") + 1


def test_yaml_syntax_error_points_at_line(write_recipe):
    [p] = problems_of(write_recipe(TINY_VIT.replace("  opset: 17", "  opset: [17")))
    assert "YAML syntax error" in p.message
    assert p.line is not None and p.line >= TINY_VIT.splitlines().index("  opset: 17") + 1


def test_duplicate_key_is_an_error(write_recipe):
    [p] = problems_of(write_recipe(TINY_VIT + "export:\n  opset: 18\n"))
    assert "duplicate key 'export'" in p.message


def test_missing_required_and_unknown_source(write_recipe):
    problems = problems_of(write_recipe(TINY_VIT.replace("source: builtin", "source: biultin")))
    assert problems[0].yaml_path == "model.source"
    assert problems[0].hint == "did you mean 'builtin'?"
    problems = problems_of(write_recipe("name: x\nmodel: {source: builtin}\ninputs: []\n"))
    assert any("'architecture' is a required property" in p.message for p in problems)


def test_semantic_checks(write_recipe, tmp_path):
    text = (TINY_VIT.replace("dynamic_axes: {0: batch}", "dynamic_axes: {4: batch}")
            .replace("ios:\n", "ios:\n  deployment_target: '13'\n"))
    problems = problems_of(write_recipe(text))
    messages = {p.yaml_path: p.message for p in problems}
    assert "outside the input's rank 4" in messages["inputs[0].dynamic_axes.4"]
    assert "ML Program needs iOS 15 or later" in messages["ios.deployment_target"]
    ckpt = TINY_VIT.replace("  params:", "  checkpoint: missing.safetensors\n  params:")
    [p] = problems_of(write_recipe(ckpt))
    assert p.yaml_path == "model.checkpoint" and "not found" in p.message


def test_integer_inputs_need_a_range(write_recipe):
    text = TINY_VIT.replace("    dynamic_axes: {0: batch}", "    dtype: int32")
    problems = {p.yaml_path: p.message for p in problems_of(write_recipe(text))}
    assert "range" in problems["inputs[0]"]
    assert "an image input must be float32" in problems["inputs[0].shape"]


def test_defaults_come_from_the_schema(write_recipe):
    recipe = load_recipe(write_recipe(TINY_VIT))
    assert recipe.convert.format == "mlprogram"
    assert recipe.export.exporter == "torchscript"
    assert recipe.validate.tolerances.onnx.max_rel == 1e-4 and recipe.validate.tolerances.onnx.max_abs is None
    assert recipe.graphs[0].inputs[0].dtype == "float32"
    assert recipe.graphs[0].inputs[0].image.resize == "center_crop"  # a default inside a $ref'd section
    assert recipe.ios.class_name == "TinyViT" and recipe.ios.labels is None  # optional, no default: None


def test_cli_exit_code_2_and_nothing_built(write_recipe, run_cli, tmp_path):
    path = write_recipe(TINY_VIT.replace("precision: fp32", "precision: fp64"))
    code, out, err = run_cli(path)
    assert code == 2
    assert "convert.precision" in err and f"{path}:" in err
    assert not (tmp_path / "build").exists()
    code, out, err = run_cli("check", path, "--json", build=False)
    assert code == 2 and '"yaml_path": "convert.precision"' in out


def test_check_is_fast_and_imports_no_ml_library():
    code = (
        "import sys; from pipeline_runner.cli import main; rc = main(['check', 'pipelines']); "
        "heavy = [m for m in ('torch', 'coremltools', 'onnxruntime', 'onnx2coreml') if m in sys.modules]; "
        "print(rc, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr


def test_nan_and_infinite_tolerances_are_refused(write_recipe, run_cli):
    path = write_recipe(TINY_VIT + "  tolerances:\n    coreml_fp32: {max_rel: .nan, min_cosine: .inf}\n")
    code, out, err = run_cli("check", path)
    assert code == 2
    assert "validate.tolerances.coreml_fp32.max_rel: expected a finite number, got nan" in out + err
    assert "validate.tolerances.coreml_fp32.min_cosine: expected a finite number, got inf" in out + err


def test_defaults_are_filled_through_refs_and_if_then_branches():
    from pipeline_runner.recipe.schema import defaults_validator, fill_defaults

    schema = {
        "$defs": {"tol": {"type": "object", "properties": {"max_abs": {"type": "number", "default": 0.5}}}},
        "type": "object",
        "properties": {
            "mode": {"enum": ["a", "b"], "default": "a"},
            "tol": {"$ref": "#/$defs/tol", "default": {}},
            "items": {"type": "array", "items": {"$ref": "#/$defs/tol"}},
        },
        "if": {"properties": {"mode": {"const": "b"}}, "required": ["mode"]},
        "then": {"properties": {"extra": {"type": "integer", "default": 7}}},
    }
    validator = defaults_validator(schema)
    assert fill_defaults({"items": [{}]}, validator) == {"mode": "a", "tol": {"max_abs": 0.5}, "items": [{"max_abs": 0.5}]}
    # the `then` branch applies only when `if` holds, and its defaults with it
    assert fill_defaults({"mode": "b"}, validator)["extra"] == 7
    original = {"items": []}
    fill_defaults(original, validator)
    assert original == {"items": []}  # a copy is filled, not the caller's data


def test_every_schema_field_has_a_typed_field():
    """A field added to the schema must be added to recipe/typed.py too, or stages could not read it."""
    import dataclasses

    from pipeline_runner.recipe import typed
    from pipeline_runner.recipe.custom_op import CustomOp
    from pipeline_runner.recipe.schema import load_schema

    schema = load_schema()
    defs = schema["$defs"]

    def names(cls):
        return {f.name for f in dataclasses.fields(cls)}

    pairs = {"model": typed.ModelSpec, "image": typed.ImageSpec, "input": typed.InputSpec, "output": typed.OutputSpec,
             "graph": typed.GraphSpec, "classifier": typed.ClassifierSpec, "export": typed.ExportSpec,
             "convert": typed.ConvertSpec, "ios": typed.IosSpec, "tolerance": typed.Tolerance,
             "validate": typed.ValidateSpec, "compress": typed.CompressSpec}
    for name, cls in pairs.items():
        assert set(defs[name]["properties"]) == names(cls), name
    assert set(defs["convert"]["properties"]["metadata"]["properties"]) == names(typed.MetadataSpec)
    assert set(defs["validate"]["properties"]["tolerances"]["properties"]) == names(typed.Tolerances)
    top = set(schema["properties"]) - {"inputs", "outputs"}  # the single-graph form becomes `graphs`
    assert top == names(typed.Recipe) - {"path", "doc", "sha256"}
    op = defs["custom_op"]["properties"]
    nested = {f"{section}.{key}" for section in ("torch", "onnx", "coreml") for key in op[section]["properties"]}
    mapped = {"torch.op": "torch_op", "onnx.function": "function_source", "coreml.mapping": "mapping",
              **{f"onnx.{k}": k for k in ("domain", "op_type", "version", "attributes")},
              **{f"coreml.{k}": k for k in ("class_name", "parameters", "description")}}
    assert nested == set(mapped)
    assert set(mapped.values()) | {"name", "index", "opset"} == names(CustomOp)
