"""The shipped MobileCLIP recipes agree with open_clip's configs; the full-size build (slow) passes validation."""

from __future__ import annotations

import json

import pytest

from pipeline_runner.recipe import load_recipe
from tests.conftest import REPO

RECIPES = sorted((REPO / "pipelines").glob("mobileclip*.yaml"))


def test_there_are_two_variants():
    assert {p.name for p in RECIPES} >= {"mobileclip.yaml", "mobileclip_s2.yaml"}


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_matches_open_clip_config(path):
    import open_clip

    recipe = load_recipe(path)
    arch = recipe.model.architecture
    cfg = open_clip.get_model_config(arch)
    tag = open_clip.list_pretrained_tags_by_model(arch)[0]
    preprocess = open_clip.get_pretrained_cfg(arch, tag)  # what the released weights were trained with
    graphs = {g.name: g for g in recipe.graphs}
    assert {g.entry for g in graphs.values()} == {"image_encoder", "text_encoder", "zero_shot_classifier"}
    for graph in graphs.values():
        for spec in graph.inputs:
            if spec.image is not None:
                size = cfg["vision_cfg"]["image_size"]
                assert spec.shape == (1, 3, size, size)
                assert list(spec.image.mean) == pytest.approx(list(preprocess["mean"]))
                assert list(spec.image.std) == pytest.approx(list(preprocess["std"]))
                assert spec.image.resize == "center_crop" and preprocess["resize_mode"] == "shortest"
            else:
                assert spec.shape == (1, cfg["text_cfg"]["context_length"]) and spec.dtype == "int32"
    zero_shot = next(g for g in graphs.values() if g.entry == "zero_shot_classifier")
    assert 8 <= len(zero_shot.entry_labels) <= 12 and 2 <= len(zero_shot.entry_args["templates"]) <= 3
    assert zero_shot.classifier.output == zero_shot.outputs[0].name
    assert recipe.convert.format == "mlprogram" and recipe.ios.deployment_target == "17"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_full_size_mobileclip_builds_and_validates(tmp_path):
    import time

    from pipeline_runner.engine.runner import run_recipe

    started = time.perf_counter()
    report = run_recipe(load_recipe(REPO / "pipelines" / "mobileclip.yaml"), tmp_path, log=print)
    seconds = time.perf_counter() - started
    assert report.ok, report.error
    summary = json.loads((report.build_dir / "validation.json").read_text())
    assert summary["passed"] is True
    top1 = summary["graphs"]["zero_shot"]["checks"]["coreml_numerics"]["outputs"]["probabilities"]["top1_agreement"]
    assert top1 == 1.0
    labels = json.loads((report.build_dir / "app" / "label_embeddings.json").read_text())
    assert len(labels["labels"]) == 10 and len(labels["embeddings"][0]) == 512
    print(f"full-size MobileCLIP2-S0 build: {seconds:.0f} s")
