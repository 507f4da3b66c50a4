"""The compress section and ios.variant in a recipe: what iOS a variant needs, and located errors."""

from __future__ import annotations

import pytest

from pipeline_runner.compress.variants import ios18_reasons, min_ios, variants_for
from pipeline_runner.errors import RecipeError
from pipeline_runner.recipe import load_recipe
from tests.conftest import TINY_VIT


def with_compress(variants: str, target: str = "18", variant_line: str = "") -> str:
    text = TINY_VIT.replace("  wrapper: image_classifier", f"  wrapper: image_classifier\n  deployment_target: \"{target}\""
                                                          + (f"\n  variant: {variant_line}" if variant_line else ""))
    return text + "compress:\n  variants:\n" + variants


def problems_of(path):
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return info.value.problems


def test_ios_needed_by_each_setting():
    assert min_ios({"palettize": {"nbits": 4}}) == 16
    assert min_ios({"linear_quantize": {"granularity": "per_channel"}}) == 16
    assert min_ios({"quantize_activations": {}, "linear_quantize": {}}) == 17
    assert ios18_reasons({"palettize": {"nbits": 4, "granularity": "per_grouped_channel"}}) == [
        "palettize.granularity: per_grouped_channel"]
    assert ios18_reasons({"palettize": {"nbits": 3}}) == ["palettize.nbits: 3"]
    assert ios18_reasons({"palettize": {"nbits": 4, "op_name_configs": {"x": {"nbits": 3}}}}) == ["palettize.nbits: 3"]
    assert ios18_reasons({"linear_quantize": {"dtype": "int4"}}) == ["linear_quantize.dtype: int4"]
    assert ios18_reasons({"prune": {}, "palettize": {}}) == [
        "pruning combined with palettization or quantization (joint compression)"]


def test_variants_apply_to_their_graphs():
    from types import SimpleNamespace

    from pipeline_runner.recipe.typed import CompressSpec, Tolerance

    recipe = SimpleNamespace(compress=CompressSpec(Tolerance(), ({"name": "a"}, {"name": "b", "graphs": ["text"]})))
    assert [v["name"] for v in variants_for(recipe, "image")] == ["a"]
    assert [v["name"] for v in variants_for(recipe, "text")] == ["a", "b"]


def test_valid_compress_section_gets_defaults(write_recipe):
    recipe = load_recipe(write_recipe(with_compress("    - name: p4\n      palettize: {nbits: 4}\n",
                                                    variant_line="p4")))
    section = recipe.compress
    assert section.tolerance.as_dict() == {"min_cosine": 0.99, "top1_agreement": 0.8, "max_error_to_spread": 0.3}
    assert section.variants[0]["required"] is False
    assert recipe.ios.variant == "p4"


def test_a_variant_above_the_deployment_target_is_located(write_recipe):
    path = write_recipe(with_compress(
        "    - name: g4\n      palettize: {nbits: 4, granularity: per_grouped_channel}\n", target="17"))
    [p] = problems_of(path)
    assert p.yaml_path == "compress.variants[0]"
    assert "needs iOS 18 (palettize.granularity: per_grouped_channel)" in p.message
    assert 'raise ios.deployment_target to "18"' in p.hint


def test_unknown_variant_graph_duplicate_and_bad_setting(write_recipe):
    path = write_recipe(with_compress(
        "    - name: a\n      palettize: {nbits: 4}\n"
        "    - name: a\n      graphs: [nope]\n      prune: {target_sparsity: 0.5}\n", variant_line="b"))
    problems = {p.yaml_path: p for p in problems_of(path)}
    assert "duplicate variant name 'a'" in problems["compress.variants[1].name"].message
    assert "unknown graph 'nope'" in problems["compress.variants[1].graphs[0]"].message
    assert "no compression variant named 'b'" in problems["ios.variant"].message


def test_a_setting_coremltools_does_not_take_is_a_schema_error(write_recipe):
    [p] = problems_of(write_recipe(with_compress("    - name: a\n      palettize: {nbits: 5}\n")))
    assert p.yaml_path == "compress.variants[0].palettize.nbits" and "5 is not allowed" in p.message


def test_a_variant_without_any_compression_is_an_error(write_recipe):
    [p] = problems_of(write_recipe(with_compress("    - name: nothing\n")))
    assert p.yaml_path == "compress.variants[0]"


def test_neuralnetwork_models_cannot_be_compressed(write_recipe):
    text = with_compress("    - name: p4\n      palettize: {nbits: 4}\n").replace(
        "  precision: fp32", "  format: neuralnetwork\n  precision: fp32")
    problems = problems_of(write_recipe(text))
    assert any(p.yaml_path == "compress" and "convert.format: mlprogram" in p.message for p in problems)
