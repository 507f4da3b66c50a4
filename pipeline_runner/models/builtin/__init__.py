"""`source: builtin`: architectures that live in this project.

``CATALOG`` names each architecture's module and its keyword parameters with their
types, statically, so ``check`` can check ``model.architecture`` and ``model.params``
without importing torch; a test keeps it equal to the factories' signatures. Each
module lists ``ARCHITECTURES = {name: factory(**params) -> nn.Module}``, imported only
when a model is created.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass

from pipeline_runner.errors import FieldProblem, ModelSpecError
from pipeline_runner.models.source import ModelSource


@dataclass(frozen=True)
class Architecture:
    module: str
    params: dict  # keyword -> accepted Python type(s)


_NUMBER = (int, float)
CATALOG = {
    "vit": Architecture("pipeline_runner.models.builtin.vit", {
        "image_size": int, "patch_size": int, "in_channels": int, "num_classes": int, "dim": int,
        "depth": int, "heads": int, "mlp_ratio": _NUMBER}),
    "custom_transformer": Architecture("pipeline_runner.models.builtin.custom_transformer", {
        "vocab_size": int, "max_seq_len": int, "dim": int, "depth": int, "heads": int, "mlp_ratio": _NUMBER,
        "activation": str, "activation_args": (dict, type(None))}),
}


def architectures() -> dict:
    merged: dict = {}
    for module_name in sorted({a.module for a in CATALOG.values()}):
        for name, factory in importlib.import_module(module_name).ARCHITECTURES.items():
            if name in merged or CATALOG.get(name, Architecture("", {})).module != module_name:
                raise RuntimeError(f"builtin architecture {name!r} of {module_name} is not (once) in CATALOG")
            merged[name] = factory
    return merged


def check_params(architecture: str, params: dict) -> list[FieldProblem]:
    """Unknown architectures, unknown params and params of the wrong type, with suggestions."""
    if architecture not in CATALOG:
        close = difflib.get_close_matches(architecture, list(CATALOG), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"builtin architectures: {', '.join(CATALOG)}"
        return [FieldProblem(("architecture",), f"unknown builtin architecture {architecture!r}", hint)]
    accepted = CATALOG[architecture].params
    problems = []
    for key, value in params.items():
        if key not in accepted:
            close = difflib.get_close_matches(key, list(accepted), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"{architecture} takes: {', '.join(accepted)}"
            problems.append(FieldProblem(("params", key), f"{architecture} has no parameter {key!r}", hint))
        elif isinstance(value, bool) or not isinstance(value, accepted[key]):
            types = accepted[key] if isinstance(accepted[key], tuple) else (accepted[key],)
            want = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            problems.append(FieldProblem(("params", key), f"expected {want}, got {value!r}"))
        elif isinstance(value, (int, float)) and value <= 0:
            problems.append(FieldProblem(("params", key), f"expected a positive number, got {value}"))
    return problems


def _create(architecture: str, params: dict):
    problems = check_params(architecture, params)
    if problems:
        raise ModelSpecError(problems)
    return architectures()[architecture](**params)


SOURCES = {"builtin": ModelSource(name="builtin", create=_create, check=check_params,
                                  describe="architectures defined in this project")}
