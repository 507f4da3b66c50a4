"""`check` on hostile or subtly wrong recipes: every case a located problem and exit 2, never a crash."""

from __future__ import annotations

import time

import pytest

from pipeline_runner.errors import RecipeError
from pipeline_runner.recipe import load_recipe
from tests.conftest import TINY_VIT


def problems_of(path):
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return info.value.problems


def one(path, yaml_path: str):
    found = [p for p in problems_of(path) if p.yaml_path == yaml_path]
    assert found, [str(p) for p in problems_of(path)]
    return found[0]


def test_merge_keys_merge_and_own_keys_win(write_recipe):
    text = TINY_VIT.replace("validate:\n  samples: 2\n",
                            "validate:\n  <<: {samples: 5, seed: 7}\n  samples: 2\n")
    recipe = load_recipe(write_recipe(text))
    assert recipe.validate.samples == 2 and recipe.validate.seed == 7
    aliased = TINY_VIT.replace("export:\n  opset: 17\n", "export: &exp\n  opset: 18\n") + "x: {<<: *exp}\n"
    [p] = problems_of(write_recipe(aliased))  # the merge works; the unknown top-level key is the only problem
    assert p.yaml_path == "x" and "unknown key" in p.message


def test_non_utf8_names_the_byte_offset(write_recipe, tmp_path):
    path = tmp_path / "latin1.yaml"
    raw = TINY_VIT.replace("name: tiny_vit", "name: tiny_vit\ndescription: caf\xe9").encode("latin-1")
    path.write_bytes(raw)
    [p] = problems_of(path)
    offset = raw.index(b"\xe9")
    assert f"byte offset {offset}" in p.message and "0xe9" in p.message
    assert p.line == 2 and p.column == len("description: caf") + 1


ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


@pytest.mark.parametrize("text, message", [
    (ALIAS_BOMB, "expands to more than"),
    ("name: &a [*a]\n", "nesting deeper"),
    ("name: " + "[" * 1000 + "]" * 1000 + "\n", "nesting deeper"),
    ("name: x\nmodel: {<<: &m {<<: *m}}\n", "merge"),
    ("name: !!int x\n", "cannot read 'x' as int"),
    ("name: x\nmodel: {params: {when: 2024-01-02}}\n", "a date"),
    ("name: !!binary aGVsbG8=\n", "binary"),
    ("name: !!set {a, b}\n", "a set"),
    ("name: !custom x\n", "tag '!custom'"),
    ("name: x\x00y\n", "cannot read character"),
    ("name: 123456789012345678901234567890\n", "too large"),
    ("", "empty"),
    ("--- a\n--- b\n", "YAML syntax error"),
])
def test_hostile_yaml_is_a_located_problem_quickly(write_recipe, text, message):
    started = time.perf_counter()
    problems = problems_of(write_recipe(text))
    assert time.perf_counter() - started < 2.0
    assert any(message in p.message for p in problems), [str(p) for p in problems]


@pytest.mark.parametrize("old, new, yaml_path, message", [
    ("name: tiny_vit", 'name: "tiny\\n"', "name", "control character"),
    ("name: tiny_vit", "name: " + "n" * 300, "name", "too long"),
    ("  class_name: TinyViT", '  class_name: "TinyViT\\n"', "ios.class_name", "control character"),
    ("  opset: 17", "  opset: 17.0", "export.opset", "expected integer"),
    ("  samples: 2", "  samples: 1000000000", "validate.samples", "maximum"),
    ("  samples: 2", "  samples: 2\n  tolerances: {onnx: {max_abs: .nan}}", "validate.tolerances.onnx.max_abs", "finite"),
    ("std: [0.2, 0.25, 0.3]", "std: [.inf, 0.25, 0.3]", "inputs[0].image.std[0]", "finite"),
    ("  precision: fp32", "  precision: fp16\n  fp32_op_types: [sofmax]", "convert.fp32_op_types[0]", "not a Core ML"),
    ("{0: batch}", "{-4: batch}", "inputs[0].dynamic_axes.-4", "negative axis"),
    ("{0: batch}", "{9: batch}", "inputs[0].dynamic_axes.9", "outside the input's rank"),
    ("shape: [1, 3, 32, 32]", "shape: [1, 3, 32, 32]\n    range: [0, 0]", "inputs[0].range", "empty"),
    ("shape: [1, 3, 32, 32]", "shape: [64, 3, 4096, 4096]", "inputs[0].shape", "elements"),
    ("architecture: vit", "architecture: vitt", "model.architecture", "unknown builtin architecture 'vitt'"),
    ("dim: 32", "dimm: 32", "model.params.dimm", "no parameter 'dimm'"),
    ("dim: 32", "dim: '32'", "model.params.dim", "expected int"),
])
def test_mistakes_that_used_to_fail_later_are_found_by_check(write_recipe, old, new, yaml_path, message):
    assert old in TINY_VIT
    p = one(write_recipe(TINY_VIT.replace(old, new, 1)), yaml_path)
    assert message in p.message, str(p)
    assert p.line is not None


def test_negative_axis_hint_names_the_positive_axis(write_recipe):
    p = one(write_recipe(TINY_VIT.replace("{0: batch}", "{-4: batch}")), "inputs[0].dynamic_axes.-4")
    assert p.hint == "write it as axis 0 (counted from 0)"


def test_suggestions_for_builtin_names(write_recipe):
    text = TINY_VIT.replace("architecture: vit", "architecture: vitt")
    assert one(write_recipe(text), "model.architecture").hint == "did you mean 'vit'?"
    text = TINY_VIT.replace("dim: 32", "dimm: 32")
    assert one(write_recipe(text), "model.params.dimm").hint == "did you mean 'dim'?"
    text = TINY_VIT.replace("  precision: fp32", "  precision: fp16\n  fp32_op_types: [sofmax]")
    assert one(write_recipe(text), "convert.fp32_op_types[0]").hint == "did you mean 'softmax'?"


def test_wrapper_must_fit_the_inputs(write_recipe):
    text = TINY_VIT.replace("    image: {mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3]}\n", "")
    p = one(write_recipe(text), "ios.wrapper")
    assert "needs an input with `image:`" in p.message
    token = TINY_VIT.replace("wrapper: image_classifier", "wrapper: token_model")
    assert "integer token ids" in one(write_recipe(token), "ios.wrapper").message


def test_schema_and_semantic_problems_are_reported_together(write_recipe):
    text = (TINY_VIT.replace("  precision: fp32", "  precision: fp64")
            .replace("{0: batch}", "{7: batch}"))
    paths = {p.yaml_path for p in problems_of(write_recipe(text))}
    assert {"convert.precision", "inputs[0].dynamic_axes.7"} <= paths


def test_a_broken_section_skips_only_the_checks_that_read_it(write_recipe):
    text = TINY_VIT.replace("  source: builtin\n", "")  # model is broken; the wrapper check still runs
    text = text.replace("    image: {mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3]}\n", "")
    paths = {p.yaml_path for p in problems_of(write_recipe(text))}
    assert "model" in paths and "ios.wrapper" in paths


def test_static_op_list_matches_coremltools():
    pytest.importorskip("coremltools")
    from coremltools.converters.mil.mil.ops.registry import SSAOpRegistry

    import coremltools.converters.mil.mil.ops.defs  # noqa: F401  registers the ops
    from pipeline_runner.recipe.mil_ops import MIL_OP_TYPES

    assert MIL_OP_TYPES == {n for n in SSAOpRegistry.core_ops if not n.startswith("_")}


def test_builtin_catalog_matches_the_factories():
    import inspect

    from pipeline_runner.models.builtin import CATALOG, architectures

    for name, factory in architectures().items():
        params = [p for p in inspect.signature(factory).parameters if p != "self"]
        assert sorted(params) == sorted(CATALOG[name].params), name
