"""MobileCLIP's image encoder and zero-shot classifier as functions of one package: the shared
image-tower weights are stored once, and each function computes what its own package does."""

from __future__ import annotations

import pytest

from pipeline_runner.errors import RecipeError
from pipeline_runner.recipe import load_recipe
from tests.conftest import read_json
from tests.mobileclip.common import tiny_recipe

SHARED = """\
compress:
  variants:
    - name: int8
      linear_quantize: {weight_threshold: 256}
  multifunction:
    - name: image_models
      functions: [image_encoder, zero_shot]
    - name: image_models_int8
      functions: [image_encoder, zero_shot]
      variant: int8
"""


def recipe(target: str = "18") -> str:
    return tiny_recipe().replace("ios: {wrapper: embedding_model, class_name: TinyCLIP}",
                                 f'ios: {{wrapper: embedding_model, class_name: TinyCLIP, deployment_target: "{target}"}}') + SHARED


def test_image_encoder_and_zero_shot_share_weights(write_recipe, run_cli, tmp_path):
    from pipeline_runner.coreml_reference import load_model

    code, out, err = run_cli(write_recipe(recipe()))
    assert code == 0, out + err
    build = tmp_path / "build" / "tiny_clip"
    for name in ("image_models", "image_models_int8"):
        report = read_json(build / "multifunction" / f"{name}.json")
        assert report["passed"] and all(f["identical"] for f in report["functions"].values())
        # the zero-shot graph repeats the image tower: shared, the package is below the sum (far
        # below for the fp32 weights; the int8 tiny packages are mostly spec and metadata)
        assert report["shared_bytes"] < (0.7 if name == "image_models" else 0.9) * report["separate_bytes"], report
    package = build / "multifunction" / "image_models.mlpackage"
    assert load_model(package).function == "image_encoder"  # the default function
    zero_shot = load_model(package, function="zero_shot")
    assert zero_shot.output_names == load_model(build / "coreml" / "zero_shot.mlpackage").output_names
    info = read_json(build / "manifest.json")["stages"]["multifunction"]["info"]
    assert info["image_models"]["saved_bytes"] > 0


def test_multifunction_needs_ios18(write_recipe):
    with pytest.raises(RecipeError) as e:
        load_recipe(write_recipe(recipe(target="17").replace("variant: int8", "variant: int4")))
    problems = {p.yaml_path: p.message for p in e.value.problems}
    assert "needs iOS 18" in problems["compress.multifunction[0]"]
    assert "no compression variant 'int4'" in problems["compress.multifunction[1].variant"]
