"""Check a recipe against schemas/recipe.schema.json and fill in the schema's defaults.

jsonschema does the checking; this module turns its errors into located,
actionable problems (all of them at once) and applies the ``default`` values the
schema declares, so defaults live in one place: the schema.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
from functools import lru_cache
from importlib.resources import files

from pipeline_runner.errors import Problem
from pipeline_runner.recipe.yaml_source import YamlDocument, has_control_characters

# Package data (a symlink to schemas/recipe.schema.json in the source tree), so a wheel
# installed anywhere finds it.
SCHEMA_RESOURCE = files("pipeline_runner.recipe").joinpath("recipe.schema.json")


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(SCHEMA_RESOURCE.read_text(encoding="utf-8"))


def _is_integer(checker, instance) -> bool:
    # JSON Schema counts 17.0 as an integer; the code the recipe feeds (torch.onnx's opset,
    # range(), shapes) does not, so a recipe must write integers as integers.
    return isinstance(instance, int) and not isinstance(instance, bool)


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = load_schema()
    base = jsonschema.validators.validator_for(schema)
    base.check_schema(schema)
    is_type = base.TYPE_CHECKER.is_type
    checker = (base.TYPE_CHECKER
               # A "number" is finite: YAML's .nan/.inf would slip past every minimum/maximum (NaN compares false).
               .redefine("number", lambda checker, v: is_type(v, "number") and math.isfinite(v))
               .redefine("integer", _is_integer))
    return jsonschema.validators.extend(base, type_checker=checker)(schema)


def check_schema(doc: YamlDocument) -> tuple[list[Problem], set[str]]:
    """(every schema violation, located and in file order; the top-level sections they make unusable)."""
    problems, broken = [], set()
    for error in _validator().iter_errors(doc.data):
        problems.extend(_explain(doc, error))
        path = list(error.absolute_path)
        if path:
            broken.add(str(path[0]))
        elif error.validator == "required" and isinstance(error.instance, dict):
            broken.update(k for k in error.validator_value if k not in error.instance)
    problems.sort(key=lambda p: (p.line or 0, p.column or 0, p.yaml_path))
    return problems, broken


def _explain(doc: YamlDocument, error) -> list[Problem]:
    path = tuple(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        out = []
        for key in error.instance:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(allowed)}"
            out.append(doc.problem((*path, key), f"unknown key {key!r}", hint, key=True))
        if out:
            return out
    if validator == "required":
        return [doc.problem(path, error.message, "add it (see schemas/recipe.schema.json)")]
    if validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        close = difflib.get_close_matches(str(error.instance), [str(v) for v in error.validator_value], n=1)
        hint = f"did you mean {close[0]!r}?" if close else None
        return [doc.problem(path, f"{error.instance!r} is not allowed; expected one of {allowed}", hint)]
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        got = _json_type(error.instance)
        if isinstance(error.instance, float) and not math.isfinite(error.instance):
            return [doc.problem(path, f"expected a finite {expected}, got {error.instance!r}", "write a finite number")]
        return [doc.problem(path, f"expected {expected}, got {got} {error.instance!r}")]
    if validator == "pattern" and isinstance(error.instance, str):
        if has_control_characters(error.instance):
            return [doc.problem(path, f"{error.instance!r} contains a control character (e.g. a line break)",
                                "names are a single line of letters, digits and _")]
        return [doc.problem(path, f"{error.instance!r} does not match {error.validator_value}")]
    if validator == "maxLength" and isinstance(error.instance, str):
        return [doc.problem(path, f"{len(error.instance)} characters is too long (at most {error.validator_value})",
                            "names become file, directory and Swift type names")]
    if validator in ("oneOf", "anyOf") and error.context:
        best = min(error.context, key=lambda e: len(e.absolute_path))
        return _explain(doc, best)
    return [doc.problem(path, error.message)]


def _json_type(value) -> str:
    for name, types in (("boolean", bool), ("integer", int), ("number", float), ("string", str),
                        ("array", list), ("object", dict)):
        if isinstance(value, types):
            return name
    return "null" if value is None else type(value).__name__


def apply_defaults(data: dict) -> dict:
    """A copy of valid recipe ``data`` with every schema default filled in.

    jsonschema checks but does not fill defaults, so we extend its validator's
    ``properties`` keyword (the pattern the jsonschema FAQ gives): while jsonschema
    walks the schema, as it does for validation (``$ref``, ``items``,
    ``additionalProperties``, ``if``/``then`` and the rest), each object gets the
    defaults of the properties it lacks before they are descended into.
    """
    return fill_defaults(data, _defaults_validator())


def fill_defaults(data, validator):
    """A copy of ``data`` with the defaults ``validator`` (from :func:`defaults_validator`) fills in."""
    filled = copy.deepcopy(data)
    for _ in validator.iter_errors(filled):
        pass  # the data was checked already; the walk is what fills the defaults
    return filled


@lru_cache(maxsize=1)
def _defaults_validator():
    return defaults_validator(load_schema())


def defaults_validator(schema: dict):
    """A jsonschema validator for ``schema`` whose ``properties`` keyword also sets missing defaults."""
    import jsonschema

    base = jsonschema.validators.validator_for(schema)
    check_properties = base.VALIDATORS["properties"]

    def properties_with_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if name not in instance and "default" in sub:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(base, {"properties": properties_with_defaults})(schema)
