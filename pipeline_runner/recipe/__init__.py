"""Recipes: read a YAML file, check it completely, and hand out its parts.

``load_recipe`` is the only way in: YAML syntax, then the JSON Schema and the
semantic checks together (a check skips only sections the schema already found
broken); any problem raises one RecipeError listing all of them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pipeline_runner.errors import ModelSpecError, RecipeError
from pipeline_runner.recipe.checks import function_text, resolve_relative, semantic_problems
from pipeline_runner.recipe.schema import apply_defaults, check_schema
from pipeline_runner.recipe.yaml_source import YamlDocument, load_yaml

__all__ = ["Recipe", "load_recipe", "find_recipes", "function_text"]


@dataclass(frozen=True)
class Recipe:
    path: Path
    data: dict  # defaults applied
    doc: YamlDocument

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def graphs(self) -> list[dict]:
        """The exported graphs; a recipe with top-level inputs/outputs has one, named after the recipe."""
        if "graphs" in self.data:
            return self.data["graphs"]
        return [{
            "name": self.name.replace("-", "_").replace(".", "_"),
            "entry": "forward",
            "entry_args": {},
            "inputs": self.data["inputs"],
            "outputs": self.data["outputs"],
        }]

    def graph(self, name: str) -> dict:
        return next(g for g in self.graphs if g["name"] == name)

    def section(self, dotted: str):
        """The value at a dotted path (``convert.precision``), or None. ``graphs[].inputs``: that
        field of every item of a list."""
        if "[]." in dotted:
            head, tail = dotted.split("[].", 1)
            items = self.section(head)
            return None if items is None else [_dig(item, tail) for item in items]
        return _dig(self.data, dotted)

    def checkpoint_path(self) -> Path | None:
        ckpt = self.data["model"].get("checkpoint")
        return resolve_relative(self.doc, ckpt) if ckpt else None

    def model_error(self, exc: ModelSpecError) -> RecipeError:
        """A model source's complaint about ``model.*`` fields, located in this recipe's file."""
        return RecipeError([self.doc.problem(("model", *p.field), p.message, p.hint) for p in exc.problems])

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _dig(value, dotted: str):
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


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
    return Recipe(path=path, data=data, doc=doc)


def find_recipes(paths: list[str | Path]) -> list[Path]:
    """Recipe files named directly, or every *.yaml/*.yml inside named directories."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        else:
            found.append(p)
    return found
