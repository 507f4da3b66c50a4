"""The compress stage on the tiny ViT: packages, the size/accuracy table, the suggestion, the
manifest, per-variant failure vs a required variant, caching, and the Swift wrapper's variant."""

from __future__ import annotations

import json

from tests.conftest import TINY_VIT, read_json, stage_statuses

VARIANTS = """\
compress:
  tolerance: {min_cosine: 0.99}
  variants:
    - name: int8
      linear_quantize: {mode: linear_symmetric, weight_threshold: 256}
    - name: palettize4
      palettize: {nbits: 4, mode: uniform, weight_threshold: 256}
    - name: palettize1
      palettize: {nbits: 1, mode: uniform, weight_threshold: 256}
      tolerance: {min_cosine: 0.9999}
"""


def recipe_text(required: bool = False, variant: str = "palettize4") -> str:
    text = TINY_VIT.replace("  wrapper: image_classifier", f"  wrapper: image_classifier\n  variant: {variant}")
    text += VARIANTS
    return text + ("      required: true\n" if required else "")


def test_variants_table_suggestion_and_wrapper(write_recipe, run_cli, tmp_path):
    path = write_recipe(recipe_text())
    code, out, err = run_cli(path)
    assert code == 0, out + err
    build = tmp_path / "build" / "tiny_vit"
    report = read_json(build / "compressed" / "tiny_vit.json")
    variants = report["variants"]
    assert set(variants) == {"uncompressed", "int8", "palettize4", "palettize1"}
    assert variants["int8"]["passed"] and variants["palettize4"]["passed"]
    # 1-bit palettes are far outside a 0.9999 cosine: that variant fails, the recipe does not
    assert not variants["palettize1"]["passed"] and "cosine" in variants["palettize1"]["vs_pytorch"]["logits"]["reasons"][0]
    assert variants["int8"]["ratio"] < 0.6 and variants["palettize4"]["ratio"] < variants["int8"]["ratio"]
    assert list(variants["int8"]["compressed_ops"]["constexpr"]) == ["constexpr_affine_dequantize"]
    assert variants["int8"]["compressed_ops"]["consumers"]["linear"] == 9
    assert variants["palettize4"]["vs_coreml"]["logits"]["cosine_similarity"] > 0.99
    assert report["suggested"] == "palettize4"  # the smallest passing; palettize1 is smaller but failed
    for name in ("int8", "palettize4", "palettize1"):
        assert (build / "compressed" / "tiny_vit" / f"{name}.mlpackage" / "Manifest.json").exists()
    from pipeline_runner.coreml_reference.model import read_spec

    metadata = read_spec(build / "compressed" / "tiny_vit" / "int8.mlpackage")[0].description.metadata.userDefined
    assert json.loads(metadata["pipeline_runner.compression"])["name"] == "int8"
    assert metadata["pipeline_runner.recipe"] == "tiny_vit"  # convert's provenance is kept

    manifest = read_json(build / "manifest.json")
    info = manifest["stages"]["compress[tiny_vit]"]["info"]
    assert info["suggested"] == "palettize4" and [r["variant"] for r in info["table"]][0] == "uncompressed"
    assert read_json(build / "validation.json")["compression"]["tiny_vit"]["suggested"] == "palettize4"
    assert "| palettize4 |" in out and "suggested variant: palettize4" in out

    interface = read_json(build / "swift" / "interface.json")
    assert interface["bundle_names"]["compressed/tiny_vit/palettize4.mlpackage"] == "tiny_vit_palettize4.mlpackage"
    assert 'modelResourceName: String = "tiny_vit_palettize4"' in (build / "swift" / "TinyViT.swift").read_text()

    # another tolerance for one variant reruns the compress stage only (and the Swift that reads it)
    path.write_text(recipe_text().replace("min_cosine: 0.9999", "min_cosine: 0.5"))
    code, out, _ = run_cli(path)
    statuses = stage_statuses(out)
    assert code == 0 and statuses["convert[tiny_vit]"] == "cached" and statuses["compress[tiny_vit]"] == "ran"
    assert read_json(build / "compressed" / "tiny_vit.json")["suggested"] == "palettize1"


def test_a_required_variant_outside_tolerance_fails_the_recipe(write_recipe, run_cli, tmp_path):
    code, out, err = run_cli(write_recipe(recipe_text(required=True)))
    assert code == 1
    assert "variant palettize1 of tiny_vit failed" in out + err
    assert json.loads((tmp_path / "build" / "tiny_vit" / "compressed" / "tiny_vit.json").read_text())["passed"] is False
