"""Recipes: read a YAML file, check it completely, and hand out its parts.

``load_recipe`` is the only way in: YAML syntax, then the JSON Schema and the
semantic checks together (a check skips only sections the schema already found
broken); any problem raises one RecipeError listing all of them. Stages get the
typed, frozen :class:`Recipe` (:mod:`.typed`), parsed once after those checks.
"""

from __future__ import annotations

from pathlib import Path

from pipeline_runner.errors import RecipeError
from pipeline_runner.recipe.checks import semantic_problems
from pipeline_runner.recipe.custom_op import CustomOp
from pipeline_runner.recipe.schema import apply_defaults, check_schema
from pipeline_runner.recipe.typed import GraphSpec, InputSpec, OutputSpec, Recipe, from_data
from pipeline_runner.recipe.yaml_source import load_yaml

__all__ = ["Recipe", "GraphSpec", "InputSpec", "OutputSpec", "CustomOp", "load_recipe", "find_recipes"]


def load_recipe(path: str | Path) -> Recipe:
    path = Path(path)
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise RecipeError([doc.problem((), "a recipe must be a mapping of sections (name, model, ...)")])
    problems, broken = check_schema(doc)
    data = apply_defaults(doc.data)
    problems += semantic_problems(doc, data, broken)
    if problems:
        raise RecipeError(problems)
    return from_data(data, path, doc)


def find_recipes(paths: list[str | Path]) -> list[Path]:
    """Recipe files named directly, or every *.yaml/*.yml inside named directories."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        else:
            found.append(p)
    return found
