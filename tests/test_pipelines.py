"""Every shipped recipe loads, passes the schema and the semantic checks, and names the schema."""

from __future__ import annotations

import pytest

from pipeline_runner.recipe import load_recipe
from tests.conftest import REPO

RECIPES = sorted((REPO / "pipelines").glob("*.yaml"))


def test_there_are_recipes():
    assert any(p.name == "vit.yaml" for p in RECIPES)


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_is_valid(path):
    recipe = load_recipe(path)
    assert recipe.graphs
    first = path.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/recipe.schema.json"
